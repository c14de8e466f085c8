"""The training launch built for 1 GPU, 8 GPUs and 2 nodes x 8 GPUs, and DeepSpeed configs."""

import pytest

from shoplora.training.launch import LaunchError, deepspeed_config, expand_hostlist, gpus_per_node, training_launch

SLURM = {"SLURM_JOB_ID": "4242", "SLURM_JOB_NODELIST": "gpu[07-08]"}


def test_one_gpu_is_a_plain_process():
    launch = training_launch("run/train.yaml", {"gpu": 1}, SLURM)
    assert launch.argv == ["llamafactory-cli", "train", "run/train.yaml"] and launch.env == {}


def test_eight_gpus_use_torchrun_on_one_node():
    launch = training_launch("run/train.yaml", {"gpu": 8}, {})
    assert launch.argv == ["llamafactory-cli", "train", "run/train.yaml"]
    assert launch.env == {"FORCE_TORCHRUN": "1", "NPROC_PER_NODE": "8", "NNODES": "1"}


MULTI_NODE = {"tasks": 2, "mpi": "srun"}  # the profile's one task per node, unwrapped by the jobstep plugin


@pytest.mark.parametrize(
    "resources", [{"nodes": 2, "gpu": 16}, {"nodes": 2, "gres": "gpu:a100:8"}, {"nodes": 2, "gres": "gpu:8"}]
)
def test_two_nodes_of_eight_run_one_task_per_node_under_srun(resources):
    launch = training_launch("run/train.yaml", {**resources, **MULTI_NODE}, SLURM)
    assert launch.argv == [
        "srun",
        "--nodes=2",
        "--ntasks=2",
        "--ntasks-per-node=1",
        "--kill-on-bad-exit=1",
        "llamafactory-cli",
        "train",
        "run/train.yaml",
    ]
    assert launch.env == {
        "FORCE_TORCHRUN": "1",
        "NPROC_PER_NODE": "8",
        "NNODES": "2",
        "RDZV_ID": "4242",
        "MASTER_ADDR": "gpu07",
        "MASTER_PORT": "29500",
    }


def test_several_nodes_need_a_slurm_allocation():
    with pytest.raises(LaunchError, match="SLURM_JOB_ID"):
        training_launch("t.yaml", {"nodes": 2, "gpu": 16, **MULTI_NODE}, {})


@pytest.mark.parametrize("resources", [{"tasks": 1, "mpi": "srun"}, {"tasks": 2}, {}])
def test_several_nodes_need_one_unwrapped_task_per_node(resources):
    """Without the mpi resource the jobstep plugin wraps the job in a one-task step; with fewer
    tasks than nodes the step could not place one per node. Both stop before launching."""
    with pytest.raises(LaunchError, match="set tasks: 2 and mpi: srun beside nodes: 2"):
        training_launch("t.yaml", {"nodes": 2, "gpu": 16, **resources}, SLURM)


def test_uneven_gpu_split_is_an_error():
    with pytest.raises(LaunchError, match="cannot be split evenly"):
        gpus_per_node({"nodes": 2, "gpu": 3})


def test_deepspeed_forces_the_distributed_launch_on_one_gpu():
    assert training_launch("t.yaml", {"gpu": 1}, {}, deepspeed=True).env["FORCE_TORCHRUN"] == "1"


def test_hostlists():
    assert expand_hostlist("gpu[07-08]") == ["gpu07", "gpu08"]
    assert expand_hostlist("node1") == ["node1"]
    assert expand_hostlist("a[1-2,5],b01") == ["a1", "a2", "a5", "b01"]
    assert expand_hostlist("gpu[009-011]") == ["gpu009", "gpu010", "gpu011"]


def test_deepspeed_stages():
    assert deepspeed_config(2)["zero_optimization"]["stage"] == 2
    z3 = deepspeed_config(3)["zero_optimization"]
    assert z3["stage"] == 3 and z3["stage3_gather_16bit_weights_on_model_save"] is True
    with pytest.raises(LaunchError, match="0 \\(off\\), 2 or 3"):
        deepspeed_config(1)
