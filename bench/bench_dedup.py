"""ROUGE-L near-duplicate removal: the study's loop against shoplora's exact fast search.

1. On a subset small enough for the study's loop (the `rouge` package, every new task scored
   against every kept one) both run; their keep/drop decisions are asserted identical and
   the speed ratio printed (goal >= 100x).
2. On a larger subset (--check, default 20,000) shoplora's decisions and reported matches are
   asserted identical to an exact scan that checks every kept task (tests/helpers:
   `dice_scan`, a sparse overlap count and the exact scorer, none of the index's filters).
3. shoplora alone on --tasks tasks, peak RSS printed. Goals: 100,000 tasks <= 60 s; 1,000,000
   tasks <= 10 minutes and <= 8 GiB, on 2 cores. Progress goes to stderr.

--workers N runs steps 2 and 3 with curate.workers = N (the bounding split over this process
and N - 1 workers); the largest worker's peak RSS is printed too, and the memory goal is judged
on the peak of the whole process tree's proportional set size (Pss, sampled every 10 s: reading
a process's smaps_rollup takes the kernel ~0.08 s at 4 GiB, and sampling each second slowed a
million-task run from 921 s to 1,070 s), which counts each page that forked workers share with
this process once, not once per process.

Usage: bench/bench_dedup.py [--subset 250] [--check 20000] [--tasks 100000] [--scorer rouge] [--workers 1]
"""

import argparse
import contextlib
import hashlib
import io
import json
import os
import resource
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The study's loop (the reference the fast search must equal) is a test helper.
sys.path.insert(0, str(ROOT / "tests"))

from shoplora.config.schema import section_defaults  # noqa: E402
from shoplora.curation.curate import curate  # noqa: E402
from shoplora.curation.rouge import make_scorer  # noqa: E402

from helpers.rouge_reference import dice_scan, study_loop  # noqa: E402
from shopping_prompts import shopping_prompts  # noqa: E402

THRESHOLD = 0.7


def as_tasks(prompts):
    return [
        {"id": str(i), "input_field": p, "output_field": "x", "task_type": "generation", "source": "bench"}
        for i, p in enumerate(prompts)
    ]


def _pss_kib(pid):
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        return next(int(line.split()[1]) for line in rollup if line.startswith("Pss:"))


