"""StackTransport against a real HTTP server on 127.0.0.1: connection limit and reuse,
connections the server closed, and httpcore errors raised as httpx errors."""

import asyncio
import socket

import httpx
import pytest

from shoplora.http_transport import StackTransport


async def start_server(close_after_response=False, delay=0.05):
    """A keep-alive HTTP/1.1 server; records each connection's peer port and the peak in use."""
    seen = {"ports": [], "busy": 0, "peak": 0}

    async def handle(reader, writer):
        seen["ports"].append(writer.get_extra_info("peername")[1])
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                await reader.readexactly(length)
                seen["busy"] += 1
                seen["peak"] = max(seen["peak"], seen["busy"])
                await asyncio.sleep(delay)
                seen["busy"] -= 1
                body = b'{"ok": true}'
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: " + str(len(body)).encode() + b"\r\n"
                             + (b"Connection: close\r\n" if close_after_response else b"") + b"\r\n" + body)
                await writer.drain()
                if close_after_response:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", seen


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
        async with server, httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(5, read=0.2),
                                             transport=StackTransport(1)) as client:
            await client.get("/")

    with pytest.raises(httpx.ReadTimeout):
        asyncio.run(slow())
