import socket
import subprocess
import sys

import pytest

from shoplora.generation.local_server import free_port, wait_until_ready


def test_free_port_is_bindable_on_loopback():
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


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
