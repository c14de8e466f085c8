"""The record of one request's outcome: what the response cache stores and parse_generated reads."""

from dataclasses import dataclass, field

# What the parser needs to know about the request behind a response.
REQUEST_FACTS = ("task_type", "output", "tasks_asked")


@dataclass(frozen=True)
class RequestOutcome:
    id: str
    status: str  # "success" or "failure"
    attempts: int
    latency_s: float
    seed_ids: list
    facts: dict = field(default_factory=dict)  # REQUEST_FACTS the request had
    # A success: the answer, and what says whether a token budget cut it.
    usage: dict | None = None
    finish_reason: str | None = None
    text: str | None = None
    max_tokens: int | None = None
    # A failure: why the last try failed (http_503, timeout, stream_cut:..., ...).
    error: str | None = None

    @classmethod
    def success(cls, request, attempts, latency_s, choice, usage, max_tokens):
        text = choice["message"]["content"]
        if not isinstance(text, str):
            raise TypeError("message content is not text")
        return cls(
            request["id"], "success", attempts, round(latency_s, 3), request["seed_ids"], _facts(request),
            usage=usage or {}, finish_reason=choice.get("finish_reason"), text=text, max_tokens=max_tokens,
        )  # fmt: skip

    @classmethod
    def failure(cls, request, attempts, latency_s, error):
        return cls(request["id"], "failure", attempts, round(latency_s, 3), request["seed_ids"], _facts(request),
                   error=error)  # fmt: skip

    def to_record(self):
        """The cache's JSON record: the fields of its status, the request facts at the top level."""
        common = {"id": self.id, "status": self.status, "attempts": self.attempts, "latency_s": self.latency_s}
        if self.status == "success":
            own = {"usage": self.usage, "finish_reason": self.finish_reason, "text": self.text,
                   "seed_ids": self.seed_ids, "max_tokens": self.max_tokens}  # fmt: skip
        else:
            own = {"error": self.error, "seed_ids": self.seed_ids}
        return {**common, **own, **self.facts}


def _facts(request):
    return {key: request[key] for key in REQUEST_FACTS if key in request}
