"""Live progress of a provider's requests: done/total, rates, errors by kind, cost so far."""

import sys
import time


class Progress:
    """Redraws one line on a terminal; writes a plain line every `log_every_s` into a log file.

    Not tqdm: into a file tqdm separates its redraws with carriage returns (100 updates: 102
    "\\r", one newline), so a Snakemake or Slurm log shows one ever-growing line.
    """

    def __init__(self, name, total, prices, stream=sys.stderr, log_every_s=10.0):
        self.name, self.total, self.prices, self.stream = name, total, prices, stream
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.interval = 0.2 if self.tty else log_every_s
        self.started = time.monotonic()
        self.last = 0.0

    def cost(self, stats):
        return (
            stats["prompt_tokens"] / 1e6 * self.prices["input"]
            + stats["completion_tokens"] / 1e6 * self.prices["output"]
        )

    def line(self, stats):
        elapsed = max(time.monotonic() - self.started, 1e-9)
        done = stats["success"] + stats["failure"]
        tokens = stats["prompt_tokens"] + stats["completion_tokens"]
        errors = ", ".join(f"{k}={v}" for k, v in sorted(stats["errors"].items())) or "none"
        width = 20
        filled = int(width * done / self.total) if self.total else width
        parts = stats.get("streamed_parts", 0)
        streamed = f" | streamed {parts} parts, {parts / elapsed:.1f}/s" if parts else ""
        return (
            f"[{self.name}] |{'#' * filled}{'.' * (width - filled)}| {done}/{self.total} requests "
            f"{done / elapsed:.1f} req/s {tokens / elapsed:.0f} tok/s{streamed} | failed {stats['failure']} | "
            f"errors {errors} | cost ${self.cost(stats):.4f}"
        )

    def update(self, stats, force=False):
        now = time.monotonic()
        if not force and now - self.last < self.interval:
            return
        self.last = now
        if self.tty:
            self.stream.write("\r" + self.line(stats) + "\x1b[K")
        else:
            self.stream.write(self.line(stats) + "\n")
        self.stream.flush()

    def close(self, stats):
        self.update(stats, force=True)
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
