"""A forward HTTP proxy on 127.0.0.1 for tests: plain HTTP requests and CONNECT tunnels.

Real sockets, the way a site proxy works: a plain request arrives in absolute form
(`POST http://host:port/path HTTP/1.1`) and is forwarded in origin form; `CONNECT host:port`
opens a tunnel that the client then speaks TLS through. `seen` records what each request
asked for ("POST http://..." or "CONNECT host:port"), so a test can show the proxy was used.
"""

import asyncio
import threading
from urllib.parse import urlsplit


class ForwardProxy:
    def __init__(self):
        self.seen = []
        self.loop = asyncio.new_event_loop()
        self.server = None
        self.port = None

    def start(self):
        ready = threading.Event()

        def run():
            asyncio.set_event_loop(self.loop)
            self.server = self.loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", 0))
            self.port = self.server.sockets[0].getsockname()[1]
            ready.set()
            self.loop.run_forever()

        threading.Thread(target=run, daemon=True).start()
        ready.wait(10)
        return self

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        async def close():
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)

    async def _client(self, reader, writer):
        upstream = None
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *header_lines = head.decode("latin-1").split("\r\n")
                method, target, version = request_line.split(" ")
                if method == "CONNECT":
                    self.seen.append(f"CONNECT {target}")
                    host, port = target.rsplit(":", 1)
                    up_reader, up_writer = await asyncio.open_connection(host, int(port))
                    writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    await writer.drain()
                    await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
                    return
                self.seen.append(f"{method} {target}")
                url = urlsplit(target)
                headers = [h for h in header_lines if h and not h.lower().startswith("proxy-")]
                length = next((int(h.split(":", 1)[1]) for h in headers if h.lower().startswith("content-length:")), 0)
                body = await reader.readexactly(length)
                if upstream is None:
                    upstream = await asyncio.open_connection(url.hostname, url.port or 80)
                up_reader, up_writer = upstream
                path = url.path + (f"?{url.query}" if url.query else "")
                lines = [f"{method} {path} {version}", *headers]
                up_writer.write(("".join(line + "\r\n" for line in lines) + "\r\n").encode("latin-1"))
                up_writer.write(body)
                await up_writer.drain()
                answer = await up_reader.readuntil(b"\r\n\r\n")
                answer_headers = [h.lower() for h in answer.decode("latin-1").split("\r\n")]
                writer.write(answer)
                if "transfer-encoding: chunked" in answer_headers:  # a streamed answer, relayed as it comes
                    await _relay_chunks(up_reader, writer)
                    continue
                size = next((int(h.split(":", 1)[1]) for h in answer_headers if h.startswith("content-length:")), 0)
                writer.write(await up_reader.readexactly(size))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            if upstream is not None:
                upstream[1].close()
            writer.close()


async def _relay_chunks(reader, writer):
    """Copy a chunked body chunk by chunk, up to and including its last (empty) chunk."""
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        writer.write(size_line + await reader.readexactly(size + 2))
        await writer.drain()
        if size == 0:
            return


async def _pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()
