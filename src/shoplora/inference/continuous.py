"""Continuous batching for greedy decoding with a transformers model, on a CPU or a GPU.

`model.generate` on a padded batch keeps every row until the longest is done, and once the
prompts are read each step multiplies the weights by one token per row: on a CPU that step
is bound by reading the weights, not by arithmetic. Here each forward pass instead packs, into
one row of at most `token_budget` tokens, the next token of every running sequence plus
prompt chunks of waiting ones, so the matrix products stay large from the first step to the
last; a finished sequence leaves at once and a waiting one takes its slot; and a prompt prefix
already in the cache (the system prompt, a task's instructions) is copied instead of computed
again. Greedy choices are the same as `model.generate` one prompt at a time.

The model's own layers do the work; only attention is swapped, through transformers'
attention interface, for one that reads and writes a per-slot key/value cache.
"""

import os.path
import time
from collections import deque
from contextlib import contextmanager
from types import SimpleNamespace

from shoplora.inference.constraint import AnswerCharsOnly

ATTENTION = "shoplora_packed"
# The engine reads transformers internals (`_supports_attention_backend`, the attention
# interface, `config._attn_implementation`) that may change in any release: it runs only on the
# release line it was checked against, and infer falls back to padded batches elsewhere.
# transformers' own continuous batching gave the same answers at a third of this engine's
# speed on a 2-core CPU (bench/README.md, 2026-11-29), so it does not replace it yet.
WRITTEN_FOR = "5.6"
_step = None  # the layout of the forward pass in progress, read by _packed_attention


class _Cache:
    """Keys and values per layer, [slots, kv_heads, max_len, head_dim], allocated on the
    first write so that their shapes come from the model's own projections."""

    def __init__(self, slots, max_len):
        self.slots, self.max_len = slots, max_len
        self.keys, self.values = {}, {}

    def layer(self, index, key, value):
        if index not in self.keys:
            self.keys[index] = key.new_zeros((self.slots, key.shape[1], self.max_len, key.shape[3]))
            self.values[index] = value.new_zeros((self.slots, value.shape[1], self.max_len, value.shape[3]))
        return self.keys[index], self.values[index]

    def copy_prefix(self, src, dst, length):
        for layer in list(self.keys.values()) + list(self.values.values()):
            layer[dst, :, :length] = layer[src, :, :length]


def installed_transformers():
    """The installed transformers release line, e.g. "5.6"."""
    import transformers

    return ".".join(transformers.__version__.split(".")[:2])


def unsupported_reason(model):
    """Why this engine cannot run `model` exactly (None when it can): its attention here is
    plain causal softmax attention, read through transformers' attention interface."""
    version = installed_transformers()
    if version != WRITTEN_FOR:
        return f"transformers {version} (it was written and tested for {WRITTEN_FOR}.x only)"
    config = model.config
    text = config.get_text_config()
    if not getattr(model, "_supports_attention_backend", False):
        return f"{type(model).__name__}'s attention (it does not use transformers' attention interface)"
    if text is not config:
        return "multimodal models"
    if "sliding_attention" in (getattr(text, "layer_types", None) or []) or (
        getattr(text, "sliding_window", None) and getattr(text, "use_sliding_window", True) is not False
    ):
        return "sliding-window attention"
    if getattr(text, "attn_logit_softcapping", None):
        return "attention logit soft-capping"
    return None


class _Step:
    """Where each packed token goes in the cache and which keys it may see."""

    def __init__(self, cache, writes, decodes, prefills, device):
        import torch

        def tensor(values):
            return torch.tensor(values, dtype=torch.long, device=device)

        self.cache = cache
        self.write_slot = tensor([slot for slot, _ in writes])
        self.write_pos = tensor([pos for _, pos in writes])
        self.decode = None
        if decodes:  # (packed index, slot, position): one query row per sequence
            seen = tensor([pos + 1 for _, _, pos in decodes])
            width = int(seen.max())
            self.decode = SimpleNamespace(
                tokens=tensor([t for t, _, _ in decodes]),
                slots=tensor([s for _, s, _ in decodes]),
                width=width,
                mask=(torch.arange(width, device=device)[None, :] < seen[:, None])[:, None, None, :],
            )
        self.prefill = None
        if prefills:  # (first packed index, slot, first position, length): chunks padded to one shape
            chunk = max(n for _, _, _, n in prefills)
            width = max(p + n for _, _, p, n in prefills)
            i = torch.arange(chunk, device=device)
            starts, lengths = tensor([p for _, _, p, _ in prefills]), tensor([n for _, _, _, n in prefills])
            firsts = tensor([t for t, _, _, _ in prefills])
            gather = firsts[:, None] + torch.minimum(i[None, :], lengths[:, None] - 1)  # [chunks, chunk]
            keys = torch.arange(width, device=device)
            causal = keys[None, None, :] <= starts[:, None, None] + i[None, :, None]
            valid = i[None, :] < lengths[:, None]
            # A padding query row still needs one visible key, or attention returns NaN.
            mask = (causal & valid[:, :, None]) | (~valid[:, :, None] & (keys == 0))
            rows, cols = valid.nonzero(as_tuple=True)
            self.prefill = SimpleNamespace(
                gather=gather,
                slots=tensor([s for _, s, _, _ in prefills]),
                width=width,
                mask=mask[:, None],
                rows=rows,
                cols=cols,
                targets=gather[rows, cols],
            )


