"""The local stack as `make dev` runs it, in its own process, on free loopback ports."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Http:
    def __init__(self, base: str):
        self.base = base

    def request(self, method, path, body=None, token=None, headers=None, raw=None):
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def json(self, method, path, **kwargs):
        status, data = self.request(method, path, **kwargs)
        return status, json.loads(data) if data else None

    def token(self, email, password="Demo1234"):
        status, body = self.json("POST", "/local/token", body={"email": email, "password": password})
        assert status == 200, body
        return body["id_token"]


def _start_stack(tmp_path_factory, port, aws_port, smtp_port):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "TABLE_NAME"}
    # Output goes to a file, not a pipe: a pipe nobody drains would block the stack once full.
    log_path = tmp_path_factory.mktemp("devstack") / "devstack.log"
    log = open(log_path, "w")  # noqa: SIM115 (closed at teardown)
    process = subprocess.Popen(
        # Invoice alerts held 3 s instead of 120 (the hold and the drop are tested in test_alerts.py).
        [sys.executable, "-u", "-m", "devstack", "--port", str(port), "--aws-port", str(aws_port),
         "--smtp-port", str(smtp_port), "--param", "InvoiceAlertHoldSeconds=3"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and process.poll() is None:
        if "Ctrl-C to stop" in log_path.read_text():
            break
        time.sleep(0.2)
    return process, log, log_path


def wait_for(read, done, seconds=30):
    """``read()`` again until ``done`` holds of what it gave (or the time is up): the stack works asynchronously."""
    deadline = time.monotonic() + seconds
    value = read()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(0.2)
        value = read()
    return value


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory):
    yield from _running_stack(tmp_path_factory)


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory):
    """A stack of the module's own, for tests that move its clock (the shared one keeps real time) or change the
    demo data the shared one's tests read."""
    yield from _running_stack(tmp_path_factory)


def _running_stack(tmp_path_factory):
    # A port _free_port saw free can be taken before the stack binds it (the other worker's stack binds its
    # loopback fakes on ports the kernel picks): a stack that could not bind starts again on other ports.
    for attempt in range(3):
        port, aws_port, smtp_port = _free_port(), _free_port(), _free_port()
        process, log, log_path = _start_stack(tmp_path_factory, port, aws_port, smtp_port)
        banner = log_path.read_text()
        if process.poll() is None and "Ctrl-C to stop" in banner:
            break
        process.kill()  # when it did not start within the time; it has already ended when a bind failed
        process.wait()
        log.close()
        if "address already in use" not in banner or attempt == 2:
            raise AssertionError(banner)
    http = Http(f"http://127.0.0.1:{port}")
    http.banner = banner
    http.log_path = log_path
    http.aws_endpoint = f"http://127.0.0.1:{aws_port}"
    http.smtp_port = smtp_port
    yield http
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
