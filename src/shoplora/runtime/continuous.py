"""Continuous batching with a transformers model, on a CPU or a GPU.

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

`ContinuousEngine` runs one step at a time, so a caller can add, pause or cancel sequences
between steps (the local generation server, whose requests arrive while others run) and choose
each token itself (sampling, grammars). `generate_continuous` runs a fixed set of prompts
greedily to the end (inference).
"""

import os.path
import time
from collections import deque
from contextlib import contextmanager
from types import SimpleNamespace

ATTENTION = "shoplora_packed"
# The engine reads transformers internals (`_supports_attention_backend`, the attention
# interface, `config._attn_implementation`) that may change in any release: it runs only on the
# release line it was checked against, and infer falls back to padded batches elsewhere.
# transformers' own continuous batching gave the same answers at a third of this engine's
# speed on a 2-core CPU (bench/README.md, 2026-11-29), so it does not replace it yet.
WRITTEN_FOR = "5.6"
# The forward pass's keyword argument that carries its _Step down to _packed_attention:
# transformers passes unknown keyword arguments of `model(...)` on to the attention function.
STEP_KWARG = "shoplora_step"


class _Cache:
    """Keys and values per layer, [slots, kv_heads, max_len, head_dim], allocated on the
    first write so that their shapes come from the model's own projections."""

    def __init__(self, slots, max_len):
        self.slots, self.max_len = slots, max_len
        self.keys, self.values = {}, {}

    def ensure(self, length):
        """Room for `length` positions per slot: a server cannot know its longest request in
        advance, so the cache grows (doubling) when a longer one arrives."""
        if length <= self.max_len:
            return
        self.max_len = max(length, 2 * self.max_len)
        for store in (self.keys, self.values):
            for index, old in store.items():
                grown = old.new_zeros((*old.shape[:2], self.max_len, old.shape[3]))
                grown[:, :, : old.shape[2]] = old
                store[index] = grown

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

    step, layer = kwargs[STEP_KWARG], module.layer_idx
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
def packed_attention(model):
    """Inside, the model's attention reads and writes the engine's per-slot cache; every
    forward pass must then carry its _Step (ContinuousEngine.step does)."""
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


class Sequence:
    """One prompt being decoded. `owner` is the caller's: the engine never reads it."""

    def __init__(self, prompt, max_new, owner=None):
        self.prompt, self.max_new, self.owner = list(prompt), max_new, owner
        self.slot, self.computed, self.generated = None, 0, []
        self.finished = self.paused = False

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


def greedy(sequences, logits):
    """The default token choice: the most likely token of each row."""
    return logits.argmax(-1).tolist()


class ContinuousEngine:
    """Sequences join (`add`) and leave (finished, `cancel`) at every step; `pause` keeps a
    sequence's slot and cache but leaves it out of the steps until `resume`.

    slots: sequences decoded at once (each holds a key/value cache row); token_budget: tokens
    per forward pass. Not thread-safe: one thread calls every method.
    """

    def __init__(self, model, stop_ids, *, slots, token_budget, max_len=0, tuner=None):
        """tuner: a ThreadTuner (runtime/threads.py) told about each forward pass, or None."""
        self.model, self.stop, self.tuner = model, set(stop_ids), tuner
        self.device = next(model.parameters()).device
        self.token_budget = max(token_budget, slots + 1)
        self.cache = _Cache(slots, max_len)
        self.slots = _Slots(slots)
        self.waiting, self.active = deque(), []
        self.steps = self.prompt_tokens_computed = 0

    def add(self, sequence):
        if sequence.max_new <= 0:
            sequence.finished = True
            return
        self.cache.ensure(len(sequence.prompt) + sequence.max_new)
        self.waiting.append(sequence)

    def cancel(self, sequence):
        """Stop decoding `sequence` now; its slot is free for the next waiting one."""
        if sequence in self.waiting:
            self.waiting.remove(sequence)
        elif sequence in self.active:
            self.active.remove(sequence)
            self.slots.release(sequence.slot)
        sequence.finished = True

    def pause(self, sequence):
        sequence.paused = True

    def resume(self, sequence):
        sequence.paused = False

    @property
    def has_work(self):
        """True while a step would compute something."""
        return bool(self.waiting and self.slots.free) or any(not s.paused for s in self.active)

    def step(self, choose=greedy):
        """One forward pass. choose(sequences, logits [rows, vocab] as float32) -> one token id
        per row. Returns (sequence, token or None for a stop token) for every sequence that got
        a token; a finished sequence has left the engine."""
        import torch

        # Plan the step: one token per decoding sequence, then prompt chunks of sequences still
        # reading theirs, then new sequences while slots and budget last.
        plan = _Plan()
        running = [s for s in self.active if not s.paused]
        for s in running:
            if s.decoding:
                plan.decode(s)
        budget = self.token_budget - len(plan.tokens)
        for s in running:
            if not s.decoding and budget > 0:
                budget -= plan.prefill(s, budget)
        while self.waiting and self.slots.free and budget > 0:
            s = self.waiting.popleft()
            s.slot, s.computed = self.slots.take(s.prompt, self.cache)
            self.active.append(s)
            budget -= plan.prefill(s, budget)
        if not plan.tokens:
            return []
        self.prompt_tokens_computed += sum(count for _, _, _, count in plan.prefills)
        self.steps += 1
        step = _Step(self.cache, plan.writes, plan.decodes, plan.prefills, self.device)
        keep = torch.tensor([t for t, _ in plan.readout], dtype=torch.long, device=self.device)
        if self.tuner is not None:
            self.tuner.start()
        logits = self.model(
            input_ids=torch.tensor([plan.tokens], device=self.device),
            position_ids=torch.tensor([plan.positions], device=self.device),
            use_cache=False,
            logits_to_keep=keep,
            **{STEP_KWARG: step},
        ).logits[0]
        if self.tuner is not None:
            self.tuner.stop()
        for _, slot, first_pos, count in plan.prefills:  # their keys and values are in the cache now
            self.slots.progress(slot, first_pos + count)
        readout = [s for _, s in plan.readout]
        events = []
        for s, token in zip(readout, choose(readout, logits.float()) if readout else []):
            if token in self.stop:
                s.finished = True
                events.append((s, None))
            else:
                s.generated.append(token)
                s.finished = len(s.generated) >= s.max_new
                events.append((s, token))
            if s.finished:
                self.active.remove(s)
                self.slots.release(s.slot)
        return events


