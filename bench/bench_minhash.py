"""MinHash near-duplicate removal of a PT corpus at scale: time, peak RSS and recall.

Builds `--texts` product texts (Amazon-shaped titles, features and descriptions) of which
`--copies` are planted near-copies of an earlier text at a shingle Jaccard similarity of 0.9,
then runs build_pt_corpus's MinHash stage (the config's defaults: 5-word shingles, 128
permutations, threshold 0.8) over them. The baseline, in the same run, is the exact Jaccard of
every planted pair (computed from the shingle sets). Goals on 2 cores for 1,000,000 texts: at
most 10 minutes, at most 4 GiB peak RSS, recall of the planted copies at least 0.95.
"""

import argparse
import os
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

GIB = 1024**3


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=1_000_000)
    parser.add_argument("--copies", type=int, default=None, help="planted near-copies (default: 5%% of --texts)")
    parser.add_argument("--permutations", type=int, default=None, help="override the config default")
    args = parser.parse_args()
    copies = args.copies if args.copies is not None else args.texts // 20

    from planted import corpus, jaccard

    from shoplora.config.schema import section_defaults
    from shoplora.data.minhash import near_duplicates

    cfg = section_defaults("corpus", "near_duplicates")
    if args.permutations:
        cfg["permutations"] = args.permutations
    started = time.perf_counter()
    texts, planted = corpus(args.texts, copies)
    true_j = [j for _, _, j in planted]
    print(
        f"{len(texts)} texts ({sum(len(t.split()) for t in texts[:1000]) / 1000:.0f} words each on average), "
        f"{len(planted)} planted near-copies at exact Jaccard {min(true_j):.3f}-{max(true_j):.3f}, "
        f"built in {time.perf_counter() - started:.0f} s"
    )
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    keys = [f"t{i}" for i in range(len(texts))]
    started = time.perf_counter()
    with open(os.devnull, "w") as quiet:
        found = near_duplicates(keys, texts, cfg, progress=quiet)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    hits = sum(found.get(keys[copy], (None,))[0] == keys[orig] for orig, copy, _ in planted)
    recall = hits / len(planted) if planted else 1.0
    # Precision against the exact baseline: a sample of the drops, their exact Jaccard.
    sample = list(found.items())[:2000]
    index = {k: i for i, k in enumerate(keys[: len(texts)])}
    exact = [jaccard(texts[index[k]], texts[index[kept]]) for k, (kept, _) in sample]
    below = sum(j < cfg["threshold"] - 0.1 for j in exact)
    print(
        f"minhash (ngram {cfg['ngram']}, {cfg['permutations']} permutations, threshold {cfg['threshold']}): "
        f"{seconds:.1f} s, {len(texts) / seconds:,.0f} texts/s, {len(found)} near-duplicates dropped"
    )
    print(
        f"peak RSS {peak / GIB:.2f} GiB (texts and planted pairs alone: {rss_before / GIB:.2f} GiB); "
        f"{len(sample)} drops checked exactly: {below} below {cfg['threshold'] - 0.1:.1f}"
    )
    ok_time, ok_rss, ok_recall = seconds <= 600, peak <= 4 * GIB, recall >= 0.95
    print(f"time {seconds:.0f} s for {len(texts)} texts (goal <= 600 s): {'MET' if ok_time else 'NOT MET'}")
    print(f"peak RSS {peak / GIB:.2f} GiB (goal <= 4 GiB): {'MET' if ok_rss else 'NOT MET'}")
    print(f"recall of planted near-copies {recall:.4f} (goal >= 0.95): {'MET' if ok_recall else 'NOT MET'}")
    return 0 if ok_time and ok_rss and ok_recall else 1


if __name__ == "__main__":
    sys.exit(main())
