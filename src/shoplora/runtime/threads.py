"""Torch's thread count chosen by measured step time, for a machine that other work shares.

On an idle 2-core machine two threads decode a step of the default's generation in 182 ms and
one in 238 ms. Beside one CPU-bound process, two threads take 618 ms and one 214 ms, and a
256-token prompt step takes about 10 s on two threads: each thread waits for the other at
every parallel region while the scheduler runs the other process. Neither count is right
everywhere, so the engine measures. It starts on one thread (never the catastrophic case),
tries the other count for `probe` steps once it has `probe` steps to compare with, and keeps
whichever was faster; a probe that loses waits twice as long before the next, up to
`longest` steps, so a loaded machine rarely pays for one. The thread count does not change
the tokens here (bench/README.md), so the choice never changes an answer.
"""

import time
from collections import deque


class ThreadTuner:
    """Call `start()` before a forward pass and `stop()` after it.

    counts: the thread counts to choose between, the first used first (default: 1, then
    torch's count); set_threads: how a count is applied (torch.set_num_threads by default).
    A probe must be `margin` faster to win, so that noise does not flip the choice.
    """

    def __init__(self, counts=None, probe=3, every=24, longest=768, margin=0.9, set_threads=None, clock=None):
        import torch

        self.counts = list(counts) if counts is not None else sorted({1, torch.get_num_threads()})
        self.set_threads = set_threads or torch.set_num_threads
        self.probe, self.every, self.longest, self.margin = probe, every, longest, margin
        self.clock = clock or time.perf_counter
        self.current, self.trying = self.counts[0], None
        self.recent = deque(maxlen=probe)  # the last step times at `current`
        self.probed, self.wait, self.next_probe = [], every, probe
        self.steps = self.switches = 0
        self.started = None
        self.set_threads(self.current)

    def start(self):
        if len(self.counts) > 1 and self.trying is None and self.steps >= self.next_probe:
            self.trying = self.counts[(self.counts.index(self.current) + 1) % len(self.counts)]
            self.probed = []
            self.set_threads(self.trying)
        self.started = self.clock()

    def stop(self):
        elapsed = self.clock() - self.started
        self.steps += 1
        if self.trying is None:
            self.recent.append(elapsed)
            return
        self.probed.append(elapsed)
        if len(self.probed) < self.probe:
            return
        if sum(self.probed) < self.margin * sum(self.recent):
            self.current, self.switches, self.wait = self.trying, self.switches + 1, self.every
            self.recent = deque(self.probed, maxlen=self.probe)
        else:
            self.wait = min(2 * self.wait, self.longest)
        self.trying = None
        self.next_probe = self.steps + self.wait
        self.set_threads(self.current)
