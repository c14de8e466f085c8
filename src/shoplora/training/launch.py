"""How `llamafactory-cli train` is started for a rule's GPUs and nodes.

One GPU: a plain process. Several GPUs on one node: LLaMA-Factory's own torchrun launch
(FORCE_TORCHRUN, NPROC_PER_NODE). Several nodes: one task per node in an `srun` step, each running
the same torchrun launch with a c10d rendezvous (RDZV_ID = the Slurm job id, MASTER_ADDR = the
first allocated host), so node ranks are assigned by torchrun rather than by us.

A job may start its own multi-task step only if the Slurm jobstep plugin did not already run it
inside a one-task step (`srun -n1`, its default, which holds the allocation's resources). A
multi-node training rule therefore gets the plugin's MPI resource in the profile (`nodes: N`,
`tasks: N`, `mpi: srun`): the plugin then runs the job unwrapped, with one task per node.
"""

import re
from dataclasses import dataclass, field

MASTER_PORT = 29500


class LaunchError(ValueError):
    pass


@dataclass
class Launch:
    argv: list
    env: dict = field(default_factory=dict)


def expand_hostlist(hostlist):
    """Slurm's compressed host list ("gpu[01-02,07],login1") as host names, in order."""
    hosts = []
    for prefix, ranges, plain in re.findall(r"([^,\[]+)\[([^\]]+)\]|([^,\[\]]+)", hostlist):
        if plain:
            hosts.append(plain)
            continue
        for part in ranges.split(","):
            lo, _, hi = part.partition("-")
            for n in range(int(lo), int(hi or lo) + 1):
                hosts.append(f"{prefix}{n:0{len(lo)}d}")
    return hosts


def gpus_per_node(resources):
    """GPUs per node from a rule's resources: `gres: gpu[:model]:N` is per node; `gpu` is the
    job's total (Slurm's --gpus) and is split evenly over `nodes`."""
    nodes = int(resources.get("nodes") or 1)
    gres = str(resources.get("gres") or "")
    match = re.search(r"\bgpu(?::[\w.-]+)?:(\d+)\b", gres)
    if match:
        return int(match.group(1))
    total = int(resources.get("gpu") or 0)
    if total % nodes:
        raise LaunchError(f"gpu={total} cannot be split evenly over nodes={nodes}; set gres: gpu:N for N GPUs per node")
    return total // nodes


def srun_step(nodes, tasks_per_node=1):
    """The srun prefix of a step with `tasks_per_node` tasks on each of `nodes` nodes, which
    ends every task when one fails."""
    return [
        "srun",
        f"--nodes={nodes}",
        f"--ntasks={nodes * tasks_per_node}",
        f"--ntasks-per-node={tasks_per_node}",
        "--kill-on-bad-exit=1",
    ]


def training_launch(yaml_path, resources, slurm_env, deepspeed=False, master_port=MASTER_PORT):
    """The command and environment that run `llamafactory-cli train yaml_path`.

    resources: the rule's (gpu, nodes, gres, tasks, mpi) as the profile set them."""
    nodes = int(resources.get("nodes") or 1)
    per_node = gpus_per_node(resources)
    train = ["llamafactory-cli", "train", str(yaml_path)]
    if nodes == 1 and per_node <= 1 and not deepspeed:
        return Launch(train)
    # DeepSpeed needs the distributed launcher even on one GPU.
    env = {"FORCE_TORCHRUN": "1", "NPROC_PER_NODE": str(max(per_node, 1)), "NNODES": str(nodes)}
    if nodes == 1:
        return Launch(train, env)
    job_id = slurm_env.get("SLURM_JOB_ID")
    nodelist = slurm_env.get("SLURM_JOB_NODELIST") or slurm_env.get("SLURM_NODELIST")
    if not job_id or not nodelist:
        raise LaunchError(
            f"nodes={nodes} needs a Slurm allocation (SLURM_JOB_ID and SLURM_JOB_NODELIST "
            "are not set): run it with --profile profiles/slurm"
        )
    tasks = int(resources.get("tasks") or 1)
    if resources.get("mpi") != "srun" or tasks != nodes:
        raise LaunchError(
            f"nodes={nodes} needs one task per node: set tasks: {nodes} and mpi: srun beside nodes: {nodes} for "
            f"this rule in the profile (now tasks={tasks}, mpi={resources.get('mpi')!r}); otherwise the jobstep "
            "plugin runs the job as a one-task step, in which the training step cannot start"
        )
    env.update(RDZV_ID=job_id, MASTER_ADDR=expand_hostlist(nodelist)[0], MASTER_PORT=str(master_port))
    return Launch(srun_step(nodes) + train, env)


def deepspeed_config(stage):
    """A ZeRO config with the values the HF Trainer fills in ("auto") left to it."""
    if stage not in (2, 3):
        raise LaunchError(f"deepspeed_stage must be 0 (off), 2 or 3, not {stage!r}")
    zero = {
        "stage": stage,
        "overlap_comm": False,
        "contiguous_gradients": True,
        "reduce_bucket_size": "auto",
        "allgather_bucket_size": 5e8,
        "reduce_scatter": True,
    }
    if stage == 3:
        zero.update(
            sub_group_size=1e9,
            stage3_prefetch_bucket_size="auto",
            stage3_param_persistence_threshold="auto",
            stage3_max_live_parameters=1e9,
            stage3_max_reuse_distance=1e9,
            stage3_gather_16bit_weights_on_model_save=True,
        )
    return {
        "train_batch_size": "auto",
        "train_micro_batch_size_per_gpu": "auto",
        "gradient_accumulation_steps": "auto",
        "gradient_clipping": "auto",
        "zero_allow_untested_optimizer": True,
        "fp16": {
            "enabled": "auto",
            "loss_scale": 0,
            "loss_scale_window": 1000,
            "initial_scale_power": 16,
            "hysteresis": 2,
            "min_loss_scale": 1,
        },
        "bf16": {"enabled": "auto"},
        "zero_optimization": zero,
    }
