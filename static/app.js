// Small progressive enhancements; every page works without them.
document.addEventListener("DOMContentLoaded", () => {
  // Pre-select the browser's time zone on sign-up when the field is still at its default.
  // Browsers may report a legacy name (Chrome says Asia/Calcutta): each option lists the
  // legacy names it stands for in data-aliases, so the current name is the one chosen.
  for (const select of document.querySelectorAll("select[data-detect-timezone]")) {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    const option = [...select.options].find(
      (o) => o.value === zone || (o.dataset.aliases || "").split(" ").includes(zone),
    );
    if (select.value === "UTC" && zone && option) select.value = option.value;
  }
  // A table wider than the screen scrolls sideways in its .table-wrap: let a keyboard reach
  // it too, as a region named by its caption or its section's heading.
  const reachTables = () => {
    for (const wrap of document.querySelectorAll(".table-wrap:not([tabindex])")) {
      if (wrap.scrollWidth <= wrap.clientWidth) continue;
      const title = wrap.querySelector("caption") || wrap.closest("section")?.querySelector("h2, h3");
      wrap.tabIndex = 0;
      wrap.setAttribute("role", "region");
      wrap.setAttribute("aria-label", title ? title.textContent.trim() : "Table");
    }
  };
  reachTables();
  window.addEventListener("resize", reachTables);
  // Ask before destructive actions.
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
});

// A matching run's live progress: poll its state every second and reload when it ends.
// Between answers the elapsed time runs on from the last one, so it moves several times a
// second while the run goes on, however slowly a busy server answers.
document.addEventListener("DOMContentLoaded", () => {
  const panel = document.querySelector("[data-progress-url]");
  if (!panel) return;
  const bar = panel.querySelector("progress");
  const show = (name, value) => {
    const field = panel.querySelector(`[data-field="${name}"]`);
    if (field) field.textContent = value;
  };
  const hours = (value) => (value === null || value === undefined ? "—" : value.toFixed(1));
  // The last answer of a running run: its elapsed seconds, when it came, the time limit.
  let clock = null;
  let shown = 0;
  const showElapsed = (seconds) => {
    shown = Math.max(shown, seconds);
    bar.value = shown;
    show("elapsed", shown.toFixed(1));
  };
  const tick = () => {
    if (clock) showElapsed(Math.min(clock.elapsed + (performance.now() - clock.at) / 1000, clock.limit));
  };
  window.setInterval(tick, 200);
  const poll = async () => {
    const asked = performance.now();
    try {
      const response = await fetch(panel.dataset.progressUrl, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(`status ${response.status}`);
      const run = await response.json();
      const running = run.status === "running";
      clock = running ? { elapsed: run.elapsed, at: performance.now(), limit: run.time_limit } : null;
      showElapsed(Math.min(run.elapsed, run.time_limit));
      show("status", run.status);
      show("best_hours", hours(run.best_hours));
      show("bound", hours(run.bound));
      show("phase", run.phase || (run.status === "queued" ? "waiting for a worker" : ""));
      if (run.done) {
        window.location.assign(run.status === "succeeded" ? run.review_url : window.location.href);
        return;
      }
    } catch (error) {
      clock = null; // the run's clock is not known to be going on
      show("phase", "lost contact with the server; retrying");
    }
    // A second from one question to the next, not from the last answer.
    window.setTimeout(poll, Math.max(0, 1000 - (performance.now() - asked)));
  };
  poll();
});
