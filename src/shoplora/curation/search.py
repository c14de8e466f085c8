"""Where curate_sft looks for a task's earliest near-duplicate: one process, or several.

The greedy decisions need, for each task in order, the earliest kept task (and any eval task)
it duplicates. Both searches answer the same small protocol, which `curate` drives task by
task in order (n: a task's place in the whole run): `prepare(order, eval_items, parsed)`
once, then per task `entry(n, key, parsed)`, `contamination(n, entry)`,
`near_duplicate(n, entry)` and `keep(n, entry)`, and `close()` for the pair counts.
`SingleProcessSearch` asks one NearDuplicateIndex of everything kept so far.

`WorkerSearch` (curate.workers = N > 1) splits the bounding, the part whose cost grows with the
kept set, over the main process and N - 1 forked workers; each holds a share of the kept tasks'
bit masks and posting lists, not their texts. Tasks are searched in blocks, pipelined: while
the main process scores block k, the workers bound block k + 1 against their shares of the
tasks kept before block k. For every task of a block each process lists the kept tasks of its
share that every bound lets through, named by their place in the kept order. The main process
merges the lists into kept order and scores them exactly, in that order, as a plain loop would;
then it checks the task against a small index of the tasks kept in the block before and of the
block's own tasks (those kept before the task count), which come after all of those. Decisions,
reported matches and the near-duplicate pairs scored are therefore the single-process search's
(the workers' eval checks also cover tasks that turn out to be exact duplicates, which one
process skips); only the bounding, and its memory, is split. New kept tasks go to the workers,
by their measured rate, and to the main process only while the workers are behind: it alone
merges and scores.
"""

import contextlib
import gc
import multiprocessing
import pickle
import time
from array import array
from typing import NamedTuple

import numpy as np

from shoplora.curation.near_dup import Entry, NearDuplicateIndex
from shoplora.curation.rouge import make_scorer


def _index(scorer, threshold, order, items=()):
    """A NearDuplicateIndex holding `items`, (key, parsed) pairs."""
    index = NearDuplicateIndex(scorer, threshold, order)
    for key, parsed in items:
        index.add(index.entry(key, parsed))
    return index


def _pair_counts(*indexes):
    """(pairs bounded, pairs scored exactly) over the indexes, for the curation report."""
    return sum(i.pairs_bounded for i in indexes), sum(i.pairs_scored for i in indexes)


class SingleProcessSearch:
    def __init__(self, scorer, threshold):
        self.scorer, self.threshold = scorer, threshold
        self.kept = self.evals = None

    def prepare(self, order, eval_items, parsed):
        """Start searching with `order`'s bit tokens; eval_items are (key, parsed) pairs;
        parsed: every task's parsed text in run order (None for an invalid task)."""
        self.kept = _index(self.scorer, self.threshold, order)
        self.evals = _index(self.scorer, self.threshold, order, eval_items)

    def entry(self, n, key, parsed):
        return self.kept.entry(key, parsed)

    def contamination(self, n, entry):
        return self.evals.first_match(entry)

    def near_duplicate(self, n, entry):
        return self.kept.first_match(entry)

    def keep(self, n, entry):
        self.kept.add(entry)

    def close(self):
        return _pair_counts(self.kept, self.evals) if self.kept else (0, 0)

    def worker_failure(self):
        return None  # no workers


BLOCK_TASKS = 2048
# Below this many tasks this process's own bounding time per task is mostly fixed cost.
_MEASURED_SHARE = 1000


class _Smoothed:
    """An exponential moving average of a per-block figure: single blocks are noisy.

    value: where it starts; None starts at the first figure (and stays None until one)."""

    def __init__(self, weight=0.3, value=0.0):
        self.weight, self.value = weight, value

    def add(self, x):
        self.value = x if self.value is None else self.value + self.weight * (x - self.value)


def _overlaps(share, places, candidates):
    """Per candidate: (kept-order positions, overlaps) that `share` lets through, packed.

    One flat array of positions, one of overlaps and the offsets between candidates: a few
    large arrays cross a pipe much faster than thousands of small ones.
    """
    local, shared, counts = share.overlapping_many(candidates)
    offsets = [0, *np.cumsum(counts).tolist()]
    # places[i]: the kept-order position of the share's i-th task
    in_kept_order = np.frombuffer(places, dtype=np.int32) if len(places) else np.zeros(0, dtype=np.int32)
    # int32: half the bytes to send and merge
    return in_kept_order[local], shared.astype(np.int32), offsets


