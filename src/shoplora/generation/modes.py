"""Output modes and the fallback chain json_schema -> json_object -> text, once per run."""

import sys

from shoplora.generation.client import ResponseFormatRejected, run_requests

NEXT_MODE = {"json_schema": "json_object", "json_object": "text"}


def run_with_fallback(provider, requests_for, cache, api_key=None, log=sys.stderr):
    """Run the provider's requests in its `output` mode; when the provider rejects
    `response_format`, rebuild them in the next mode and run again.

    requests_for: mode -> the requests in that mode. Returns (mode used, requests, stats).
    A rejected mode costs one refused request, so a re-run that falls back again still
    finds its answers in the cache under the same request ids.
    """
    mode = provider["output"]
    while True:
        requests = requests_for(mode)
        try:
            stats = run_requests(provider, requests, cache, api_key=api_key)
        except ResponseFormatRejected as err:
            mode = NEXT_MODE[mode]
            print(f"generate: {err}\ngenerate: falling back to output '{mode}' for this run", file=log, flush=True)
            continue
        stats.update(output=mode, output_configured=provider["output"])
        return mode, requests, stats