class _Plan:
    """The packed tokens of one step and where each goes."""

    def __init__(self):
        self.tokens, self.positions, self.writes = [], [], []
        self.decodes, self.prefills, self.readout = [], [], []

    def decode(self, s):
        pos = len(s.prompt) + len(s.generated) - 1
        self.decodes.append((len(self.tokens), s.slot, pos))
        self.readout.append((len(self.tokens), s))
        self.tokens.append(s.generated[-1])
        self.positions.append(pos)
        self.writes.append((s.slot, pos))

    def prefill(self, s, budget):
        """Add the next chunk of s's prompt; returns the tokens it used."""
        count = min(budget, len(s.prompt) - s.computed)
        first, pos = len(self.tokens), s.computed
        self.prefills.append((first, s.slot, pos, count))
        self.tokens.extend(s.prompt[pos : pos + count])
        self.positions.extend(range(pos, pos + count))
        self.writes.extend((s.slot, p) for p in range(pos, pos + count))
        s.computed += count
        if s.computed == len(s.prompt):
            self.readout.append((first + count - 1, s))  # its first new token comes from the last prompt token
        return count


def generate_continuous(
    model, prompts, max_new_tokens, stop_ids, choose=greedy, *, slots, token_budget, progress=None, stats=None
):
    """Greedy new token ids (stop tokens cut) for each prompt (a list of token ids).
    choose: as in ContinuousEngine.step, for rows adjusted before the choice (constrained
    answers); sequences carry their prompt's index as `owner`.
    stats: a dict to fill with steps, prompt_tokens, prompt_tokens_computed (the rest came
    from shared prefixes) and generated_tokens."""
    import torch

    n = len(prompts)
    sequences = [Sequence(p, m, owner=i) for i, (p, m) in enumerate(zip(prompts, max_new_tokens))]
    if not sequences:
        return []
    engine = ContinuousEngine(
        model,
        stop_ids,
        slots=max(1, min(slots, n)),
        token_budget=token_budget,
        max_len=max(len(s.prompt) + s.max_new for s in sequences),
    )
    # Longest answers first, so short ones fill in around them at the end; equal prompts
    # next to each other, so they share their prefixes.
    for s in sorted(sequences, key=lambda s: (-s.max_new, s.prompt)):
        engine.add(s)
    done, started, shown = sum(s.finished for s in sequences), time.monotonic(), 0.0
    with packed_attention(model), torch.no_grad():
        while engine.waiting or engine.active:
            finished = sum(s.finished for s, _ in engine.step(choose))
            done += finished
            elapsed = time.monotonic() - started
            if finished and progress is not None and (done == n or elapsed - shown >= 5):
                shown = elapsed
                print(f"infer: {done}/{n} examples, {done / elapsed:.2f}/s", file=progress, flush=True)
    if stats is not None:
        stats.update(
            steps=engine.steps,
            prompt_tokens=sum(len(s.prompt) for s in sequences if s.max_new > 0),
            prompt_tokens_computed=engine.prompt_tokens_computed,
            generated_tokens=sum(len(s.generated) for s in sequences),
        )
    return [s.generated for s in sequences]
