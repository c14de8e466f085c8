"""A Slurm job that starts a 2-task step the way multi-node training does (launch.srun_step), whose
two processes rendezvous and exchange tensors over torch.distributed's gloo backend.

    python two_task_step.py launch OUT_DIR   in the job: start the step
    python two_task_step.py rank OUT_DIR     in each task: exchange, write OUT_DIR/rank-<rank>.json
"""

import json
import os
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from shoplora.training.launch import expand_hostlist, srun_step


def launch(out_dir):
    subprocess.run(srun_step(nodes=1, tasks_per_node=2) + [sys.executable, __file__, "rank", out_dir], check=True)


def rank(out_dir):
    import torch
    import torch.distributed as dist

    me, world = int(os.environ["SLURM_PROCID"]), int(os.environ["SLURM_NTASKS"])
    master = expand_hostlist(os.environ["SLURM_JOB_NODELIST"])[0]
    port = 20000 + int(os.environ["SLURM_JOB_ID"]) % 20000
    dist.init_process_group(
        "gloo", init_method=f"tcp://{master}:{port}", rank=me, world_size=world, timeout=timedelta(seconds=120)
    )
    total = torch.tensor([me + 1.0])
    dist.all_reduce(total)  # every rank adds its own: 1 + 2
    pids = [torch.zeros(1, dtype=torch.int64) for _ in range(world)]
    dist.all_gather(pids, torch.tensor([os.getpid()]))
    dist.destroy_process_group()
    record = {"rank": me, "world": world, "sum": total.item(), "pids": [int(p) for p in pids], "pid": os.getpid()}
    record["host"] = socket.gethostname()
    Path(out_dir, f"rank-{me}.json").write_text(json.dumps(record))


if __name__ == "__main__":
    {"launch": launch, "rank": rank}[sys.argv[1]](sys.argv[2])
