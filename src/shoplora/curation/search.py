"""Where curate_sft looks for a task's earliest near-duplicate: one process, or several.

The greedy decisions need, for each task in order, the earliest kept task (and any eval task)
it duplicates. `SingleProcessSearch` asks one NearDuplicateIndex of everything kept so far.

`WorkerSearch` (curate.workers = N > 1) splits the bounding, the part whose cost grows with
the kept set, over the main process and N - 1 forked workers; each holds a share of the kept
tasks' bit masks and posting lists, not their texts. Tasks are searched in blocks: for every
task of a block each process lists the kept tasks of its share, as they stood before the
block, that every bound lets through, named by their place in the kept order. The main process
merges the lists into kept order and scores them exactly, in that order, as a plain loop would;
then it checks the task against a small index of the tasks kept within the block, which come
after all of those. Decisions, reported matches and the near-duplicate pairs scored are
therefore the single-process search's (the workers' eval checks also cover tasks that turn
out to be exact duplicates, which one process skips); only the bounding, and its memory, is split. New kept tasks go to
the workers, by their measured rate, and to the main process only while it has had to wait for
them: it alone merges and scores.
"""

import gc
import multiprocessing
import pickle
import time
from array import array

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
    block = None  # the whole run is one block

    def __init__(self, scorer, threshold):
        self.scorer, self.threshold = scorer, threshold
        self.kept = self.evals = None

    def prepare(self, order, eval_items):
        """Start searching with `order`'s bit tokens; eval_items are (key, parsed) pairs."""
        self.kept = _index(self.scorer, self.threshold, order)
        self.evals = _index(self.scorer, self.threshold, order, eval_items)

    def entry(self, j, key, parsed):
        return self.kept.entry(key, parsed)

    def start_block(self, parsed_block):
        pass

    def contamination(self, j, entry):
        return self.evals.first_match(entry)

    def near_duplicate(self, j, entry):
        return self.kept.first_match(entry)

    def keep(self, entry):
        self.kept.add(entry)

    def close(self):
        return _pair_counts(self.kept, self.evals) if self.kept else (0, 0)


BLOCK_TASKS = 2048
_WAIT_SECONDS = 0.005  # a wait for the workers longer than this moves new kept tasks to this process


def _overlaps(share, places, candidates):
    """Per candidate: (kept-order positions, overlaps) that `share` lets through, packed.

    One flat array of positions, one of overlaps and the offsets between candidates: a few
    large arrays cross a pipe much faster than thousands of small ones.
    """
    positions, overlaps, offsets = [], [], [0]
    # places[i]: the kept-order position of the share's i-th task
    in_kept_order = np.frombuffer(places, dtype=np.int64) if len(places) else np.zeros(0, dtype=np.int64)
    for entry in candidates:
        if entry is not None and share.count:
            local, shared = share.overlapping(entry)
            positions.append(in_kept_order[local])
            overlaps.append(shared)
            offsets.append(offsets[-1] + len(local))
        else:
            offsets.append(offsets[-1])
    empty = np.zeros(0, dtype=np.int64)
    return (np.concatenate(positions) if positions else empty, np.concatenate(overlaps) if overlaps else empty, offsets)


def _serve(conn, worker, workers, scorer_name, tokenizer, threshold):
    """A worker: its share of the kept tasks, every eval task; answers blocks until told to stop."""
    scorer = make_scorer(scorer_name, tokenizer)
    message = conn.recv_bytes()
    if not message:  # stopped before the search began
        conn.send((0, 0))
        return
    order, eval_items = pickle.loads(message)
    share = NearDuplicateIndex(scorer, threshold, order, scoring=False)
    places = array("q")  # kept-order position of each task in the share
    evals = _index(scorer, threshold, order, eval_items)
    while True:
        message = conn.recv_bytes()
        if not message:
            conn.send(_pair_counts(evals))
            return
        started = time.process_time()
        additions, block = pickle.loads(message)
        for position, parts in additions:
            share.add(Entry.from_parts(parts))
            places.append(position)
        candidates = [parts and Entry.from_parts(parts[:3], parsed=parts[3]) for parts in block]
        # Each eval check is done once, by the worker the task's place in the block names.
        contaminated = [
            evals.first_match(entry) if j % workers == worker else None for j, entry in enumerate(candidates)
        ]
        found = _overlaps(share, places, candidates)
        conn.send((found, contaminated, time.process_time() - started))


