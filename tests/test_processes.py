"""tests/processes.py, which tests use to run the site's servers and workers as processes."""

import os
import sys
import textwrap

import pytest

from .processes import ProcessNotReady, StartedProcess, free_port, session_members

pytestmark = [
    pytest.mark.database_independent,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="processes are found in /proc"),
]

# A server that first forks a child into a process group of its own, as RQ's work horse is.
SERVER = textwrap.dedent(
    """
    import http.server, os, sys, time

    child = os.fork()
    if child == 0:
        os.setpgrp()
        time.sleep(600)
        os._exit(0)
    print("child", child, flush=True)
    address = ("127.0.0.1", int(sys.argv[1]))
    http.server.HTTPServer(address, http.server.BaseHTTPRequestHandler).serve_forever()
    """
)


def test_a_server_is_awaited_then_stopped_with_a_child_that_left_its_group(tmp_path):
    script = tmp_path / "serve.py"
    script.write_text(SERVER)
    port = free_port()
    command = [sys.executable, str(script), str(port)]
    log = tmp_path / "server.log"
    with StartedProcess("server", command, env=os.environ, cwd=tmp_path, log_path=log) as server:
        server.wait_for_http("127.0.0.1", port, timeout=20)
        server.wait_for_log("child ")
        child = int(server.log().split("child ")[1].split()[0])
        assert sorted(session_members(server.pid)) == sorted([server.pid, child])

    assert server.process.returncode is not None
    assert session_members(server.pid) == []


def test_a_process_that_exits_before_it_is_ready_is_reported_with_its_log(tmp_path):
    command = [sys.executable, "-c", "print('SITE_URL is not set'); raise SystemExit(3)"]
    log = tmp_path / "broken.log"
    broken = StartedProcess("web 1", command, env=os.environ, cwd=tmp_path, log_path=log)
    with broken, pytest.raises(ProcessNotReady, match=r"web 1 exited with status 3(?s:.*)SITE_URL"):
        broken.wait_for_http("127.0.0.1", free_port(), timeout=20)
