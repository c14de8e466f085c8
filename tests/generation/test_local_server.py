import socket
import subprocess
import sys

import pytest

from shoplora.generation.local_server import free_port, wait_until_ready


def test_free_port_is_bindable_on_loopback():
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))  # raises when the port is taken
        assert sock.getsockname() == ("127.0.0.1", port) and port > 0


def test_server_that_dies_before_ready_is_reported():
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    proc.wait()
    with pytest.raises(RuntimeError, match="exited with code 3 before it was ready"):
        wait_until_ready(f"http://127.0.0.1:{free_port()}/v1", proc, timeout_s=5)


def test_server_that_never_answers_times_out():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with pytest.raises(TimeoutError, match="did not answer"):
            wait_until_ready(f"http://127.0.0.1:{free_port()}/v1", proc, timeout_s=2)
    finally:
        proc.kill()


def test_readiness_is_not_fooled_by_another_program_on_the_port():
    """free_port() releases the port before the server binds it: any HTTP 200 on /v1/models
    used to count as ready, even from another program that took the port."""
    import os

    from conftest import REPO

    port = free_port()
    foreign = subprocess.Popen(
        [sys.executable, str(REPO / "tests/helpers/models_endpoint.py"), "--foreign"],
        env={**os.environ, "API_PORT": str(port)},
    )
    ours = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        url = f"http://127.0.0.1:{port}/v1"
        with pytest.raises(RuntimeError, match="another process answers on .*, not the local model server"):
            wait_until_ready(url, ours, timeout_s=20, token="this-runs-token")
        wait_until_ready(url, ours, timeout_s=20)  # without a token any answer counts, as before
    finally:
        foreign.kill()
        ours.kill()


def test_the_server_dies_with_a_sigkilled_job(tmp_path):
    """A SIGKILLed generate job used to leave its local model server running (1.5 GB,
    port open). A stand-in server started the same way must be gone within seconds."""
    import signal
    import time

    import httpx

    from conftest import REPO

    job = subprocess.Popen(
        [sys.executable, str(REPO / "tests/helpers/serve_until_killed.py"), str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    url, token = job.stdout.readline().split()
    assert httpx.get(f"{url}/models", headers={"Authorization": f"Bearer {token}"}, timeout=5).status_code == 200
    job.send_signal(signal.SIGKILL)
    job.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/models", timeout=1)
        except httpx.TransportError:
            return  # the port is closed: the server died with its job
        time.sleep(0.2)
    pytest.fail(f"the local server on {url} outlived its SIGKILLed job")
