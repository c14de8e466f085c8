"""Constrained decoding: multiple-choice, ranking and retrieval answers written only with
digits, commas and spaces, as the KDD Cup 2024 winners did."""

ANSWER_CHARS = frozenset("0123456789, ")


def answer_token_ids(tokenizer, stop_ids):
    """Token ids whose text is only digits, commas and spaces, plus the stop tokens."""
    texts = tokenizer.batch_decode([[token_id] for token_id in range(len(tokenizer))])
    allowed = {i for i, text in enumerate(texts) if text and set(text) <= ANSWER_CHARS}
    return sorted(allowed | set(stop_ids))


class AnswerCharsOnly:
    """Logits processor: rows flagged constrained may only pick the allowed token ids."""

    def __init__(self, allowed_ids, constrained_rows):
        import torch

        self.allowed = torch.tensor(allowed_ids, dtype=torch.long)
        self.rows = torch.tensor(constrained_rows, dtype=torch.bool)
        self.mask = None

    def __call__(self, input_ids, scores):
        return self.apply(scores)

    def apply(self, scores, rows=None):
        """rows: which constrained_rows entry each scores row is (None: the same order)."""
        import torch

        if self.mask is None or self.mask.shape[-1] != scores.shape[-1]:
            self.mask = torch.full((scores.shape[-1],), float("-inf"), device=scores.device)
            self.mask[self.allowed.to(scores.device)] = 0.0
        rows = (self.rows if rows is None else self.rows[rows]).to(scores.device)
        if rows.any():
            scores[rows] = scores[rows] + self.mask
        return scores
