"""Helpers for the thin Snakemake script adapters."""

import os
import sys


def send_stderr_to_log(snakemake):
    """Point stderr (and Python warnings, progress bars) at the rule's log file."""
    if snakemake.log:
        handle = open(snakemake.log[0], "a", buffering=1)  # noqa: SIM115 - open for the whole job
        sys.stderr = handle
        os.dup2(handle.fileno(), 2)
        return handle
    return sys.stderr
