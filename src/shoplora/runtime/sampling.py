"""Choosing each sequence's next token: an optional grammar (xgrammar), repetition penalty,
temperature and top-p, as `model.generate` applies them, with one random generator per
sequence so that an answer does not depend on which requests it was batched with."""

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 1.0
    top_p: float = 1.0
    repetition_penalty: float = 1.0
    seed: int | None = None


class Sampler:
    """The next-token choice of one sequence. grammar: an xgrammar CompiledGrammar or None."""

    def __init__(self, params, prompt_ids, grammar=None, vocab_size=None):
        import torch

        self.params = params
        self.seen = set(prompt_ids)  # repetition penalty covers the prompt too, as in transformers
        self.matcher = self.bitmask = None
        if grammar is not None:
            import xgrammar

            self.matcher = xgrammar.GrammarMatcher(grammar)
            self.bitmask = xgrammar.allocate_token_bitmask(1, vocab_size)
        self.generator = None
        if params.temperature > 0:
            seed = params.seed if params.seed is not None else int.from_bytes(os.urandom(8), "little") >> 1
            self.generator = torch.Generator().manual_seed(seed)

    def choose(self, logits):
        """logits: float32 [vocab] (changed in place); returns the chosen token id."""
        import torch

        if self.matcher is not None:
            import xgrammar

            self.matcher.fill_next_token_bitmask(self.bitmask)
            xgrammar.apply_token_bitmask_inplace(logits[None], self.bitmask.to(logits.device))
        penalty = self.params.repetition_penalty
        if penalty != 1.0 and self.seen:
            ids = torch.tensor(sorted(self.seen), dtype=torch.long, device=logits.device)
            scores = logits[ids]
            logits[ids] = torch.where(scores < 0, scores * penalty, scores / penalty)
        if self.generator is None:
            token = int(logits.argmax())
        else:
            probs = self._top_p(logits / self.params.temperature).cpu()
            token = int(torch.multinomial(probs, 1, generator=self.generator))
        self.seen.add(token)
        if self.matcher is not None and not self.matcher.accept_token(token):
            raise RuntimeError(f"the grammar refused token {token} that its own mask allowed")
        return token

    def _top_p(self, logits):
        """Probabilities with the least likely tokens beyond top_p of the mass set to zero
        (at least one token kept), as transformers' TopPLogitsWarper."""
        import torch

        top_p = self.params.top_p
        if top_p < 1.0:
            ordered, order = torch.sort(logits, descending=False)
            cumulative = ordered.softmax(-1).cumsum(-1)
            remove = cumulative <= 1 - top_p
            remove[-1] = False
            logits = logits.clone()
            logits[order[remove]] = float("-inf")
        return logits.softmax(-1)