def _packed_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """query [1, heads, T, dim], key/value [1, kv_heads, T, dim] for the packed tokens."""
    import torch
    from torch.nn.functional import scaled_dot_product_attention as sdpa

    step, layer = _step, module.layer_idx
    keys, values = step.cache.layer(layer, key, value)
    keys[step.write_slot, :, step.write_pos] = key[0].transpose(0, 1)
    values[step.write_slot, :, step.write_pos] = value[0].transpose(0, 1)
    gqa = query.shape[1] != key.shape[1]
    q = query[0].transpose(0, 1)  # [T, heads, dim]
    out = torch.empty_like(q)
    if step.decode is not None:
        d = step.decode
        o = sdpa(
            q[d.tokens][:, :, None],
            keys[d.slots, :, : d.width],
            values[d.slots, :, : d.width],
            attn_mask=d.mask,
            scale=scaling,
            enable_gqa=gqa,
        )
        out[d.tokens] = o[:, :, 0]
    if step.prefill is not None:
        p = step.prefill
        o = sdpa(
            q[p.gather].transpose(1, 2),
            keys[p.slots, :, : p.width],
            values[p.slots, :, : p.width],
            attn_mask=p.mask,
            scale=scaling,
            enable_gqa=gqa,
        )
        out[p.targets] = o.transpose(1, 2)[p.rows, p.cols]
    return out[None], None


def _no_mask(*args, **kwargs):
    return None  # _packed_attention builds its own masks from the step layout


@contextmanager
def _packed_attention_on(model):
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface

    AttentionInterface.register(ATTENTION, _packed_attention)
    AttentionMaskInterface.register(ATTENTION, _no_mask)
    before = model.config._attn_implementation
    model.set_attn_implementation(ATTENTION)
    try:
        yield
    finally:
        model.set_attn_implementation(before)


class _Sequence:
    def __init__(self, index, prompt, max_new):
        self.index, self.prompt, self.max_new = index, prompt, max_new
        self.slot, self.computed, self.generated, self.finished = None, 0, [], False

    @property
    def decoding(self):
        return self.computed == len(self.prompt) and bool(self.generated)


class _Slots:
    """Cache slots: which prompt prefix each holds, so new prompts can reuse it."""

    def __init__(self, count):
        self.free = list(range(count))
        self.held = {}  # slot -> (prompt tokens, how many of them are in the cache)

    def take(self, prompt, cache):
        """A free slot for `prompt` and how many of its tokens are already in the cache: the
        longest prefix held by any slot, copied over unless the chosen slot holds it itself."""
        best_len, best_src = 0, None
        for slot, (tokens, computed) in self.held.items():
            length = min(len(os.path.commonprefix([prompt, tokens])), computed, len(prompt) - 1)
            if length > best_len:
                best_len, best_src = length, slot
        slot = best_src if best_src in self.free else self.free[0]
        self.free.remove(slot)
        if best_src is not None and best_src != slot:
            cache.copy_prefix(best_src, slot, best_len)
        self.held[slot] = (prompt, best_len)
        return slot, best_len

    def progress(self, slot, computed):
        self.held[slot] = (self.held[slot][0], computed)

    def release(self, slot):
        self.free.append(slot)


