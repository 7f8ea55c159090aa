// The booking page on a phone: each day's times start folded, so the days fit on a few
// screens and a person opens the one they want. Without this script every day is open.
document.addEventListener("DOMContentLoaded", () => {
  if (!window.matchMedia("(max-width: 40rem)").matches) return;
  for (const day of document.querySelectorAll("details[data-phone-closed]")) {
    day.open = false;
  }
});
