"""Which GPUs a job was given, and the check that a job given one can use it.

A job's rule declares `gpu=N`; on a laptop that is only a label (the default runs on the CPU).
Once a scheduler has reserved GPUs for the job (a Slurm job, or CUDA_VISIBLE_DEVICES naming
devices), a job that sees no CUDA is broken (wrong partition, missing driver, a CPU-only torch)
and must stop at once: falling back to the CPU would run a 9B model for days.
"""

import os
import shutil
import subprocess

NO_DEVICES = ("", "-1", "none", "NoDevFiles")


class NoCudaError(RuntimeError):
    pass


def visible_devices(env=os.environ):
    """The devices CUDA_VISIBLE_DEVICES names, or None where it is unset."""
    value = env.get("CUDA_VISIBLE_DEVICES")
    if value is None:
        return None
    return [] if value.strip() in NO_DEVICES else [d for d in value.split(",") if d.strip()]


def visible_gpu_count(env=os.environ):
    """GPUs this process may use, without importing torch: CUDA_VISIBLE_DEVICES where set, else
    the GPUs `nvidia-smi -L` lists (0 without the tool)."""
    devices = visible_devices(env)
    if devices is not None:
        return len(devices)
    if shutil.which("nvidia-smi") is None:
        return 0
    listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30)
    return sum(line.startswith("GPU ") for line in listed.stdout.splitlines()) if listed.returncode == 0 else 0


def gpus_reserved(gpus, env=os.environ):
    """Whether a scheduler reserved GPUs for a job whose rule declares `gpus`: the rule asks for
    some and the job runs under Slurm, or CUDA_VISIBLE_DEVICES names devices."""
    if not gpus or int(gpus) <= 0:
        return False
    return bool(env.get("SLURM_JOB_ID")) or bool(visible_devices(env))


def check_cuda(job, gpus, *, required=True, env=os.environ, cuda_available=None):
    """Stop a job that was given GPUs but cannot use CUDA (see the module's docstring).

    job: the job's name for the message. required: config `require_cuda`; false lets a test
    cluster whose GPUs are stand-ins run GPU rules on the CPU. cuda_available: torch's answer
    (asked here when None). Returns the device the job will use, "cuda" or "cpu"."""
    if cuda_available is None:
        import torch

        cuda_available = torch.cuda.is_available()
    if cuda_available:
        return "cuda"
    if required and gpus_reserved(gpus, env):
        raise NoCudaError(
            f"{job}: the job reserved gpu={gpus} but torch.cuda.is_available() is False "
            f"(CUDA_VISIBLE_DEVICES={env.get('CUDA_VISIBLE_DEVICES')!r}, "
            f"SLURM_JOB_ID={env.get('SLURM_JOB_ID')!r}); check the partition, the driver "
            "(nvidia-smi) and that torch is a CUDA build. Set require_cuda: false only for a "
            "cluster whose GPUs are stand-ins"
        )
    return "cpu"


def limit_local_gpu_jobs(workflow):
    """A local run (a laptop, or `snakemake --cores all` inside salloc on a GPU node) starts at
    most as many GPU jobs at once as it sees GPUs; without any, GPU rules run on the CPU, unlimited.
    `--resources gpu=N` decides instead, and cluster executors give each job its own reservation.
    Returns the limit set, or None."""
    if not workflow.local_exec or workflow.remote_exec or "gpu" in workflow.global_resources:
        return None
    gpus = visible_gpu_count()
    if gpus:
        workflow.global_resources["gpu"] = gpus
    return gpus or None


def check_job_cuda(snakemake):
    """check_cuda for the running Snakemake job: its rule, wildcards and `gpu` resource."""
    wildcards = ", ".join(f"{k}={v}" for k, v in snakemake.wildcards.items())
    job = f"rule {snakemake.rule}" + (f" ({wildcards})" if wildcards else "")
    required = snakemake.config["cluster"]["require_cuda"]
    return check_cuda(job, snakemake.resources.get("gpu"), required=required)
