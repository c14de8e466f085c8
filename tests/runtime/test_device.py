"""Which GPUs a job was given, and the fail-fast check for a job given one that cannot use it."""

import pytest

from shoplora.runtime.device import NoCudaError, check_cuda, gpus_reserved, visible_devices, visible_gpu_count


def test_visible_devices_read_cuda_visible_devices():
    assert visible_devices({}) is None
    assert visible_devices({"CUDA_VISIBLE_DEVICES": "0,1"}) == ["0", "1"]
    assert visible_devices({"CUDA_VISIBLE_DEVICES": "GPU-5f2c"}) == ["GPU-5f2c"]
    for hidden in ("", "-1", "NoDevFiles"):
        assert visible_devices({"CUDA_VISIBLE_DEVICES": hidden}) == []
    assert visible_gpu_count({"CUDA_VISIBLE_DEVICES": "2,3,5"}) == 3
    assert visible_gpu_count({"CUDA_VISIBLE_DEVICES": ""}) == 0


def test_gpus_count_as_reserved_under_a_scheduler_only():
    assert not gpus_reserved(1, {})  # a laptop: gpu=1 is only the rule's label
    assert gpus_reserved(1, {"SLURM_JOB_ID": "42"})
    assert gpus_reserved(2, {"CUDA_VISIBLE_DEVICES": "0,1"})
    assert not gpus_reserved(0, {"SLURM_JOB_ID": "42"})  # a CPU rule in a Slurm job
    assert not gpus_reserved(None, {"SLURM_JOB_ID": "42"})
    assert not gpus_reserved(1, {"CUDA_VISIBLE_DEVICES": ""})


def test_a_job_given_a_gpu_without_cuda_stops_naming_the_job_and_the_check():
    env = {"SLURM_JOB_ID": "7", "CUDA_VISIBLE_DEVICES": "0"}
    with pytest.raises(NoCudaError) as err:
        check_cuda("rule infer (model=finetuned)", 1, env=env, cuda_available=False)
    message = str(err.value)
    assert message.startswith("rule infer (model=finetuned): the job reserved gpu=1")
    assert "torch.cuda.is_available() is False" in message and "SLURM_JOB_ID='7'" in message


def test_cuda_or_no_reservation_runs():
    reserved = {"SLURM_JOB_ID": "7"}
    assert check_cuda("rule merge", 1, env=reserved, cuda_available=True) == "cuda"
    assert check_cuda("rule merge", 1, env={}, cuda_available=False) == "cpu"  # the laptop default
    # A test cluster whose GPUs are stand-ins opts out.
    assert check_cuda("rule merge", 1, required=False, env=reserved, cuda_available=False) == "cpu"