# The messages between curate and a worker. Each is pickled once by the sender; an empty
# message (_STOP) ends the worker, which answers with its _PairCounts.
class _Setup(NamedTuple):
    order: object  # the TokenOrder every index shares
    eval_items: list  # (key, parsed) of every eval task


class _Block(NamedTuple):
    additions: list  # (kept-order position, signature parts) of kept tasks dealt to this worker
    block: bytes  # the pickled tasks to bound: signature parts, plus parsed text for its eval checks


class _Bounds(NamedTuple):
    found: tuple  # _overlaps() of the block against this worker's share
    contaminated: list  # per task: the eval match, for the tasks this worker checks
    bounding_seconds: float
    other_seconds: float


class _PairCounts(NamedTuple):
    bounded: int
    scored: int


class _Failed(NamedTuple):
    error: str  # what stopped the worker, sent before it exits (curate then reports it)


_STOP = b""


def _serve(conn, worker, workers, scorer_name, tokenizer, threshold):
    """A worker: its share of the kept tasks, every eval task; answers blocks until told to stop.
    An error is sent to curate before the worker exits: curate would otherwise see only the
    broken pipe."""
    try:
        _answer_blocks(conn, worker, workers, scorer_name, tokenizer, threshold)
    except Exception as err:
        with contextlib.suppress(OSError):
            conn.send(_Failed(f"{type(err).__name__}: {err}"))
        raise


def _answer_blocks(conn, worker, workers, scorer_name, tokenizer, threshold):
    scorer = make_scorer(scorer_name, tokenizer)
    message = conn.recv_bytes()
    if message == _STOP:  # stopped before the search began
        conn.send(_PairCounts(0, 0))
        return
    setup = pickle.loads(message)
    share = NearDuplicateIndex(scorer, threshold, setup.order, scoring=False)
    places = array("i")  # kept-order position of each task in the share
    evals = _index(scorer, threshold, setup.order, setup.eval_items)
    while True:
        message = conn.recv_bytes()
        if message == _STOP:
            conn.send(_PairCounts(*_pair_counts(evals)))
            return
        started = time.thread_time()
        additions, block = pickle.loads(message)
        block = pickle.loads(block)
        for position, parts in additions:
            share.add(Entry.from_parts(parts))
            places.append(position)
        candidates = [parts and Entry.from_parts(parts[:3], parsed=parts[3]) for parts in block]
        # Each eval check is done once, by the worker the task's place in the block names.
        contaminated = [
            evals.first_match(entry) if j % workers == worker else None for j, entry in enumerate(candidates)
        ]
        bounding_started = time.thread_time()
        found = _overlaps(share, places, candidates)
        bounding = time.thread_time() - bounding_started
        conn.send(_Bounds(found, contaminated, bounding, bounding_started - started))