def generate_continuous(
    model,
    prompts,
    max_new_tokens,
    stop_ids,
    constrained=None,
    allowed_ids=None,
    *,
    slots,
    token_budget,
    progress=None,
    stats=None,
):
    """Greedy new token ids (stop tokens cut) for each prompt (a list of token ids).
    stats: a dict to fill with steps, prompt_tokens, prompt_tokens_computed (the rest came
    from shared prefixes) and generated_tokens."""
    import torch

    n = len(prompts)
    constrained = list(constrained) if constrained is not None else [False] * n
    sequences = [_Sequence(i, list(p), m) for i, (p, m) in enumerate(zip(prompts, max_new_tokens))]
    if not sequences:
        return []
    device = next(model.parameters()).device
    slots = max(1, min(slots, n))
    token_budget = max(token_budget, slots + 1)
    cache = _Cache(slots, max(len(s.prompt) + s.max_new for s in sequences))
    free = _Slots(slots)
    # Longest answers first, so short ones fill in around them at the end; equal prompts
    # next to each other, so they share their prefixes.
    waiting = deque(sorted((s for s in sequences if s.max_new > 0), key=lambda s: (-s.max_new, s.prompt)))
    active, done, started, shown = [], n - len(waiting), time.monotonic(), 0.0
    steps = computed = 0
    stop = set(stop_ids)
    answer_chars = AnswerCharsOnly(allowed_ids, constrained) if allowed_ids is not None and any(constrained) else None

    global _step
    with _packed_attention_on(model), torch.no_grad():
        while waiting or active:
            # Plan the step: one token per decoding sequence, then prompt chunks of sequences
            # still reading theirs, then new sequences while slots and budget last.
            tokens, positions, writes, decodes, prefills, readout = [], [], [], [], [], []
            for s in active:
                if s.decoding:
                    pos = len(s.prompt) + len(s.generated) - 1
                    decodes.append((len(tokens), s.slot, pos))
                    readout.append((len(tokens), s))
                    tokens.append(s.generated[-1])
                    positions.append(pos)
                    writes.append((s.slot, pos))
            budget = token_budget - len(tokens)
            for s in active:
                if not s.decoding and budget > 0:
                    budget -= _plan_prefill(s, budget, tokens, positions, writes, prefills, readout)
            while waiting and free.free and budget > 0:
                s = waiting.popleft()
                s.slot, s.computed = free.take(s.prompt, cache)
                active.append(s)
                budget -= _plan_prefill(s, budget, tokens, positions, writes, prefills, readout)
            computed += sum(count for _, _, _, count in prefills)
            steps += 1
            _step = _Step(cache, writes, decodes, prefills, device)
            try:
                keep = torch.tensor([t for t, _ in readout], dtype=torch.long, device=device)
                logits = model(
                    input_ids=torch.tensor([tokens], device=device),
                    position_ids=torch.tensor([positions], device=device),
                    use_cache=False,
                    logits_to_keep=keep,
                ).logits[0]
            finally:
                _step = None
            # Greedy choice for every sequence whose last token was in this step.
            logits = logits.float()
            if answer_chars is not None:
                logits = answer_chars.apply(logits, [s.index for _, s in readout])
            for _, slot, first_pos, count in prefills:  # their keys and values are in the cache now
                free.progress(slot, first_pos + count)
            for (_, s), token in zip(readout, logits.argmax(-1).tolist()):
                if token in stop:
                    s.finished = True
                else:
                    s.generated.append(token)
                    s.finished = len(s.generated) >= s.max_new
            finished = [s for _, s in readout if s.finished]
            for s in finished:
                active.remove(s)
                free.release(s.slot)
            done += len(finished)
            elapsed = time.monotonic() - started
            if finished and progress is not None and (done == n or elapsed - shown >= 5):
                shown = elapsed
                print(f"infer: {done}/{n} examples, {done / elapsed:.2f}/s", file=progress, flush=True)
    if stats is not None:
        stats.update(
            steps=steps,
            prompt_tokens=sum(len(s.prompt) for s in sequences if s.max_new > 0),
            prompt_tokens_computed=computed,
            generated_tokens=sum(len(s.generated) for s in sequences),
        )
    return [s.generated for s in sequences]


def _plan_prefill(s, budget, tokens, positions, writes, prefills, readout):
    """Add the next chunk of s's prompt to the step; returns the tokens it used."""
    count = min(budget, len(s.prompt) - s.computed)
    first, pos = len(tokens), s.computed
    prefills.append((first, s.slot, pos, count))
    tokens.extend(s.prompt[pos : pos + count])
    positions.extend(range(pos, pos + count))
    writes.extend((s.slot, p) for p in range(pos, pos + count))
    s.computed += count
    if s.computed == len(s.prompt):
        readout.append((first + count - 1, s))  # its first new token comes from the last prompt token
    return count
