"""An httpx transport for many small JSON requests: asyncio protocols, h11 and a stack of
keep-alive connections.

httpx's default transport (httpcore's pool over anyio streams) spends most of this client's
CPU on machinery it does not need here: it rescans every pooled connection on each request
and response close (a socket poll per idle connection), and every read and write passes
through anyio's cancel scopes and checkpoints. At 64 connections and 100 ms answers that
CPU turns into queueing delay, because answers arrive together and wait for the loop.

This transport keeps only what the generation client uses:
- HTTP/1.1 with keep-alive, framed by h11 (the parser httpcore itself uses), over an
  `asyncio.Protocol` per connection: bytes go straight from the event loop into h11;
- at most `max_connections` connections; idle ones wait on a stack, and a request takes the
  most recently used one (checking only that one) or opens a new one;
- the whole response body is read before the response is returned (the client reads every
  body anyway), so the connection is back on the stack before the caller parses the JSON;
- the connect and read timeouts from httpx's per-request `timeout` extension;
- failures raised as the matching httpx exceptions (ConnectError, ConnectTimeout, ReadTimeout,
  ReadError, RemoteProtocolError, LocalProtocolError), so callers see what they would see
  with httpx's own transport.

It does not do HTTP/2, proxies, streaming responses or the `Expect: 100-continue` dance.
"""

import asyncio

import h11
import httpx


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: the event loop feeds received bytes straight into h11."""

    def __init__(self):
        self.h11 = h11.Connection(h11.CLIENT)
        self.transport = None
        self.lost = False
        self._eof = False
        self._waiter = None

    # asyncio.Protocol callbacks
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.h11.receive_data(data)
        self._wake()

    def eof_received(self):
        self._end_of_input()
        return False  # let asyncio close the socket

    def connection_lost(self, exc):
        self.lost = True
        self._end_of_input()

    def _end_of_input(self):
        if not self._eof:
            self._eof = True
            self.h11.receive_data(b"")  # h11 turns EOF into ConnectionClosed or a protocol error
        self._wake()

    def _wake(self):
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    # used by the transport
    def reusable(self):
        return (
            not self.lost
            and not self.transport.is_closing()
            and self.h11.our_state is h11.IDLE
            and self.h11.their_state is h11.IDLE
        )

    async def next_event(self, read_timeout):
        while True:
            event = self.h11.next_event()
            if event is not h11.NEED_DATA:
                return event
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                async with asyncio.timeout(read_timeout):
                    await self._waiter
            finally:
                self._waiter = None

    def close(self):
        self.transport.close()


class StackTransport(httpx.AsyncBaseTransport):
    """At most `max_connections` HTTP/1.1 keep-alive connections, the idle ones on a stack.

    ssl_context: for https; by default httpx's own (certifi's CA bundle, as `verify=True`),
    made on the first https connection because loading the bundle costs tens of ms.
    """

    def __init__(self, max_connections, ssl_context=None):
        self._slots = asyncio.Semaphore(max_connections)
        self._idle = []
        self._ssl_context = ssl_context

    async def _connect(self, url, connect_timeout, request):
        https = url.scheme == "https"
        host = url.host
        port = url.port or (443 if https else 80)
        if https and self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context()
        context = self._ssl_context if https else None
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(connect_timeout):
                _, connection = await loop.create_connection(
                    _Connection, host, port, ssl=context, server_hostname=host if https else None
                )
        except TimeoutError as err:
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out", request=request) from err
        except OSError as err:
            raise httpx.ConnectError(f"connecting to {host}:{port}: {err}", request=request) from err
        return connection

    async def _take(self, url, connect_timeout, request):
        while self._idle:
            connection = self._idle.pop()
            if connection.reusable():
                return connection
            connection.close()  # the server closed it, or asked to
        return await self._connect(url, connect_timeout, request)

    async def _exchange(self, connection, request, read_timeout):
        """Send the request and read the whole response: (h11.Response, body bytes)."""
        h = connection.h11
        target = request.url.raw_path
        out = h.send(h11.Request(method=request.method, target=target, headers=request.headers.raw))
        body = await request.aread()
        if body:
            out += h.send(h11.Data(data=body))
        out += h.send(h11.EndOfMessage())
        if connection.lost:
            raise httpx.WriteError("the server closed the connection", request=request)
        connection.transport.write(out)

        event = await connection.next_event(read_timeout)
        while isinstance(event, h11.InformationalResponse):
            event = await connection.next_event(read_timeout)
        if isinstance(event, h11.ConnectionClosed):
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
        response = event
        parts = []
        while True:
            event = await connection.next_event(read_timeout)
            if isinstance(event, h11.Data):
                parts.append(event.data)
            elif isinstance(event, h11.EndOfMessage):
                break
            else:  # ConnectionClosed before the body ended
                raise httpx.RemoteProtocolError(
                    "Server disconnected in the middle of the response body.", request=request
                )
        if h.our_state is h11.DONE and h.their_state is h11.DONE:
            h.start_next_cycle()  # keep-alive: ready for the next request
        return response, b"".join(parts)

    async def handle_async_request(self, request):
        timeout = request.extensions.get("timeout", {})
        await self._slots.acquire()
        connection = None
        try:
            connection = await self._take(request.url, timeout.get("connect"), request)
            try:
                response, body = await self._exchange(connection, request, timeout.get("read"))
            except TimeoutError as err:
                raise httpx.ReadTimeout("timed out waiting for the response", request=request) from err
            except h11.RemoteProtocolError as err:
                raise httpx.RemoteProtocolError(str(err), request=request) from err
            except h11.LocalProtocolError as err:
                raise httpx.LocalProtocolError(str(err), request=request) from err
            except OSError as err:
                raise httpx.ReadError(str(err) or type(err).__name__, request=request) from err
        except BaseException:
            if connection is not None:
                connection.close()
            self._slots.release()
            raise
        if connection.reusable():
            self._idle.append(connection)
        else:
            connection.close()
        self._slots.release()
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=httpx.ByteStream(body),
            extensions={"http_version": b"HTTP/" + response.http_version, "reason_phrase": response.reason},
        )

    async def aclose(self):
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()
