"""A stand-in generate job: starts the local server through local_model_server, prints its URL
and token, then waits to be killed. argv: work folder."""

import sys
import time
from pathlib import Path

from shoplora.generation.local_server import local_model_server

endpoint = Path(__file__).with_name("models_endpoint.py")
with local_model_server(
    "model", "smollm2", sys.argv[1], startup_timeout_s=30, command=(sys.executable, str(endpoint))
) as served:
    print(served.url, served.token, flush=True)
    time.sleep(600)
