"""The processes that the HTTP benchmarks and the live tests drive: gunicorn as the README runs
it (--preload, gthread), django-q2 clusters, each in its own process group; a free port.

Imported by the bench scripts, which run as `python bench/<name>.py` (so this folder is on
sys.path), and by tests/live (which puts it there). Binaries come from the running
interpreter's virtualenv, so a worktree without its own .venv runs the shared one.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Unless the caller's environment says otherwise: plain HTTP on 127.0.0.1 (with DEBUG=false the
# server would redirect to HTTPS), and API throttles that still count every request (their
# cost is measured) but never refuse: a benchmark drives one account far harder than a person.
SERVER_DEFAULTS = {
    "SECURE_SSL_REDIRECT": "false",
    "API_THROTTLE_WORKER": "100000000/min",
    "API_THROTTLE_REQUESTER": "100000000/min",
    "API_THROTTLE_ANON": "100000000/min",
    "MTURK_RATE_PER_REQUESTER": "100000000/min",
}


def start_gunicorn(
    *,
    port: int,
    workers: int,
    threads: int,
    env: dict[str, str] | None = None,
    quiet: bool = False,
) -> subprocess.Popen:
    """gthread workers on 127.0.0.1:`port`, in their own process group (see `stop`).
    `env` replaces the environment (default: this process's)."""
    command = [
        str(BIN / "gunicorn"),
        "hitlcrowd.wsgi:application",
        f"--bind=127.0.0.1:{port}",
        f"--workers={workers}",
        f"--threads={threads}",
        "--worker-class=gthread",
        # Workers fork from a master that imported the project (hitlcrowd/wsgi.py loads the
        # URLconf): without it each worker spends ~4 s of CPU importing during the first phase.
        "--preload",
        "--keep-alive=30",
        "--log-level=warning",
    ]
    env = {**SERVER_DEFAULTS, **(os.environ if env is None else env)}
    output = subprocess.DEVNULL if quiet else None
    server = subprocess.Popen(
        command, cwd=ROOT, env=env, start_new_session=True, stdout=output, stderr=output
    )
    # Workers import the whole project (scikit-learn, crowd-kit): slow on a busy machine.
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and server.poll() is None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/healthz")
            if conn.getresponse().status < 500:
                return server
        except OSError:
            time.sleep(0.2)
    stop(server)
    raise RuntimeError("gunicorn did not start")


def start_qcluster(env: dict[str, str] | None = None, quiet: bool = True) -> subprocess.Popen:
    """`manage.py qcluster` in its own process group (see `stop` and `kill`)."""
    output = subprocess.DEVNULL if quiet else None
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=output,
        stderr=output,
    )


def stop(server: subprocess.Popen) -> None:
    """SIGTERM to the process group, SIGKILL if it has not exited within 15 s."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        kill(server)


def kill(server: subprocess.Popen) -> None:
    """SIGKILL to the whole process group (a qcluster's workers die with it), no clean-up."""
    try:
        os.killpg(server.pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    server.wait(timeout=15)
