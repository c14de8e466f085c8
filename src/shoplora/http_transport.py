"""An httpx transport that keeps idle keep-alive connections on a stack.

httpx's default transport (httpcore's AsyncConnectionPool) rescans every connection on each
request and on each response close, asking each idle one whether the server closed it
(a socket poll through anyio); at 64 connections that is most of the client's CPU time. The
generation client runs exactly `max_concurrency` workers, so a simpler pool is enough: a
request takes the most recently used idle connection (checking only that one) or opens a
new one, and gives it back when its response is closed. httpcore errors are raised as the
matching httpx errors, so callers see the same exceptions as with the default transport.
"""

import asyncio
import contextlib

import httpcore
import httpx

# httpcore -> httpx, most specific first.
_ERRORS = [
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
    (httpcore.ConnectionNotAvailable, httpx.RemoteProtocolError),  # closed under our feet
]


@contextlib.contextmanager
def _as_httpx_errors(request):
    try:
        yield
    except Exception as err:
        for core_error, httpx_error in _ERRORS:
            if isinstance(err, core_error):
                raise httpx_error(str(err) or type(err).__name__, request=request) from err
        raise


class StackTransport(httpx.AsyncBaseTransport):
    """At most `max_connections` HTTP/1.1 connections, the idle ones on a stack."""

    def __init__(self, max_connections, ssl_context=None):
        self._slots = asyncio.Semaphore(max_connections)
        self._idle = []
        self._ssl_context = ssl_context

    async def _take(self, url):
        while self._idle:
            connection = self._idle.pop()
            if connection.is_available() and not connection.has_expired():
                return connection
            await connection.aclose()  # the server closed it, or it broke
        origin = httpcore.Origin(url.raw_scheme, url.raw_host, url.port or (443 if url.scheme == "https" else 80))
        return httpcore.AsyncHTTPConnection(origin=origin, ssl_context=self._ssl_context)

    async def _give_back(self, connection):
        try:
            if connection.is_idle():
                self._idle.append(connection)
            else:
                await connection.aclose()
        finally:
            self._slots.release()

    async def handle_async_request(self, request):
        await self._slots.acquire()
        connection = None
        try:
            connection = await self._take(request.url)
            core_request = httpcore.Request(
                method=request.method,
                url=httpcore.URL(scheme=request.url.raw_scheme, host=request.url.raw_host,
                                 port=request.url.port, target=request.url.raw_path),
                headers=request.headers.raw, content=request.stream, extensions=request.extensions)
            with _as_httpx_errors(request):
                response = await connection.handle_async_request(core_request)
        except BaseException:
            if connection is not None:
                await connection.aclose()
            self._slots.release()
            raise
        return httpx.Response(status_code=response.status, headers=response.headers,
                              stream=_ResponseStream(response.stream, request, self, connection),
                              extensions=response.extensions)

    async def aclose(self):
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.aclose()


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, core_stream, request, transport, connection):
        self._core_stream, self._request = core_stream, request
        self._transport, self._connection = transport, connection
        self._closed = False

    async def __aiter__(self):
        with _as_httpx_errors(self._request):
            async for part in self._core_stream:
                yield part

    async def aclose(self):
        if self._closed:
            return
        self._closed = True
        try:
            with _as_httpx_errors(self._request):
                await self._core_stream.aclose()
        finally:
            await self._transport._give_back(self._connection)
