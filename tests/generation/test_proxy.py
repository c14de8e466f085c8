"""Generation through a site's forward proxy, as compute and login nodes reach hosted APIs.

A real proxy on 127.0.0.1 (tests/helpers/forward_proxy.py) forwards plain HTTP requests and
tunnels HTTPS with CONNECT to a fake provider serving a self-signed certificate.
"""

import shutil
import subprocess
import time

import pytest

from shoplora.config.schema import section_defaults
from shoplora.generation.client import read_cache, run_requests
from shoplora.generation.prompts import build_requests

from helpers.fake_openai import FakeOpenAI
from helpers.forward_proxy import ForwardProxy

SEEDS = [
    {"id": f"s{i}", "task_type": "generation", "input_field": f"Describe item {i}.", "output_field": f"Item {i}."}
    for i in range(4)
]
PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def proxy():
    started = ForwardProxy().start()
    yield started
    started.stop()


@pytest.fixture
def server():
    servers = []

    def start(**kw):
        servers.append(FakeOpenAI(**kw).start())
        return servers[-1]

    yield start
    for srv in servers:
        srv.shutdown()


def generate(tmp_path, base_url, **kw):
    settings = {
        "name": "p",
        "kind": "openai",
        "model": "m",
        "base_url": base_url,
        "num_requests": 3,
        "seed_examples_per_prompt": 2,
        "tasks_per_request": 2,
        "max_concurrency": 2,
        "task_mix": {"generation": 1},  # the seeds here are generation tasks
        "max_retries": 0,
        "timeouts": {"connect": 5, "read": 10, "total": 20},
    }
    provider = section_defaults("generation", "providers", "*", **{**settings, **kw})
    requests = build_requests(provider, SEEDS, {"generation": "{examples} {k} {n}"})
    stats = run_requests(provider, requests, tmp_path / "cache.jsonl")
    assert stats["success"] == 3, stats
    return {r["id"] for r in read_cache(tmp_path / "cache.jsonl")}


def test_provider_proxy_key_sends_requests_through_the_proxy(tmp_path, server, proxy):
    srv = server()
    generate(tmp_path, srv.base_url, proxy=proxy.url)
    assert proxy.seen == [f"POST {srv.base_url}/chat/completions"] * 3
    assert len(srv.received) == 3


def test_environment_proxy_is_used_and_no_proxy_bypasses_it(tmp_path, server, proxy, monkeypatch):
    srv = server()
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    generate(tmp_path / "a", srv.base_url)
    assert proxy.seen == [f"POST {srv.base_url}/chat/completions"] * 3
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    generate(tmp_path / "b", srv.base_url)
    assert len(proxy.seen) == 3 and len(srv.received) == 6


def test_local_provider_never_goes_through_a_site_proxy(tmp_path, server, proxy, monkeypatch):
    srv = server()
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("ALL_PROXY", proxy.url)
    generate(tmp_path, srv.base_url, kind="local")
    assert proxy.seen == [] and len(srv.received) == 3


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_https_through_a_connect_tunnel_with_the_sites_certificate(tmp_path, server, proxy, monkeypatch):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    srv = server(tls=(cert, key))
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    # A self-signed certificate is refused. (httpcore 1.0.9 then keeps the failed tunnel in its
    # pool, encode/httpcore#1023, so later requests wait for a connection: with no `total`, the
    # read timeout ends that wait, as silence.)
    started = time.monotonic()
    with pytest.raises(AssertionError, match="'success': 0"):
        generate(tmp_path / "untrusted", srv.base_url, timeouts={"connect": 2, "read": 2, "total": None})
    assert time.monotonic() - started < 60
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trusted once the site's CA is named, as on a cluster
    generate(tmp_path / "trusted", srv.base_url)
    port = srv.server_address[1]
    assert set(proxy.seen) == {f"CONNECT localhost:{port}"} and len(srv.received) == 3