def _children(pid):
    """Child process ids (this kernel has no /proc/PID/task/TID/children: scan every stat)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone since the listing
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


class TreeMemory:
    """Peak summed Pss of this process and its children, sampled in a thread while in use."""

    def __init__(self, interval=10.0):
        self.interval, self.peak_kib, self.samples = interval, 0, 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while not self.stop.wait(self.interval):
            total = 0
            for pid in [os.getpid(), *_children(os.getpid())]:
                try:
                    total += _pss_kib(pid)
                except (OSError, StopIteration):
                    pass  # a worker that just ended holds no memory
            self.peak_kib = max(self.peak_kib, total)
            self.samples += 1

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def fast_decisions(prompts, scorer, progress=None, workers=1):
    cfg = section_defaults(
        "curate", near_duplicate_threshold=THRESHOLD, scorer=scorer, decontaminate=False, workers=workers
    )
    started = time.perf_counter()
    kept, dropped, report = curate([as_tasks(prompts)], [], cfg, progress=progress or io.StringIO())
    seconds = time.perf_counter() - started
    return {t["id"] for t in kept}, dropped, report, seconds


def decisions_digest(kept_ids, dropped):
    """A short hash of every decision: which tasks were kept, and each drop's reason and match."""
    drops = sorted(zip(dropped["id"], dropped["reason"], dropped["duplicate_of"].astype(str)))
    text = json.dumps([sorted(kept_ids, key=int), drops])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subset", type=int, default=250, help="tasks for the head-to-head run")
    parser.add_argument("--check", type=int, default=20_000, help="tasks checked against the exact scan")
    parser.add_argument("--tasks", "--n", type=int, default=100_000, help="tasks for the scale run")
    parser.add_argument("--scorer", default="rouge", choices=["rouge", "rouge-score"])
    parser.add_argument("--workers", type=int, default=1, help="curate.workers for the check and scale runs")
    args = parser.parse_args()

    prompts = shopping_prompts(max(args.subset, args.check, args.tasks), seed=0)
    print(f"prompts: median {statistics.median(len(p.split()) for p in prompts[:5000])} words")

    subset = prompts[: args.subset]
    started = time.perf_counter()
    reference = study_loop(subset, THRESHOLD, args.scorer)
    study_seconds = time.perf_counter() - started
    kept_ids, dropped, _, fast_seconds = fast_decisions(subset, args.scorer)
    reasons = dict(zip(dropped["id"], dropped["reason"]))
    for i, decision in enumerate(reference):
        if decision is None:
            assert str(i) in kept_ids, f"task {i}: the study keeps it, shoplora drops it ({reasons.get(str(i))})"
        else:
            assert str(i) not in kept_ids, f"task {i}: the study drops it, shoplora keeps it"
    print(
        f"head-to-head on {len(subset)} tasks ({args.scorer}): study loop {study_seconds:.2f} s, "
        f"shoplora {fast_seconds:.3f} s, identical decisions ({len(kept_ids)} kept)"
    )
    ratio = study_seconds / fast_seconds
    print(f"speed ratio {ratio:.0f}x (goal >= 100x): {'MET' if ratio >= 100 else 'NOT MET'}")

    check = prompts[: args.check]
    started = time.perf_counter()
    reference = dice_scan(check, THRESHOLD, make_scorer(args.scorer))
    scan_seconds = time.perf_counter() - started
    kept_ids, dropped, _, fast_seconds = fast_decisions(check, args.scorer, workers=args.workers)
    matched = dict(zip(dropped["id"], dropped["duplicate_of"]))
    for i, decision in enumerate(reference):
        expected = None if decision is None else str(decision[0])
        found = None if str(i) in kept_ids else matched.get(str(i))
        assert found == expected, f"task {i}: the exact scan says {expected}, shoplora {found}"
    print(
        f"check on {len(check)} tasks: exact scan {scan_seconds:.1f} s, shoplora {fast_seconds:.1f} s, "
        f"identical decisions and matches ({len(kept_ids)} kept)"
    )

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Only workers need the sampler (one process's ru_maxrss is exact); it costs a little time.
    tree = TreeMemory() if args.workers > 1 else contextlib.nullcontext()
    with tree:
        kept_ids, dropped, report, seconds = fast_decisions(
            prompts[: args.tasks], args.scorer, progress=sys.stderr, workers=args.workers
        )
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(
        f"scale: {args.tasks} tasks with {args.workers} worker(s) in {seconds:.1f} s, {len(kept_ids)} kept, "
        f"reasons {report['total']['reasons']}, {report['pairs_scored_exactly']} pairs scored exactly; "
        f"peak RSS {peak_gib:.2f} GiB (before {rss_before / 1024**2:.2f} GiB)"
    )
    print(f"decisions digest {decisions_digest(kept_ids, dropped)} (compare runs of the same --tasks and --scorer)")
    judged_gib, judged = peak_gib, "peak RSS"
    if args.workers > 1:  # a forked worker's RSS also counts the pages it still shares with this process
        worker_gib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
        print(f"largest worker's peak RSS {worker_gib:.2f} GiB")
        # The workers' memory is the run's too; Pss counts each shared page once.
        # No sample (a run shorter than the interval) judges as nan: NOT MET rather than 0 GiB.
        judged_gib = tree.peak_kib / 1024**2 if tree.samples else float("nan")
        judged = (
            f"peak Pss of this process and its {args.workers} workers "
            f"({tree.samples} samples, {tree.interval:.0f} s apart)"
        )
    goal = 60 * args.tasks / 100_000 if args.tasks <= 100_000 else 600 * args.tasks / 1_000_000
    print(
        f"scale time {seconds:.1f} s (goal <= {goal:.0f} s for {args.tasks} tasks): "
        f"{'MET' if seconds <= goal else 'NOT MET'}"
    )
    if args.tasks > 100_000:
        memory_goal = 8 * args.tasks / 1_000_000
        print(
            f"{judged} {judged_gib:.2f} GiB (goal <= {memory_goal:.1f} GiB for {args.tasks} tasks): "
            f"{'MET' if judged_gib <= memory_goal else 'NOT MET'}"
        )


if __name__ == "__main__":
    main()
