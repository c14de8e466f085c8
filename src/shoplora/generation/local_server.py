"""Start and stop the local model server (serve.py) on a free loopback port (the `local` provider)."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import yaml

from shoplora.io.process import die_with_parent


def free_port(host="127.0.0.1"):
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_until_ready(base_url, proc, timeout_s):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"the local model server exited with code {proc.returncode} before it was ready; see the rule's log"
            )
        try:
            if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(1)
    raise TimeoutError(f"the local model server did not answer on {base_url} within {timeout_s} s")


SERVER_COMMAND = (sys.executable, "-m", "shoplora.generation.serve")


@contextlib.contextmanager
def local_model_server(
    model_dir, template, workdir, log=sys.stderr, startup_timeout_s=600, extra=None, command=SERVER_COMMAND
):
    """Serve `model_dir` on an OpenAI-compatible API (serve.py); yield its base URL.

    The server runs in its own process group (stopped as a whole) and dies with this process.
    """
    port = free_port()
    config = {
        "model_name_or_path": str(model_dir),
        "template": template,
        **(extra or {}),
    }
    os.makedirs(workdir, exist_ok=True)
    cfg_path = os.path.join(workdir, "server.yaml")
    with open(cfg_path, "w") as fh:
        yaml.safe_dump(config, fh)
    env = {**os.environ, "API_HOST": "127.0.0.1", "API_PORT": str(port)}
    proc = subprocess.Popen(
        [*command, cfg_path],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=die_with_parent(signal.SIGTERM),  # no 1.5 GB server outlives its job
    )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_until_ready(base_url, proc, startup_timeout_s)
        yield base_url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