class WorkerSearch:
    block = BLOCK_TASKS

    def __init__(self, processes, scorer, cfg):
        """Fork the workers. Do it before the tasks are parsed: a worker's allocations land in
        free slots of the heap it inherited, copying each page they touch, so the smaller that
        heap the less memory the workers take (at 300,000 tasks a worker forked after the parse
        added 0.87 GiB to the tree's Pss, one forked before it 0.35 GiB)."""
        threshold = cfg["near_duplicate_threshold"]
        self.scorer, self.threshold = scorer, threshold
        self.workers = processes - 1
        self.scoring = None
        self.past_blocks = []  # finished block indexes' pair counts, for the report
        self.pending = [[] for _ in range(self.workers)]
        # To deal new kept tasks: the kept tasks each worker holds and how many it bounds per
        # second (None until measured), and whether this process had to wait for a worker.
        self.held = [0] * self.workers
        self.rate = [None] * self.workers
        self.waited = 0.0
        # fork: spawn and forkserver import the main module again in each worker, and under
        # Snakemake that module is the curate_sft script itself. Objects that exist now are
        # frozen out of the garbage collector so that the workers' collections do not write to
        # (and so copy) the pages they share with this process.
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

    def prepare(self, order, eval_items):
        """Start searching with `order`'s bit tokens; eval_items are (key, parsed) pairs."""
        self.order = order
        self.evaluated = bool(eval_items)
        self.share = NearDuplicateIndex(self.scorer, self.threshold, order, scoring=False)  # this process's
        self.share_places = array("q")
        self.kept = []  # every kept entry, in kept order: what the merged positions name
        self.scoring = NearDuplicateIndex(self.scorer, self.threshold, order)  # scores the merged lists
        self.block_index = self._new_block_index()
        message = pickle.dumps((order, eval_items), protocol=pickle.HIGHEST_PROTOCOL)
        for connection in self.connections:
            connection.send_bytes(message)

    def _new_block_index(self):
        return NearDuplicateIndex(self.scorer, self.threshold, self.order)

    def start_block(self, parsed_block):
        """Send the block out, bound it against this process's share, merge every share's lists."""
        self.past_blocks.append(_pair_counts(self.block_index))
        self.block_index = self._new_block_index()
        self.entries = [self.share.entry(None, parsed) for parsed in parsed_block]
        parts = [entry and entry.signature_parts() for entry in self.entries]
        for worker, (connection, additions) in enumerate(zip(self.connections, self.pending)):
            # A worker needs a task's parsed text only for the eval checks it does.
            block = [
                p and (*p, parsed if self.evaluated and j % self.workers == worker else None)
                for j, (p, parsed) in enumerate(zip(parts, parsed_block))
            ]
            connection.send_bytes(pickle.dumps((additions, block), protocol=pickle.HIGHEST_PROTOCOL))
        self.pending = [[] for _ in range(self.workers)]
        found = [_overlaps(self.share, self.share_places, self.entries)]
        busy = []
        started = time.perf_counter()
        self.contaminated = [None] * len(parsed_block)
        for worker, connection in enumerate(self.connections):
            try:
                reply, contaminated, seconds = connection.recv()
            except EOFError:
                raise RuntimeError(f"curate worker {worker} stopped (its traceback is above)") from None
            found.append(reply)
            busy.append(seconds)
            for j, hit in enumerate(contaminated):
                self.contaminated[j] = self.contaminated[j] or hit
        self.waited = time.perf_counter() - started
        self._measure(busy)
        self.merged = [self._merge(found, j) for j in range(len(parsed_block))]

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
                rate = self.held[w] / seconds
                self.rate[w] = rate if self.rate[w] is None else 0.7 * self.rate[w] + 0.3 * rate

    def _projected_seconds(self, w):
        """Worker w's seconds per block if it took one more kept task (0 until measured)."""
        return 0.0 if self.rate[w] is None else (self.held[w] + 1) / self.rate[w]

    def entry(self, j, key, parsed):
        entry = self.entries[j]
        if entry is not None:
            entry.key = key
        return entry

    def contamination(self, j, entry):
        return self.contaminated[j]

    def near_duplicate(self, j, entry):
        positions, overlaps = self.merged[j]
        hit = self.scoring.first_scoring(self.kept, positions, overlaps, entry) if positions else None
        return hit or self.block_index.first_match(entry)

    def keep(self, entry):
        if entry is None:
            return
        self.block_index.add(entry)
        position = len(self.kept)
        self.kept.append(entry)
        # This process also merges and scores while the workers wait for the next block, so
        # it takes new kept tasks only while it has had to wait for a worker; else the worker
        # that would then take the least time does.
        if self.waited > _WAIT_SECONDS:
            self.share.add(entry)
            self.share_places.append(position)
        else:
            w = min(range(self.workers), key=self._projected_seconds)
            self.held[w] += 1
            self.pending[w].append((position, entry.signature_parts()))

    def close(self):
        counts = []
        try:
            for connection in self.connections:
                connection.send_bytes(b"")
            counts = [connection.recv() for connection in self.connections]
            for process in self.processes:
                process.join(timeout=30)
        except (OSError, EOFError):
            pass  # a worker is gone: the error that stopped the search is the one to report
        finally:
            self.terminate()
        if self.scoring:
            counts += [*self.past_blocks, _pair_counts(self.block_index, self.scoring)]
        return sum(c[0] for c in counts), sum(c[1] for c in counts)

    def terminate(self):
        for process in self.processes:
            if process.is_alive():
                process.terminate()
            process.join()
