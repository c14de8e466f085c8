"""A local OpenAI-compatible /v1/chat/completions server that injects faults, for tests and benchmarks.

Real HTTP on 127.0.0.1 (HTTP/1.1 keep-alive, one thread per connection). Each request takes
the next action from a script, then answers normally:

- "ok"                      200 with a completion in the study's format
- (status, {headers})       that status, e.g. (429, {"Retry-After": "1"}), (503, {}), (401, {})
- ("sleep", seconds)        wait, then answer 200 (beyond the client's read timeout: a timeout)
- "truncated"               a 200 whose body is cut off mid-JSON and the connection closed
                            (streamed: half the events, then the connection closed)
- "cut_clean"               streamed: half the events, then a clean end with no finish reason
- "not_json"                a 200 whose body is HTML
- ("body", bytes)           a 200 with that body (a JSON list, odd `usage`, ...), never streamed
- ("echo", status)          that status with the request's headers in the body, as some
                            gateways answer a request they refuse (the API key included)
- ("huge", n_bytes)         a 200 of n_bytes of JSON whitespace, sent in 1 MiB pieces

A request with `stream: true` is answered with server-sent events (chunked), the completion
in a few parts after a keep-alive comment, as hosted APIs stream.

`responder` (body -> text or None) lets a test play a model with planted behaviour.

Optionally every answer waits `latency` seconds, and a requests-per-minute limit answers 429
(the way hosted APIs do) when the client goes faster. Run standalone for benchmarks:
`python tests/helpers/fake_openai.py --fast --latency 0.1 --rpm 600` prints the port on stdout
(`--fast`: an asyncio server with the same answers, no scripted faults).
"""

import argparse
import asyncio
import hashlib
import json
import ssl
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COMPLETION = (
    "task_type: multiple-choice\ninput_field: Which is a fruit?\\n0. apple\\n1. chair\noutput_field: 0\n"
    "###\ntask_type: ranking\ninput_field: Rank\\n1. a\\n2. b\noutput_field: [2, 1]\n"
    '###\ntask_type: generation\ninput_field: Describe mug {tag}.\noutput_field: "Mug {tag} holds coffee."'
)


def completion_for(prompt, response_format=None):
    """The answer depends on the prompt, so outputs of different runs can be compared. With a
    `response_format`, the answer is JSON: generation-task parts, as many as the schema asks."""
    tag = hashlib.sha256(prompt.encode()).hexdigest()[:8]
    if not response_format:
        return COMPLETION.format(tag=tag)
    schema = (response_format.get("json_schema") or {}).get("schema") or {}
    n = schema.get("properties", {}).get("tasks", {}).get("maxItems", 2)
    tasks = [{"instruction": f"Describe mug {tag}-{i}.", "answer": f"Mug {tag}-{i} holds coffee."} for i in range(n)]
    return json.dumps({"tasks": tasks})


