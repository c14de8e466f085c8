"""StackTransport against real HTTP servers on 127.0.0.1: connection limit and reuse,
connections the server closed, chunked and gzip bodies read the way httpx's own transport
reads them, and failures raised as httpx errors."""

import asyncio
import gzip
import shutil
import socket
import ssl
import subprocess

import httpx
import pytest

from shoplora.generation.transport import StackTransport


async def serve(answer, close_after_response=False):
    """A keep-alive HTTP/1.1 server: reads each request, then writes the bytes `await answer()`
    returns (and closes when `close_after_response`); records each connection's peer port."""
    ports = []

    async def handle(reader, writer):
        ports.append(writer.get_extra_info("peername")[1])
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                await reader.readexactly(length)
                writer.write(await answer())
                await writer.drain()
                if close_after_response:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", ports


async def start_server(close_after_response=False, delay=0.05):
    """Answers {"ok": true} after `delay`; records the peer ports and the peak of requests in work."""
    seen = {"busy": 0, "peak": 0}

    async def answer():
        seen["busy"] += 1
        seen["peak"] = max(seen["peak"], seen["busy"])
        await asyncio.sleep(delay)
        seen["busy"] -= 1
        body = b'{"ok": true}'
        return (
            b"HTTP/1.1 200 OK\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n"
            + (b"Connection: close\r\n" if close_after_response else b"")
            + b"\r\n"
            + body
        )

    server, url, seen["ports"] = await serve(answer, close_after_response)
    return server, url, seen


def test_connections_are_limited_and_reused():
    async def main():
        server, url, seen = await start_server()
        async with server, httpx.AsyncClient(base_url=url, transport=StackTransport(3)) as client:
            responses = await asyncio.gather(*(client.post("/x", content=b"{}") for _ in range(12)))
        return responses, seen

    responses, seen = asyncio.run(main())
    assert [r.json() for r in responses] == [{"ok": True}] * 12
    assert seen["peak"] == 3 and len(seen["ports"]) == 3  # 12 requests over 3 kept-alive connections


def test_a_connection_the_server_closed_is_replaced():
    async def main():
        server, url, seen = await start_server(close_after_response=True, delay=0)
        async with server, httpx.AsyncClient(base_url=url, transport=StackTransport(1)) as client:
            statuses = [(await client.get("/")).status_code for _ in range(3)]
        return statuses, seen

    statuses, seen = asyncio.run(main())
    assert statuses == [200, 200, 200] and len(seen["ports"]) == 3


def test_errors_are_httpx_errors():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def refused():
        async with httpx.AsyncClient(transport=StackTransport(1)) as client:
            await client.get(f"http://127.0.0.1:{port}/")

    with pytest.raises(httpx.ConnectError):
        asyncio.run(refused())

    async def slow():
        server, url, _ = await start_server(delay=2)
        async with (
            server,
            httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(5, read=0.2), transport=StackTransport(1)) as client,
        ):
            await client.get("/")

    with pytest.raises(httpx.ReadTimeout):
        asyncio.run(slow())


async def start_raw_server(answer, close=False):
    """Writes the same raw bytes `answer` to every request."""

    async def same():
        return answer

    return await serve(same, close)


def _chunked_gzip_answer(payload):
    packed = gzip.compress(payload)
    chunks = [packed[:7], packed[7:20], packed[20:]]
    body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    return (
        b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
        b"Transfer-Encoding: chunked\r\nX-Trace: abc\r\n\r\n" + body
    )


def test_chunked_gzip_bodies_read_as_httpx_own_transport_reads_them():
    payload = b'{"choices": [{"message": {"content": "' + b"shoes " * 200 + b'"}}]}'

    async def fetch(transport):
        server, url, ports = await start_raw_server(_chunked_gzip_answer(payload))
        async with server, httpx.AsyncClient(base_url=url, transport=transport) as client:
            responses = [await client.post("/v1/chat/completions", content=b"{}") for _ in range(3)]
        return [
            (r.status_code, r.reason_phrase, r.http_version, r.headers["x-trace"], r.json()) for r in responses
        ], ports

    ours, our_ports = asyncio.run(fetch(StackTransport(2)))
    reference, _ = asyncio.run(fetch(httpx.AsyncHTTPTransport()))
    assert ours == reference
    assert ours[0][0] == 201 and ours[0][4]["choices"][0]["message"]["content"].startswith("shoes shoes")
    assert len(our_ports) == 1  # chunked framing ends the message: the connection is reused


@pytest.mark.parametrize(
    "answer",
    [
        b"",  # closed without a byte of response
        b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"cut": ',  # closed inside the body
    ],
)
def test_a_connection_closed_mid_answer_is_a_remote_protocol_error(answer):
    async def main():
        server, url, _ = await start_raw_server(answer, close=True)
        async with server, httpx.AsyncClient(base_url=url, transport=StackTransport(1)) as client:
            await client.post("/", content=b"{}")

    with pytest.raises(httpx.RemoteProtocolError):
        asyncio.run(main())


def test_a_garbled_status_line_is_a_remote_protocol_error():
    async def main():
        server, url, _ = await start_raw_server(b"NOT HTTP AT ALL\r\n\r\n", close=True)
        async with server, httpx.AsyncClient(base_url=url, transport=StackTransport(1)) as client:
            await client.get("/")

    with pytest.raises(httpx.RemoteProtocolError):
        asyncio.run(main())


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_https_with_a_trusted_certificate(tmp_path):
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
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)

    async def main(client_tls):
        async def handle(reader, writer):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{"tls": 1}')
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_tls)
        url = f"https://localhost:{server.sockets[0].getsockname()[1]}"
        async with server, httpx.AsyncClient(base_url=url, transport=StackTransport(1, client_tls)) as client:
            return (await client.get("/")).json()

    assert asyncio.run(main(httpx.create_ssl_context(verify=ssl.create_default_context(cafile=str(cert))))) == {
        "tls": 1
    }
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):  # not trusted by default
        asyncio.run(main(None))
