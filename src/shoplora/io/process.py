"""Child processes that cannot outlive the job that started them."""

import signal
import sys


def die_with_parent(signum=signal.SIGTERM):
    """A preexec_fn: on Linux the kernel sends the child `signum` when its parent dies, even by
    SIGKILL (Slurm preemption, an OOM kill), so no server or trainer outlives its job."""

    def preexec():
        if sys.platform.startswith("linux"):
            import ctypes

            pr_set_pdeathsig = 1
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signum)

    return preexec
