"""transformers' own continuous batching (ContinuousBatchingManager), for bench_inference.py.

Measured beside shoplora's engine (src/shoplora/runtime/continuous.py) to decide whether the
library's engine could replace it: same greedy answers, `token_budget` tokens per step
(max_batch_tokens), prefixes shared in the paged cache. Public transformers API only: the
model is switched to its paged attention for the run and back afterwards.
"""

import time


class PagedAttentionUnavailable(RuntimeError):
    """The model has no paged form of its attention, so it cannot be batched continuously."""


def paged(attention):
    return attention if attention.startswith("paged|") else f"paged|{attention}"


def generate_continuous(model, prompts, max_new_tokens, stop_ids, *, attention, token_budget, progress=None):
    """Greedy new token ids (stop tokens cut) for each prompt (a list of token ids).

    attention: the implementation the model was loaded with (e.g. "sdpa"); restored after.
    """
    from transformers import GenerationConfig
    from transformers.generation.configuration_utils import ContinuousBatchingConfig

    if not prompts:
        return []
    stop_ids = list(stop_ids)
    config = GenerationConfig(
        do_sample=False, max_new_tokens=max(max_new_tokens), eos_token_id=stop_ids, pad_token_id=stop_ids[0]
    )
    batching = ContinuousBatchingConfig(max_batch_tokens=token_budget)
    results, started = {}, time.monotonic()
    try:
        model.set_attn_implementation(paged(attention))
    except ValueError as err:
        raise PagedAttentionUnavailable(str(err)) from None
    try:
        with model.continuous_batching_context_manager(
            generation_config=config, continuous_batching_config=batching, warmup_requests=None
        ) as manager:
            for i, (ids, limit) in enumerate(zip(prompts, max_new_tokens)):
                manager.add_request(list(ids), request_id=str(i), max_new_tokens=limit, eos_token_id=stop_ids)
            while len(results) < len(prompts):
                result = manager.get_result(timeout=1.0)
                if result is None:
                    if not manager.is_running():
                        raise RuntimeError("transformers' continuous batching stopped before every answer was done")
                    continue
                results[result.request_id] = result.generated_tokens
                if progress is not None and (len(results) % 16 == 0 or len(results) == len(prompts)):
                    rate = len(results) / (time.monotonic() - started)
                    print(f"infer: {len(results)}/{len(prompts)} examples, {rate:.2f}/s", file=progress, flush=True)
    finally:
        model.set_attn_implementation(attention)
    return [_until_stop(results[str(i)], stop_ids) for i in range(len(prompts))]


def _until_stop(tokens, stop_ids):
    cut = next((k for k, t in enumerate(tokens) if t in stop_ids), len(tokens))
    return list(tokens[:cut])
