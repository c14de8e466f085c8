"""Helpers for the thin Snakemake script adapters."""

import os
import sys


def send_stderr_to_log(snakemake):
    """Point stderr (and Python warnings, progress bars) at the rule's log file."""
    if snakemake.log:
        handle = open(snakemake.log[0], "a", buffering=1)
        sys.stderr = handle
        os.dup2(handle.fileno(), 2)
        return handle
    return sys.stderr


def threads_for_torch(snakemake):
    import torch

    torch.set_num_threads(max(1, int(snakemake.threads)))
