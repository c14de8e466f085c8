"""Token buckets for requests-per-minute and tokens-per-minute limits, for asyncio.

Not a library limiter: the one in the dependency set (throttler, Snakemake's) counts calls
only, while a tokens-per-minute limit must reserve an estimate before a request and settle it
with the usage the server reports.
"""

import asyncio
import time


class TokenBucket:
    """Refills at `per_minute / 60` per second up to `capacity`; `acquire` waits for enough.

    The balance may go negative after `settle` (a request used more tokens than estimated);
    later acquirers then wait until the debt is paid back. Waiters are served in arrival
    order so a large request is not starved by small ones.
    """

    def __init__(self, per_minute, capacity=None, clock=time.monotonic):
        self.rate = per_minute / 60.0
        self.capacity = float(capacity if capacity is not None else max(1.0, self.rate))
        self.clock = clock
        self.level = self.capacity
        self.updated = clock()
        self._turn = asyncio.Lock()

    def _refill(self):
        now = self.clock()
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = now

    async def acquire(self, amount=1.0):
        # More than the bucket can ever hold would wait forever; take it once the bucket is full.
        amount = min(float(amount), self.capacity)
        async with self._turn:
            while True:
                self._refill()
                if self.level >= amount:
                    self.level -= amount
                    return
                await asyncio.sleep((amount - self.level) / self.rate)

    def settle(self, estimated, actual):
        """Correct an earlier `acquire(estimated)` with the amount really used."""
        self._refill()
        self.level = min(self.capacity, self.level + float(estimated) - float(actual))


class Unlimited:
    async def acquire(self, amount=1.0):
        return

    def settle(self, estimated, actual):
        return


def bucket(per_minute, capacity=None):
    return TokenBucket(per_minute, capacity) if per_minute else Unlimited()


def request_bucket(per_minute):
    # Capacity 1: requests are spaced evenly, never a burst that a strict server could refuse.
    return bucket(per_minute, capacity=1)


def estimate_tokens(messages, max_tokens):
    """Tokens a request may use before the server says: about 4 characters per prompt token."""
    prompt_chars = sum(len(m.get("content") or "") for m in messages)
    return prompt_chars // 4 + 8 * len(messages) + int(max_tokens)
