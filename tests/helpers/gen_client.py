"""Runs one provider's requests in its own process, so tests can SIGKILL or SIGTERM it.

argv: provider JSON, cache path, number of seed tasks, API key. Exit 3 on Interrupted.
"""

import json
import sys

from shoplora.generation.client import Interrupted, run_requests
from shoplora.generation.prompts import build_requests

provider = json.loads(sys.argv[1])
seeds = [
    {"id": f"s{i}", "task_type": "generation", "input_field": f"Describe product {i}.", "output_field": f"Product {i}."}
    for i in range(int(sys.argv[3]))
]
requests = build_requests(provider, seeds, {"generation": "{examples} {k} {n}"})
try:
    print(json.dumps(run_requests(provider, requests, sys.argv[2], api_key=sys.argv[4])), flush=True)
except Interrupted as err:
    print(f"interrupted: {err}", file=sys.stderr, flush=True)
    sys.exit(3)
