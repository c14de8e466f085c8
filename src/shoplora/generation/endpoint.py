"""Where a provider answers during one job: the local model server the job starts, or a hosted
endpoint; with the key to send and who answers (part of every request id)."""

import contextlib
import os
from typing import NamedTuple

from shoplora.generation.local_server import local_model_server
from shoplora.io.model_meta import model_identity, read_model_meta


class Answering(NamedTuple):
    """A provider section with its live `base_url`, the bearer key for it, and who answers."""

    provider: dict
    api_key: str | None
    answerer: str


def answerer_of(provider, model_dir):
    """Who answers a provider's requests: the base model's identity for the local provider, the
    endpoint for a hosted one. A changed endpoint or base model is never served from the cache
    of the old one."""
    return model_identity(model_dir) if provider["kind"] == "local" else provider["base_url"]


@contextlib.contextmanager
def provider_endpoint(provider, model_dir, workdir, log):
    """Yield the Answering of `provider` (a section with its `name`) for as long as the job runs.

    The local provider is served from `model_dir` on a free loopback port, decoding up to
    `max_concurrency` requests at once (one slot each, continuous batching); its per-run token
    is the key. A hosted provider's key is read from its `api_key_env` here, never passed
    through params, config or logs.
    """
    answerer = answerer_of(provider, model_dir)
    if provider["kind"] != "local":
        key = os.environ.get(provider["api_key_env"]) if provider["api_key_env"] else None
        yield Answering(dict(provider), key, answerer)
        return
    with local_model_server(
        model_dir,
        read_model_meta(model_dir)["template"],
        workdir=workdir,
        log=log,
        extra={"max_batch": provider["max_concurrency"]},
    ) as endpoint:
        yield Answering({**provider, "base_url": endpoint.url}, endpoint.token, answerer)
