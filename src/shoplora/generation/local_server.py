"""Start and stop the local model server (serve.py) on a free loopback port (the `local` provider).

The server answers only the job that started it: every request must carry the per-run bearer
token it was given (any local user could otherwise use its prompts and compute on a shared
login node), and its answers carry an identity derived from the token, so readiness is not
mistaken when another process took the port between free_port() and the server's bind.
"""

import contextlib
import hashlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from typing import NamedTuple

import httpx
import yaml

from shoplora.io.process import die_with_parent

TOKEN_ENV = "SHOPLORA_SERVER_TOKEN"
IDENTITY_HEADER = "x-shoplora-server"


class Endpoint(NamedTuple):
    """Where a provider answers, and the bearer token it needs (None: the provider's own key)."""

    url: str
    token: str | None = None

    @property
    def headers(self):
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


def server_identity(token):
    """What the server started with `token` says it is; it does not reveal the token."""
    return hashlib.sha256(f"shoplora-server:{token}".encode()).hexdigest()[:16]


def free_port(host="127.0.0.1"):
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_until_ready(base_url, proc, timeout_s, token=None):
    """Return once the server started as `proc` answers; with `token`, only an answer carrying
    that server's identity counts (another process may have taken the port)."""
    deadline = time.monotonic() + timeout_s
    endpoint = Endpoint(base_url, token)
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"the local model server exited with code {proc.returncode} before it was ready; see the rule's log"
            )
        try:
            answer = httpx.get(f"{base_url}/models", headers=endpoint.headers, timeout=2)
        except httpx.TransportError:
            answer = None
        if answer is not None and answer.status_code == 200:
            if token is None or answer.headers.get(IDENTITY_HEADER) == server_identity(token):
                return
            raise RuntimeError(f"another process answers on {base_url}, not the local model server this job started")
        time.sleep(1)
    raise TimeoutError(f"the local model server did not answer on {base_url} within {timeout_s} s")


SERVER_COMMAND = (sys.executable, "-m", "shoplora.generation.serve")


@contextlib.contextmanager
def local_model_server(
    model_dir, template, workdir, log=sys.stderr, startup_timeout_s=600, extra=None, command=SERVER_COMMAND
):
    """Serve `model_dir` on an OpenAI-compatible API (serve.py); yield its Endpoint (base URL
    and the run's bearer token).

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
    token = secrets.token_urlsafe(32)
    # Through the environment, which other users cannot read (/proc/PID/environ is the owner's).
    env = {**os.environ, "API_HOST": "127.0.0.1", "API_PORT": str(port), TOKEN_ENV: token}
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
        wait_until_ready(base_url, proc, startup_timeout_s, token)
        yield Endpoint(base_url, token)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
