"""The vLLM worker's calls checked against vLLM's own source, read without importing it (no GPU).

vLLM is found installed in this environment, or as an unpacked package at $SHOPLORA_VLLM_SOURCE
(the folder holding `vllm/`, e.g. `unzip vllm-*.whl 'vllm/*'`); without either the tests skip
and say so. What is checked: every keyword the worker gives `LLM(...)`, `LLM.generate`,
`SamplingParams`, `TokensPrompt` and `LoRARequest` exists there under that name.
"""

import ast
import importlib.util
import json
import os
from pathlib import Path

import pytest

from shoplora.config.schema import section_defaults
from shoplora.inference.generator import vllm_engine_args, vllm_request
from shoplora.inference.vllm_worker import lora_ids, sampling_params


def vllm_folder():
    if os.environ.get("SHOPLORA_VLLM_SOURCE"):
        folder = Path(os.environ["SHOPLORA_VLLM_SOURCE"]) / "vllm"
        if not folder.is_dir():
            pytest.fail(f"SHOPLORA_VLLM_SOURCE={os.environ['SHOPLORA_VLLM_SOURCE']} holds no vllm/ folder")
        return folder
    spec = importlib.util.find_spec("vllm")  # finds, does not import
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("vLLM is not installed here (it needs its own environment: envs/vllm.yaml); "
                    "set SHOPLORA_VLLM_SOURCE to an unpacked vLLM wheel to check against it")  # fmt: skip
    return Path(spec.submodule_search_locations[0])


def classes(path):
    return {node.name: node for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.ClassDef)}


def method(cls, name):
    return next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == name)


def parameters(function):
    args = function.args
    return {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}, args.kwarg is not None


def fields(cls):
    """Annotated class attributes, in order (dataclasses, msgspec structs, TypedDicts)."""
    return [n.target.id for n in cls.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)]


@pytest.fixture(scope="module")
def vllm():
    return vllm_folder()


def test_the_engine_accepts_every_argument_the_config_passes(vllm, tmp_path):
    adapter = tmp_path / "checkpoint-4"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"r": 8}))
    cfg = section_defaults("infer", "vllm", max_model_len=4096)
    args = vllm_engine_args("model", cfg, [adapter])
    assert {"tensor_parallel_size", "gpu_memory_utilization", "max_model_len", "enforce_eager", "max_loras"} <= set(
        args
    )
    init, takes_more = parameters(method(classes(vllm / "entrypoints/llm.py")["LLM"], "__init__"))
    engine_fields = set(fields(classes(vllm / "engine/arg_utils.py")["EngineArgs"]))
    assert takes_more  # LLM(**kwargs) hands the rest to EngineArgs
    unknown = set(args) - init - engine_fields
    assert not unknown, f"vLLM's LLM/EngineArgs know no {sorted(unknown)}"


def test_generate_sampling_prompts_and_adapters_match_the_api(vllm):
    request = vllm_request("model", section_defaults("infer", "vllm"), [[1, 2, 3]], [8], [0], [True], [5, 6])
    generate, _ = parameters(method(classes(vllm / "entrypoints/llm.py")["LLM"], "generate"))
    assert {"prompts", "sampling_params", "lora_request"} <= generate
    sampling = set(fields(classes(vllm / "sampling_params.py")["SamplingParams"]))
    assert set(sampling_params(request["requests"][0])) <= sampling
    assert "prompt_token_ids" in fields(classes(vllm / "inputs/llm.py")["TokensPrompt"])
    assert fields(classes(vllm / "lora/request.py")["LoRARequest"])[:3] == ["lora_name", "lora_int_id", "lora_path"]
    exported = (vllm / "__init__.py").read_text()
    assert '"LLM"' in exported and '"SamplingParams"' in exported
    assert '"TokensPrompt"' in (vllm / "inputs/__init__.py").read_text()


def test_requests_carry_the_prompt_tokens_and_the_answer_constraint():
    cfg = section_defaults("infer", "vllm")
    request = vllm_request("m", cfg, [[1, 2], [3]], [4, 9], [0, 2], [False, True], [5, 6])
    first, second = request["requests"]
    assert first == {
        "prompt_token_ids": [1, 2], "max_tokens": 4, "stop_token_ids": [0, 2], "allowed_token_ids": None,
        "adapter": None,
    }  # fmt: skip
    assert second["allowed_token_ids"] == [5, 6] and second["max_tokens"] == 9
    assert request["adapters"] == {} and "enable_lora" not in request["engine"]
    assert request["engine"] == {
        "model": "m", "dtype": "auto", "tensor_parallel_size": 1, "gpu_memory_utilization": 0.9,
        "enforce_eager": False,
    }  # fmt: skip


def adapter_folder(tmp_path, name, rank):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "adapter_config.json").write_text(json.dumps({"r": rank}))
    return folder


def test_the_sweeps_adapters_are_served_by_one_engine_each_prompt_naming_its_own(tmp_path):
    adapters = {"step-2": adapter_folder(tmp_path, "checkpoint-2", 12), "step-4": adapter_folder(tmp_path, "c4", 12)}
    cfg = section_defaults("infer", "vllm", extra={"seed": 3})
    request = vllm_request(
        "m", cfg, [[1], [1], [2]], [4] * 3, [0], [False] * 3, [], adapters, ["step-2", "step-4", "step-4"]
    )
    engine = request["engine"]
    assert engine["enable_lora"] is True and engine["max_lora_rank"] == 16  # 12 rounded up to a rank vLLM takes
    assert engine["max_loras"] == 2  # both held at once (at most infer.vllm.max_loras)
    assert engine["seed"] == 3  # `extra` passes through
    assert request["adapters"] == {name: str(path) for name, path in adapters.items()}
    assert [r["adapter"] for r in request["requests"]] == ["step-2", "step-4", "step-4"]
    assert lora_ids(request["adapters"]) == {"step-2": 1, "step-4": 2}  # vLLM's ids: unique and above 0


def test_several_adapters_need_the_vllm_backend(tiny_model_dir):
    from shoplora.inference.generator import Generator

    with pytest.raises(ValueError, match="several adapters in one engine need the vllm backend"):
        Generator(
            tiny_model_dir, "smollm2", backend="transformers", dtype="auto", engine="continuous", token_budget=64,
            max_prompt_tokens=None, overlong_prompts="truncate", adapters={"step-2": "x"},
        )  # fmt: skip