def completion_payload(prompt, response_format=None, text=None):
    return json.dumps(
        {
            "choices": [
                {
                    "message": {
                        "role": "assistant",
                        "content": completion_for(prompt, response_format) if text is None else text,
                    },
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": len(prompt) // 4, "completion_tokens": 60},
        }
    ).encode()


class RateWindow:
    """A token bucket holding one second's worth of requests, refilled at rpm/60 per second
    (hosted APIs count per minute, which is more lenient still)."""

    def __init__(self, rpm):
        self.rpm = rpm
        self.allowance, self.checked = max(1.0, (rpm or 60) / 60.0), time.monotonic()
        self.limited = 0

    def over_limit(self):
        if not self.rpm:
            return False
        now = time.monotonic()
        burst = max(1.0, self.rpm / 60.0)
        self.allowance = min(burst, self.allowance + (now - self.checked) * self.rpm / 60.0)
        self.checked = now
        if self.allowance >= 1.0 - 1e-9:
            self.allowance -= 1.0
            return False
        self.limited += 1
        return True


class FakeOpenAI(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, script=(), latency=0.0, rpm=None, port=0, tls=None):
        super().__init__(("127.0.0.1", port), _Handler)
        self.scheme, self.host = "http", "127.0.0.1"
        if tls:  # (certificate file, key file) of a certificate for "localhost"
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*tls)
            # The handshake happens in the handler's thread, so a refused one cannot block accept().
            self.socket = context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
            self.scheme, self.host = "https", "localhost"
        self.script = list(script)
        self.latency = latency
        self.window = RateWindow(rpm)
        self.lock = threading.Lock()  # script, counters and the rate window
        self.send_lock = threading.Lock()  # held while a 200 is written; tests may hold it
        self.received = []  # (prompt, authorization header) per request
        self.idempotency_keys = []  # the Idempotency-Key header of every request
        self.bodies = []  # the decoded JSON body of every request
        self.reject_formats = set()  # response_format types answered with 400 naming it
        self.served_ok = Counter()  # prompt -> 200 answers fully written
        self.on_request = None  # called (count) under send_lock before answering
        self.refused_auth = set()  # answers to these credentials are dropped (a killed client)
        self.responder = None  # body -> answer text (or None: the default), to play a model

    def handle_error(self, request, client_address):
        # A client that was killed or gave up closes its connection mid-answer; that is expected.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError, ssl.SSLError)):
            super().handle_error(request, client_address)

    @property
    def base_url(self):
        return f"{self.scheme}://{self.host}:{self.server_address[1]}/v1"

    def start(self):
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    @property
    def limited(self):
        return self.window.limited


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, status, payload, headers=None, content_type="application/json", length=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload) if length is None else length))
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()

    def _send_huge(self, size):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        piece = b" " * 2**20
        try:
            for start in range(0, size, len(piece)):
                self.wfile.write(piece[: min(len(piece), size - start)])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading: what the cap is for
        self.close_connection = True

    def _send_stream(self, text, cut=None):
        """The completion as server-sent events; cut: "truncated" (connection closed) or
        "cut_clean" (the stream ends) after half of the parts."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def write(data):
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def event(delta, finish_reason=None, **extra):
            chunk = {
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
                **extra,
            }
            write(f"data: {json.dumps(chunk)}\n\n".encode())

        write(b": keep-alive\n\n")
        event({"role": "assistant", "content": ""})
        step = max(1, len(text) // 4)
        parts = [text[i : i + step] for i in range(0, len(text), step)]
        for index, part in enumerate(parts):
            if cut and index == len(parts) // 2:
                if cut == "cut_clean":
                    self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
                self.close_connection = True
                return
            event({"content": part})
        event({}, "stop")
        write(
            f"data: {json.dumps({'choices': [], 'usage': {'prompt_tokens': 10, 'completion_tokens': 60}})}\n\n".encode()
        )
        write(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def do_POST(self):
        server = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = body["messages"][-1]["content"]
        response_format = body.get("response_format")
        with server.lock:
            server.received.append((prompt, self.headers.get("Authorization")))
            server.idempotency_keys.append(self.headers.get("Idempotency-Key"))
            server.bodies.append(body)
            if response_format and response_format.get("type") in server.reject_formats:
                message = f"Invalid parameter: response_format of type {response_format['type']} is not supported"
                self._send(400, json.dumps({"error": {"message": message}}).encode())
                return
            count = len(server.received)
            action = server.script.pop(0) if server.script else "ok"
            limited = server.window.over_limit()
        if limited:
            self._send(429, b'{"error": "rate limited"}', {"Retry-After": "1"})
            return
        if server.latency:
            time.sleep(server.latency)
        if isinstance(action, tuple) and action[0] == "sleep":
            time.sleep(action[1])
            action = "ok"
        if isinstance(action, tuple) and action[0] == "body":
            self._send(200, action[1])
            return
        if isinstance(action, tuple) and action[0] == "echo":
            auth = self.headers.get("Authorization")
            message = f"invalid response_format for the request with Authorization: {auth} ({dict(self.headers)})"
            self._send(action[1], json.dumps({"error": {"message": message}}).encode())
            return
        if isinstance(action, tuple) and action[0] == "huge":
            self._send_huge(action[1])
            return
        if isinstance(action, tuple):
            status, headers = action
            self._send(status, b'{"error": "injected"}', headers)
            return
        if action == "not_json":
            self._send(200, b"<html>Bad gateway</html>", content_type="text/html")
            return
        stream = bool(body.get("stream"))
        text = server.responder(body) if server.responder else None
        if text is None:
            text = completion_for(prompt, response_format)
        if stream and action in ("truncated", "cut_clean"):
            self._send_stream(text, cut=action)
            return
        payload = completion_payload(prompt, response_format, text)
        if action == "truncated":
            self._send(200, payload[: len(payload) // 2], length=len(payload))
            self.close_connection = True
            return
        with server.send_lock:
            if server.on_request:
                server.on_request(count)
            if self.headers.get("Authorization") in server.refused_auth:
                self.close_connection = True
                return
            if stream:
                self._send_stream(text)
            else:
                self._send(200, payload)
            with server.lock:
                server.served_ok[prompt] += 1


async def serve_fast(latency=0.0, rpm=None, port=0, ready=print):
    """The same answers (200 or a 429 over the limit) from an asyncio server: for benchmarks,
    where a thread-per-connection server would be slower than the client it measures."""
    window = RateWindow(rpm)
    answer = completion_payload("benchmark")

    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)  # one fixed answer: no parsing, so the server stays cheap
                if window.over_limit():
                    status, extra, payload = (
                        b"429 Too Many Requests",
                        b"Retry-After: 1\r\n",
                        b'{"error": "rate limited"}',
                    )
                else:
                    if latency:
                        await asyncio.sleep(latency)
                    status, extra, payload = b"200 OK", b"", answer
                writer.write(
                    b"HTTP/1.1 "
                    + status
                    + b"\r\nContent-Type: application/json\r\n"
                    + extra
                    + b"Content-Length: "
                    + str(len(payload)).encode()
                    + b"\r\n\r\n"
                    + payload
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=512)
    ready(server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--rpm", type=float, default=None)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--fast", action="store_true", help="asyncio server without scripted faults")
    args = parser.parse_args()
    if args.fast:
        try:
            import uvloop

            run = uvloop.run
        except ImportError:
            run = asyncio.run
        try:
            run(serve_fast(args.latency, args.rpm, args.port, ready=lambda p: print(p, flush=True)))
        except KeyboardInterrupt:
            pass
        return
    server = FakeOpenAI(latency=args.latency, rpm=args.rpm, port=args.port)
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