class WorkerSearch:
    def __init__(self, processes, scorer, cfg):
        """Fork the workers. Do it before the tasks are parsed: a worker's allocations land in
        free slots of the heap it inherited, copying each page they touch, so the smaller that
        heap the less memory the workers take (at 300,000 tasks a worker forked after the parse
        added 0.87 GiB to the tree's Pss, one forked before it 0.35 GiB)."""
        threshold = cfg["near_duplicate_threshold"]
        self.scorer, self.threshold, self.block = scorer, threshold, BLOCK_TASKS
        self.workers = processes - 1
        # The run, set by prepare: every task's parsed text, the bit-token order, whether
        # there are eval tasks, this process's share of the kept tasks (and their kept-order
        # positions), every kept entry in kept order (what merged positions name), and the
        # index that scores the merged lists exactly.
        self.parsed = self.order = self.share = self.scoring = None
        self.evaluated = False
        self.share_places = array("i")
        self.kept = []
        # The block being searched, [block_start, block_stop): its entries, each task's merged
        # (positions, overlaps), its eval matches, which of its tasks are kept so far, and the
        # (position, entry) of those; the next block's entries and this process's bounds of
        # it, sent ahead; the index of the block before's kept tasks and this block's tasks.
        self.block_start = self.block_stop = 0
        self.entries, self.merged, self.contaminated = [], [], []
        self.kept_in_block, self.block_kept = [], []
        self.sent_entries, self.own_found, self.own_bounding = [], None, 0.0
        self.recent, self.recent_before, self.recent_tasks, self.recent_found = None, 0, [], None
        self.past_blocks = []  # finished block indexes' pair counts, for the report
        self.pending = [[] for _ in range(self.workers)]
        self.in_flight = 0  # blocks sent to the workers and not yet answered
        # To deal new kept tasks (see _deal): the kept tasks each worker holds and how many it
        # bounds per second (None until measured), and CPU seconds per block, smoothed: this
        # process's bounding and its other work, the workers' bounding and their other work.
        self.held = [0] * self.workers
        self.rate = [_Smoothed(value=None) for _ in range(self.workers)]
        self.main_bounding, self.main_other = _Smoothed(), _Smoothed()
        self.workers_bounding, self.workers_other = _Smoothed(), _Smoothed()
        self.cycle_mark = None
        # fork: spawn and forkserver import the main module again in each worker, and under
        # Snakemake that module is the curate_sft script itself. Objects that exist now are
        # frozen out of the garbage collector so that the workers' collections do not write to
        # (and so copy) the pages they share with this process (curate() pauses the collector
        # anyway; this covers a WorkerSearch used on its own).
        context = multiprocessing.get_context("fork")
        self.connections, self.processes = [], []
        gc.freeze()
        try:
            for worker in range(self.workers):
                parent, child = context.Pipe()
                args = (child, worker, self.workers, cfg["scorer"], cfg["tokenizer"], threshold)
                process = context.Process(target=_serve, args=args, daemon=True, name=f"curate-worker-{worker}")
                process.start()
                child.close()
                self.connections.append(parent)
                self.processes.append(process)
        except BaseException:
            self.terminate()
            raise
        finally:
            gc.unfreeze()

    def prepare(self, order, eval_items, parsed):
        """Start searching with `order`'s bit tokens; eval_items are (key, parsed) pairs;
        parsed: every task's parsed text in run order (None for an invalid task)."""
        self.parsed, self.order = parsed, order
        self.evaluated = bool(eval_items)
        self.share = NearDuplicateIndex(self.scorer, self.threshold, order, scoring=False)
        self.scoring = NearDuplicateIndex(self.scorer, self.threshold, order)
        message = pickle.dumps(_Setup(order, eval_items), protocol=pickle.HIGHEST_PROTOCOL)
        for connection in self.connections:
            connection.send_bytes(message)

    def _place(self, n):
        """Task n's place in its block, starting the blocks up to the one that holds it."""
        while n >= self.block_stop:
            start = self.block_stop
            self.block_stop = min(start + self.block, len(self.parsed))
            self.block_start = start
            self._start_block(start, self.block_stop)
        return n - self.block_start

    def _start_block(self, start, stop):
        """Collect the bounds of block [start, stop), send the next block out, merge the lists.

        The workers bound the next block while this process scores this one, so the next
        block is bounded against the tasks kept before this one; the tasks kept in this block
        and the one before it are checked in a small index of their own (`_bound_recent`).
        """
        # Thread CPU time: it leaves out waiting, and any other thread of this process.
        now = time.thread_time()
        if self.cycle_mark is not None:
            self.main_other.add(now - self.cycle_mark - self.own_bounding)
        self.cycle_mark = now
        parsed = self.parsed
        if start == 0:
            self._send(self._prepare(parsed[start:stop]))
        # Ready the next block before collecting this one: a worker waits from its answer to it.
        following = self._prepare(parsed[stop : stop + self.block]) if stop < len(parsed) else None
        found = self._receive()
        previous_kept, self.block_kept = self.block_kept, []
        self._deal(previous_kept)
        self.entries = self.sent_entries
        found.append(self.own_found)
        if following:
            self._send(following)
        if self.recent is not None:
            self.past_blocks.append(_pair_counts(self.recent))
        self._bound_recent(previous_kept)
        self.merged = [self._merge(found, j) for j in range(stop - start)]

    def _bound_recent(self, previous_kept):
        """Index the tasks kept in the block before and every task of this block, and bound
        this block's tasks against it at once.

        A task's earlier kept tasks in this block are only known as the search goes, so the
        index holds all of the block's tasks and `_recent_match` skips those after the task
        or not kept: bounded together, the block's tasks share numpy calls that one task at a
        time would pay for each.
        """
        recent = self.recent = NearDuplicateIndex(self.scorer, self.threshold, self.order)
        for _, entry in previous_kept:
            recent.add(entry)
        self.recent_before = recent.count  # positions below: kept in the block before
        self.recent_tasks = []  # this block's task of each position from recent_before on
        for j, entry in enumerate(self.entries):
            if entry is not None:
                recent.add(entry)
                self.recent_tasks.append(j)
        self.kept_in_block = [False] * len(self.entries)
        positions, overlaps, counts = recent.overlapping_many(self.entries)
        self.recent_found = positions.tolist(), overlaps.tolist(), [0, *np.cumsum(counts).tolist()]

    def _prepare(self, parsed_block):
        """A block's entries, and each worker's pickled part of it."""
        entries = [self.share.entry(None, parsed) for parsed in parsed_block]
        parts = [entry and entry.signature_parts() for entry in entries]
        messages = []
        for worker in range(self.workers):
            # A worker needs a task's parsed text only for the eval checks it does.
            block = [
                p and (*p, parsed if self.evaluated and j % self.workers == worker else None)
                for j, (p, parsed) in enumerate(zip(parts, parsed_block))
            ]
            messages.append(pickle.dumps(block, protocol=pickle.HIGHEST_PROTOCOL))
        return entries, messages

    def _send(self, prepared):
        """Send a prepared block to the workers, with the kept tasks dealt to them; bound it here."""
        entries, messages = prepared
        for connection, additions, block in zip(self.connections, self.pending, messages):
            connection.send_bytes(pickle.dumps(_Block(additions, block), protocol=pickle.HIGHEST_PROTOCOL))
        self.pending = [[] for _ in range(self.workers)]
        self.in_flight += 1
        self.sent_entries = entries
        started = time.thread_time()
        self.own_found = _overlaps(self.share, self.share_places, entries)
        self.own_bounding = time.thread_time() - started
        self.main_bounding.add(self.own_bounding)

    def _receive(self):
        """The workers' lists for the block sent first; sets `contaminated` and times the workers."""
        found, busy, other = [], [], []
        self.contaminated = None
        for worker, connection in enumerate(self.connections):
            try:
                reply = connection.recv()
            except EOFError:
                raise RuntimeError(f"curate: search worker {worker} stopped (its traceback is above)") from None
            if isinstance(reply, _Failed):
                raise RuntimeError(f"curate: a search worker stopped: {reply.error}")
            found.append(reply.found)
            busy.append(reply.bounding_seconds)
            other.append(reply.other_seconds)
            if self.contaminated is None:
                self.contaminated = list(reply.contaminated)
            for j, hit in enumerate(reply.contaminated):
                self.contaminated[j] = self.contaminated[j] or hit
        self.in_flight -= 1
        self._measure(busy)
        self.workers_bounding.add(sum(busy))
        self.workers_other.add(max(other))
        return found

    @staticmethod
    def _merge(found, j):
        """Task j's positions and overlaps over every share, as lists in kept order."""
        segments = [(f[0][f[2][j] : f[2][j + 1]], f[1][f[2][j] : f[2][j + 1]]) for f in found]
        segments = [segment for segment in segments if len(segment[0])]
        if not segments:
            return [], []
        if len(segments) == 1:  # one share's list is in kept order already
            return segments[0][0].tolist(), segments[0][1].tolist()
        positions = np.concatenate([segment[0] for segment in segments])
        overlaps = np.concatenate([segment[1] for segment in segments])
        order = np.argsort(positions)
        return positions[order].tolist(), overlaps[order].tolist()

    def _measure(self, busy):
        """Each worker's kept tasks bounded per CPU second, smoothed over blocks."""
        for w, seconds in enumerate(busy):
            if self.held[w] and seconds > 0:
                self.rate[w].add(self.held[w] / seconds)

    def _projected_seconds(self, w):
        """Worker w's seconds per block if it took one more kept task (0 until measured)."""
        rate = self.rate[w].value
        return 0.0 if rate is None else (self.held[w] + 1) / rate

    def _main_fraction(self):
        """The fraction of the kept tasks this process should bound, to finish level with the workers.

        A kept task stays in its share to the end, so the shares are dealt for the whole run,
        not for the next block. Per block this process spends o * K seconds on everything but
        its bounding (merging, scoring and parsing; the part that grows does so with K, the
        kept tasks) and b_m seconds per task of its share; each of the W workers c_w seconds
        on fixed work and b_w seconds per task it holds. If this process holds a fraction f of
        the K tasks, the sides are level when o + b_m * f = c_w / K + b_w * (1 - f) / W.
        """
        held = sum(self.held)
        if not held or not self.workers_bounding.value or not self.kept:
            return 0.0  # nothing measured yet: the workers take the tasks
        per_worker_task = self.workers_bounding.value / held
        mine = len(self.share_places)
        per_own_task = self.main_bounding.value / mine if mine >= _MEASURED_SHARE else per_worker_task
        k, w = len(self.kept), self.workers
        level = per_worker_task / w + self.workers_other.value / k - self.main_other.value / k
        return min(1.0, max(0.0, level / (per_own_task + per_worker_task / w)))

    def _deal(self, kept):
        """Give (position, entry) pairs to the shares that will bound against them: this process
        keeps its fraction (_main_fraction) of the kept tasks, the worker that would then take
        the least time gets each of the others."""
        fraction = self._main_fraction()
        for position, entry in kept:
            if len(self.share_places) < fraction * (position + 1):
                self.share.add(entry)
                self.share_places.append(position)
            else:
                w = min(range(self.workers), key=self._projected_seconds)
                self.held[w] += 1
                self.pending[w].append((position, entry.signature_parts()))

    def entry(self, n, key, parsed):
        j = self._place(n)  # first: it may start a block and replace self.entries
        entry = self.entries[j]
        if entry is not None:
            entry.key = key
        return entry

    def contamination(self, n, entry):
        j = self._place(n)
        return self.contaminated[j]

    def near_duplicate(self, n, entry):
        j = self._place(n)
        positions, overlaps = self.merged[j]
        hit = self.scoring.first_scoring(self.kept, positions, overlaps, entry) if positions else None
        return hit or self._recent_match(j, entry)

    def _recent_match(self, j, entry):
        """The first match for task j of the block among the block before's kept tasks, then
        this block's tasks kept before it."""
        found, overlaps, offsets = self.recent_found
        positions, shared = [], []
        before = self.recent_before
        for position, overlap in zip(found[offsets[j] : offsets[j + 1]], overlaps[offsets[j] : offsets[j + 1]]):
            if position >= before:
                task = self.recent_tasks[position - before]
                if task >= j:  # positions ascend: the task itself and those after it remain
                    break
                if not self.kept_in_block[task]:
                    continue
            positions.append(position)
            shared.append(overlap)
        return self.recent.first_scoring(self.recent.entries, positions, shared, entry) if positions else None

    def keep(self, n, entry):
        if entry is None:
            return
        j = self._place(n)
        self.kept_in_block[j] = True
        self.block_kept.append((len(self.kept), entry))
        self.kept.append(entry)

    def close(self):
        counts = []
        try:
            for connection in self.connections:
                for _ in range(self.in_flight):  # a block still out when the search stopped early
                    connection.recv()
                connection.send_bytes(_STOP)
            counts = [connection.recv() for connection in self.connections]
            counts = [c for c in counts if isinstance(c, _PairCounts)]  # not a failed worker's _Failed
            for process in self.processes:
                process.join(timeout=30)
        except (OSError, EOFError):
            pass  # a worker is gone: the error that stopped the search is the one to report
        finally:
            self.terminate()
        if self.scoring:
            counts += [*self.past_blocks, _pair_counts(self.scoring, *([self.recent] if self.recent else []))]
        return sum(c[0] for c in counts), sum(c[1] for c in counts)

    def worker_failure(self):
        """What a worker that stopped said had stopped it, or None."""
        for connection in self.connections:
            try:
                while connection.poll(0):
                    message = connection.recv()
                    if isinstance(message, _Failed):
                        return message.error
            except (OSError, EOFError):
                continue
        return None

    def terminate(self):
        for process in self.processes:
            if process.is_alive():
                process.terminate()
            process.join()
