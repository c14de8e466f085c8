"""curate_sft: null/validity filtering, exact dedup, decontamination and ROUGE-L near-dedup."""

import contextlib
import gc
import sys
import time
from collections import Counter

from shoplora.curation.near_dup import TokenOrder
from shoplora.curation.rouge import make_scorer
from shoplora.curation.search import SingleProcessSearch, WorkerSearch
from shoplora.io.accounting import DropLog
from shoplora.tasks.validity import answer_text, invalid_reason


def normalised(text):
    """The exact-duplicate key: whitespace runs as one space, ends stripped, lower case."""
    # str.split() splits on the very characters re's \s matches, in C, several times faster.
    return " ".join(str(text).split()).lower()


def compared_text(task, field):
    value = task[field]
    return value if isinstance(value, str) else answer_text(value)


def _greedy(task_lists, eval_tasks, cfg, scorer, search, progress):
    """The greedy pass: (kept tasks, DropLog, rows in, rows kept, contaminated per eval type)."""
    field = cfg["compare_field"]
    check_contamination, near_dedup = cfg["decontaminate"], cfg["near_dedup"]
    started = time.perf_counter()
    ordered = [t for tasks in task_lists for t in tasks]
    reasons = [invalid_reason(t) for t in ordered]
    parsed = [None if r else scorer.parse(compared_text(t, field)) for t, r in zip(ordered, reasons)]
    eval_parsed = [scorer.parse(compared_text(t, field)) for t in eval_tasks] if check_contamination else []
    search.prepare(
        TokenOrder(scorer.signature(p) for p in parsed + eval_parsed if p is not None),
        [(t["id"], p) for t, p in zip(eval_tasks, eval_parsed)],
        parsed,
    )
    eval_type = {t["id"]: t["task_type"] for t in eval_tasks}

    drops = DropLog()
    kept, seen = [], {}
    rows_in, rows_kept, contaminated = Counter(), Counter(), Counter()
    step = max(1, len(ordered) // 20)
    for n, (task, reason) in enumerate(zip(ordered, reasons)):
        source = task["source"]
        rows_in[source] += 1
        if (n + 1) % step == 0:
            print(
                f"curate: {n + 1}/{len(ordered)} checked, {len(kept)} kept, {time.perf_counter() - started:.1f} s",
                file=progress,
                flush=True,
            )
        if reason:
            drops.drop(task.get("id"), source, reason)
            continue
        key = normalised(compared_text(task, field))
        if key in seen:
            drops.drop(task["id"], source, "exact_duplicate", duplicate_of=seen[key])
            continue
        entry = search.entry(n, task["id"], parsed[n])
        if check_contamination:
            hit = search.contamination(n, entry)
            if hit:
                drops.drop(task["id"], source, "contaminated", duplicate_of=hit[0], score=hit[1])
                contaminated[eval_type[hit[0]]] += 1
                continue
        hit = search.near_duplicate(n, entry) if near_dedup else None
        if hit:
            drops.drop(task["id"], source, "near_duplicate", duplicate_of=hit[0], score=hit[1])
            continue
        seen[key] = task["id"]
        kept.append(task)
        search.keep(n, entry)
        rows_kept[source] += 1
    return kept, drops, rows_in, rows_kept, contaminated


def _search(task_lists, eval_tasks, cfg, scorer, progress):
    """_greedy's results and (pairs bounded, pairs scored), with the search the config asks for."""
    # The search's workers are forked before the parse (see WorkerSearch).
    if cfg["workers"] > 1:
        search = WorkerSearch(cfg["workers"], scorer, cfg)
    else:
        search = SingleProcessSearch(scorer, cfg["near_duplicate_threshold"])
    try:
        results = _greedy(task_lists, eval_tasks, cfg, scorer, search, progress)
    except (OSError, EOFError) as err:
        # A worker that failed leaves this process a broken pipe: report the worker's error.
        failure = search.worker_failure()
        with contextlib.suppress(Exception):  # the error to report is the one above
            search.close()
        if failure:
            raise RuntimeError(f"curate: a search worker stopped: {failure}") from err
        raise
    except BaseException:
        with contextlib.suppress(Exception):
            search.close()
        raise
    pairs = search.close()
    # The search's indexes are freed on return, before the collector resumes and would
    # otherwise walk them once.
    return results, pairs


@contextlib.contextmanager
def _cyclic_gc_paused():
    """Pause Python's cyclic garbage collector for the search, and restore it after.

    The search holds every task's parsed text, and the split search (workers > 1) creates
    millions of short-lived posting lists, since it indexes each block's tasks afresh. The
    collector's full passes walk that whole heap: at 100,000 tasks with 2 processes they took
    about a quarter of the run. The search makes no reference cycles, so reference counting
    frees all it drops; a worker forked here inherits the pause.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def curate(task_lists, eval_tasks, cfg, progress=sys.stderr):
    """Keep tasks in greedy order (seeds, then sources in config order, then request order).

    Returns (kept tasks, drop frame, report dict).
    """
    field = cfg["compare_field"]
    threshold = cfg["near_duplicate_threshold"]
    scorer = make_scorer(cfg["scorer"], cfg["tokenizer"])
    started = time.perf_counter()
    with _cyclic_gc_paused():
        (kept, drops, rows_in, rows_kept, contaminated), (pairs_bounded, pairs_scored) = _search(
            task_lists, eval_tasks, cfg, scorer, progress
        )
    report = drops.summary(dict(rows_in), dict(rows_kept))
    report["contaminated_by_eval_task_type"] = dict(sorted(contaminated.items()))
    report.update(
        threshold=threshold,
        compare_field=field,
        scorer=scorer.name,
        tokenizer=cfg["tokenizer"],
        workers=cfg["workers"],
        pairs_scored_exactly=pairs_scored,
        pairs_bounded=pairs_bounded,
        seconds=round(time.perf_counter() - started, 3),
    )
    return kept, drops.frame(), report
