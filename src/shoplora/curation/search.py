"""Where curate_sft looks for a task's earliest near-duplicate: one process, or several.

The greedy decisions need, for each task in order, the earliest kept task (and any eval task)
it duplicates. `SingleProcessSearch` asks one NearDuplicateIndex of everything kept so far.

`WorkerSearch` (curate.workers > 1) deals the kept tasks round-robin to worker processes, each
with its own index, and searches in blocks of tasks. Each worker finds, for every task of a
block, the earliest of *its* kept tasks the task duplicates, against the kept set as it stood
before the block; the earliest over the workers is the earliest overall, because a plain loop
tries kept tasks in the order they were kept. What the block's own kept tasks would catch is
checked afterwards, task by task in order, against a small index of just those: they were
kept after every task the workers hold, so a worker's match, when there is one, comes first.
Decisions and reported matches are therefore the single-process search's; only the work, and
the memory of the kept set, is split.
"""

import gc
import multiprocessing
import pickle

from shoplora.curation.near_dup import NearDuplicateIndex
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

    def __init__(self, scorer, threshold, order, eval_items):
        self.kept = _index(scorer, threshold, order)
        self.evals = _index(scorer, threshold, order, eval_items)

    def entry(self, key, parsed):
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
        return _pair_counts(self.kept, self.evals)


BLOCK_TASKS = 2048


def _serve(conn, worker, workers, scorer_name, tokenizer, threshold, order, eval_items):
    """A worker: its share of the kept tasks, every eval task; answers blocks until told to stop."""
    scorer = make_scorer(scorer_name, tokenizer)
    kept = _index(scorer, threshold, order)
    evals = _index(scorer, threshold, order, eval_items)
    while True:
        additions = conn.recv()
        if additions is None:
            conn.send(_pair_counts(kept, evals))
            return
        for key, parsed in additions:
            kept.add(kept.entry(key, parsed))
        answers = []
        for j, parsed in enumerate(pickle.loads(conn.recv_bytes())):
            entry = kept.entry(None, parsed)
            # Each eval check is done once, by the worker the task's place in the block names.
            contaminated = evals.first_match(entry) if j % workers == worker else None
            answers.append((kept.first_match(entry), contaminated))
        conn.send(answers)


class WorkerSearch:
    block = BLOCK_TASKS

    def __init__(self, workers, scorer, cfg, order, eval_items):
        threshold = cfg["near_duplicate_threshold"]
        self.workers = workers
        self.new_index = lambda: _index(scorer, threshold, order)
        self.block_index = self.new_index()
        self.past_blocks = []  # finished block indexes' pair counts, for the report
        self.answers = []  # per task of the current block: (earliest kept match, eval match)
        self.pending = [[] for _ in range(workers)]
        self.kept_count = 0
        # fork: spawn and forkserver import the main module again in each worker, and under
        # Snakemake that module is the curate_sft script itself. Objects that exist now are
        # frozen out of the garbage collector so that the workers' collections do not write to
        # (and so copy) the pages they share with this process.
        context = multiprocessing.get_context("fork")
        self.connections, self.processes = [], []
        gc.freeze()
        try:
            for worker in range(workers):
                parent, child = context.Pipe()
                args = (child, worker, workers, cfg["scorer"], cfg["tokenizer"], threshold, order, eval_items)
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

    def entry(self, key, parsed):
        return self.block_index.entry(key, parsed)

    def start_block(self, parsed_block):
        """Send the block (and the tasks kept since the last one) out; collect the answers."""
        payload = pickle.dumps(parsed_block, protocol=pickle.HIGHEST_PROTOCOL)
        for connection, additions in zip(self.connections, self.pending):
            connection.send(additions)
            connection.send_bytes(payload)
        self.pending = [[] for _ in range(self.workers)]
        replies = []
        for worker, connection in enumerate(self.connections):
            try:
                replies.append(connection.recv())
            except EOFError:
                raise RuntimeError(f"curate worker {worker} stopped (its traceback is above)") from None
        self.answers = []
        for j in range(len(parsed_block)):
            hits = [reply[j][0] for reply in replies if reply[j][0] is not None]
            # Keys are (kept position, task id): the smallest position is the earliest kept task.
            first = min(hits, key=lambda hit: hit[0][0]) if hits else None
            self.answers.append((first and (first[0][1], first[1]), replies[j % self.workers][j][1]))
        self.past_blocks.append(_pair_counts(self.block_index))
        self.block_index = self.new_index()

    def contamination(self, j, entry):
        return self.answers[j][1]

    def near_duplicate(self, j, entry):
        return self.answers[j][0] or self.block_index.first_match(entry)

    def keep(self, entry):
        if entry is None:
            return
        self.block_index.add(entry)
        self.pending[self.kept_count % self.workers].append(((self.kept_count, entry.key), entry.parsed))
        self.kept_count += 1

    def close(self):
        counts = []
        try:
            for connection in self.connections:
                connection.send(None)
            counts = [connection.recv() for connection in self.connections]
            for process in self.processes:
                process.join(timeout=30)
        except (OSError, EOFError):
            pass  # a worker is gone: the error that stopped the search is the one to report
        finally:
            self.terminate()
        counts += [*self.past_blocks, _pair_counts(self.block_index)]
        return sum(c[0] for c in counts), sum(c[1] for c in counts)

    def terminate(self):
        for process in self.processes:
            if process.is_alive():
                process.terminate()
            process.join()
