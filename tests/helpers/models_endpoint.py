"""Stands in for the local model server in tests: answers GET /v1/models on API_PORT, forever.

With SHOPLORA_SERVER_TOKEN set it behaves as the real server does: 401 without the token, and
its identity on every answer. `--foreign` ignores the token: another program on the port."""

import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

from shoplora.generation.local_server import IDENTITY_HEADER, TOKEN_ENV, server_identity

TOKEN = None if "--foreign" in sys.argv else os.environ.get(TOKEN_ENV)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'{"data": []}'
        allowed = TOKEN is None or self.headers.get("Authorization") == f"Bearer {TOKEN}"
        self.send_response((200 if self.path == "/v1/models" else 404) if allowed else 401)
        if TOKEN:
            self.send_header(IDENTITY_HEADER, server_identity(TOKEN))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


HTTPServer(("127.0.0.1", int(os.environ["API_PORT"])), Handler).serve_forever()
