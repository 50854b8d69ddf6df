"""The gunicorn that the HTTP benchmarks measure: a free port, start (waits for /healthz), stop.

Imported by the bench scripts, which run as `python bench/<name>.py` (so this folder is on
sys.path).
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(*, port: int, workers: int, threads: int) -> subprocess.Popen:
    """gthread workers on 127.0.0.1:`port`, in their own process group (see `stop`)."""
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
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
    server = subprocess.Popen(command, cwd=ROOT, start_new_session=True)
    # Workers import the whole project (scikit-learn, crowd-kit): slow on a busy machine.
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/healthz")
            if conn.getresponse().status < 500:
                return server
        except OSError:
            time.sleep(0.2)
    stop(server)
    raise SystemExit("gunicorn did not start")


def stop(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
