"""build_datasets: PT and SFT parquet files plus the dataset_info.json LLaMA-Factory reads."""

import random

import pandas as pd

from shoplora.io.accounting import DropLog
from shoplora.tasks.validity import target_text

SFT_COLUMNS = ["instruction", "input", "output", "task_type", "source", "id"]


def sft_rows(tasks):
    """Alpaca-style rows; the answer is always a string (LLaMA-Factory drops other types)."""
    return pd.DataFrame(
        [
            {
                "instruction": t["input_field"],
                "input": "",
                "output": target_text(t),
                "task_type": t["task_type"],
                "source": t["source"],
                "id": t["id"],
            }
            for t in tasks
        ],
        columns=SFT_COLUMNS,
    )


def split_train_val(frame, val_fraction, seed, min_val=1):
    """Fixed, seeded split by id order so the same tasks always land in the same split."""
    ids = sorted(frame["id"])
    random.Random(seed).shuffle(ids)
    n_val = max(min_val, round(len(ids) * val_fraction)) if len(ids) > 1 else 0
    val_ids = set(ids[:n_val])
    is_val = frame["id"].isin(val_ids)
    return frame[~is_val].reset_index(drop=True), frame[is_val].reset_index(drop=True)


def dataset_info(files):
    """LLaMA-Factory registry for the splits in `files` ({split: file name relative}): the PT
    corpus's pt_train/pt_val and the SFT sft_train/sft_val (an ablation's datasets: SFT only)."""
    pt = {"formatting": "alpaca", "columns": {"prompt": "text"}}
    sft = {"formatting": "alpaca", "columns": {"prompt": "instruction", "query": "input", "response": "output"}}
    return {
        f"shoplora_{split}": {"file_name": name, **(pt if split.startswith("pt_") else sft)}
        for split, name in files.items()
    }


def drop_overlong(tasks, max_chars):
    """(kept tasks, DropLog) without tasks whose prompt is over `max_chars` characters.

    LLaMA-Factory tokenizes a whole example before it cuts at cutoff_len, so one huge prompt
    costs memory and time out of all proportion; it is dropped with a record instead.
    """
    kept, drops = [], DropLog()
    for task in tasks:
        size = len(task["input_field"])
        if size > max_chars:
            drops.drop(task["id"], task["source"], "prompt_too_long", detail=f"{size} characters > {max_chars}")
        else:
            kept.append(task)
    return kept, drops
