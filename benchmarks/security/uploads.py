"""The two upload forms (the people import and a run's solution): real files to send, made
on the site first, and each form as sqlmap's target with its markers inside the file."""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.load import CSRF_RE, Client, User
from benchmarks.security.scope import CSRF_FIELD
from benchmarks.security.targets import Target, send_with_cookies

# The file field of each upload form: the file name a person would give, and its type.
UPLOAD_FILES = {
    "people": ("people.csv", "text/csv"),
    "solution": ("solution.json", "application/json"),
}
INJECTION_MARK = "*"  # sqlmap's custom injection marker
RUN_SECONDS = 5  # the shortest run the run form takes
RUN_WAIT_SECONDS = 240  # on 2 busy cores a 5 s run of the demo round takes well under this


@dataclass
class Uploads:
    """A valid file for each upload form the person may use, and the form's page and action."""

    files: dict = field(default_factory=dict)  # file field -> path of a valid file
    forms: dict = field(default_factory=dict)  # file field -> (page with the form, action)
    notes: list = field(default_factory=list)


def prepare_uploads(port: int, user: User, workdir: Path) -> Uploads:
    """Real files for the admin's upload forms: the people's own export, and the solution of
    a round run made here (the demo round has none, and the solution upload is on a run's
    review page). For anyone else, nothing: both forms are the admin's."""
    uploads = Uploads()
    client = Client(port, user)
    try:
        status, _ = client.request("GET", "/admin/import")
        if status != 200:
            return uploads
        status, people = client.request("GET", "/admin/export.csv")
        if status == 200 and people.count("\n") >= 2:
            uploads.files["people"] = write_sample(workdir, "people", people)
            uploads.forms["people"] = ("/admin/import", "/admin/import")
        else:
            uploads.notes.append(f"GET /admin/export.csv gave {status} and no people to import")
        run = run_a_round(client)
        if isinstance(run, str):
            uploads.notes.append(run)
            return uploads
        month, run_id = run
        review = f"/admin/rounds/{month}/runs/{run_id}"
        status, solution = client.request("GET", f"{review}/solution.json")
        if status != 200:
            uploads.notes.append(f"GET {review}/solution.json gave {status}")
            return uploads
        uploads.files["solution"] = write_sample(workdir, "solution", solution)
        uploads.forms["solution"] = (review, f"{review}/upload")
        uploads.notes.append(f"made run {run_id} of the {month} round for its solution upload")
    finally:
        client.close()
    return uploads


def write_sample(workdir: Path, field_name: str, text: str) -> Path:
    """The file as the site gave it, without sqlmap's marker, for wapiti to upload."""
    path = workdir / f"upload-{UPLOAD_FILES[field_name][0]}"
    path.write_text(text.replace(INJECTION_MARK, ""))
    return path


def run_a_round(client: Client) -> tuple[str, int] | str:
    """Run the first open round through its form and wait: (month, run id), or what failed."""
    status, page = client.request("GET", "/admin/rounds")
    months = sorted(set(re.findall(r'href="/admin/rounds/(\d{4}-\d{2})"', page)))
    for month in months:
        status, page = client.request("GET", f"/admin/rounds/{month}")
        token, kind = CSRF_RE.search(page), re.search(r'name="kind" value="(\w+)"', page)
        if status != 200 or token is None or kind is None or kind.group(1) != "full":
            continue
        status, _ = client.request(
            "POST",
            f"/admin/rounds/{month}/runs",
            {
                CSRF_FIELD: html.unescape(token.group(1)),
                "kind": "full",
                "time_limit": str(RUN_SECONDS),
            },
        )
        if status != 302:
            return f"POST /admin/rounds/{month}/runs gave {status}: no run to upload a solution to"
        deadline = time.monotonic() + RUN_WAIT_SECONDS
        while time.monotonic() < deadline:
            time.sleep(1)
            status, page = client.request("GET", f"/admin/rounds/{month}")
            done = re.search(rf'href="/admin/rounds/{month}/runs/(\d+)"', page)
            if done and "data-progress-url" not in page:
                return month, int(done.group(1))
        return f"the run of the {month} round did not finish within {RUN_WAIT_SECONDS} s"
    return "no open round to run, so no solution upload form"


def marked_upload(field_name: str, text: str) -> str:
    """The file with sqlmap's marker after each value that could reach a query."""
    if field_name == "people":
        header, first = list(csv.reader(io.StringIO(text)))[:2]
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(
            [header, [cell + INJECTION_MARK for cell in first]]
        )
        return out.getvalue()
    solution = json.loads(text)
    solution["round"] += INJECTION_MARK
    if solution.get("pairings"):
        pairing = solution["pairings"][0]
        for key in ("apprentice", "master"):
            pairing[key] += INJECTION_MARK
        pairing["skills"][0] += INJECTION_MARK
        pairing["sessions"][0]["mode"] += INJECTION_MARK
    return json.dumps(solution)


def multipart(
    fields: list[tuple[str, str]], files: list[tuple[str, str, str, str]]
) -> tuple[str, str]:
    """A multipart/form-data body (CRLF, as browsers send it) and its Content-Type."""
    boundary = "----mentor-match-scan-" + os.urandom(8).hex()
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields
    ]
    parts += [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
        f'filename="{filename}"\r\nContent-Type: {kind}\r\n\r\n{content}\r\n'
        for name, filename, kind, content in files
    ]
    return "".join(parts) + f"--{boundary}--\r\n", f"multipart/form-data; boundary={boundary}"


def upload_targets(port: int, user: User, uploads: Uploads) -> list[Target]:
    """Each upload form as its page sends it, sqlmap's markers inside the file it uploads."""
    client = Client(port, user)
    targets = []
    try:
        for field_name, (page_path, action) in uploads.forms.items():
            status, page = client.request("GET", page_path)
            token = CSRF_RE.search(page)
            if status != 200 or token is None:
                uploads.notes.append(f"GET {page_path}: {status}, no form to upload with")
                continue
            filename, kind = UPLOAD_FILES[field_name]
            content = marked_upload(field_name, uploads.files[field_name].read_text())
            body, content_type = multipart(
                [(CSRF_FIELD, html.unescape(token.group(1)))],
                [(field_name, filename, kind, content)],
            )
            targets.append(Target("POST", action, body, content_type, source="upload"))
    finally:
        client.close()
    send_with_cookies(targets, user.cookies)
    return targets
