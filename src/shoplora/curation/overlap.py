"""check_dev_sets: rows of a dev set that are also in the eval sets.

Choosing a checkpoint on a dev set only keeps the final table honest when the dev set shares
nothing with the eval sets. An overlap is a shared id, or a near-duplicate by the same scorer,
field and threshold that decontaminates the SFT data (curate.py), so "disjoint" means the same
thing in both places.
"""

from shoplora.curation.curate import compared_text
from shoplora.curation.near_dup import NearDuplicateIndex, TokenOrder
from shoplora.curation.rouge import make_scorer


def find_overlaps(dev_tasks, eval_tasks, curate_cfg):
    """[{dev_id, eval_id, reason: same_id | near_duplicate, score}] in dev order."""
    field, threshold = curate_cfg["compare_field"], curate_cfg["near_duplicate_threshold"]
    scorer = make_scorer(curate_cfg["scorer"], curate_cfg["tokenizer"])
    eval_ids = {t["id"] for t in eval_tasks}
    dev_parsed = [scorer.parse(compared_text(t, field)) for t in dev_tasks]
    eval_parsed = [scorer.parse(compared_text(t, field)) for t in eval_tasks]
    order = TokenOrder(scorer.signature(p) for p in dev_parsed + eval_parsed)
    index = NearDuplicateIndex(scorer, threshold, order)
    for task, parsed in zip(eval_tasks, eval_parsed):
        index.add(index.entry(task["id"], parsed))
    found = []
    for task, parsed in zip(dev_tasks, dev_parsed):
        if task["id"] in eval_ids:
            found.append({"dev_id": task["id"], "eval_id": task["id"], "reason": "same_id", "score": None})
            continue
        hit = index.first_match(index.entry(task["id"], parsed))
        if hit:
            found.append({"dev_id": task["id"], "eval_id": hit[0], "reason": "near_duplicate", "score": hit[1]})
    return found
