"""infer: batched greedy generation with prompts encoded by LLaMA-Factory's own template.

Two backends: transformers (CPU or GPU; what the tests run) and vLLM (vllm_worker.py, in an
environment of its own), used when it is installed and a GPU is present. The transformers
backend batches continuously by default (runtime/continuous.py, the engine the local generation
server runs too: sequences join and leave at every step, shared prompt prefixes are computed
once); `padded` runs
`model.generate` on left-padded batches instead, and is what the continuous engine falls back
to for attention it does not implement. Optional constrained decoding (constraint.py) lets
multiple-choice, ranking and retrieval answers contain only digits, commas and spaces. A LoRA
adapter may be given over the base model (the checkpoint sweep): PEFT folds it in memory, vLLM
serves it unmerged.
"""

import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from shoplora.config.schema import section_defaults
from shoplora.inference.constraint import AnswerCharsOnly, answer_token_ids
from shoplora.runtime.continuous import generate_continuous, greedy, unsupported_reason
from shoplora.runtime.model import ModelRuntime, encode_prompt

BACKENDS = ("auto", "transformers", "vllm")
ENGINES = ("continuous", "padded")


class TemplateMismatchError(RuntimeError):
    pass


def check_template(model_dir, template_name):
    """Stop when the model was trained with a different template than inference uses."""
    from shoplora.io.model_meta import MODEL_META, read_model_meta

    if (Path(model_dir) / MODEL_META).exists():
        recorded = read_model_meta(model_dir).get("template")
        if recorded and recorded != template_name:
            raise TemplateMismatchError(
                f"{model_dir} was trained with template '{recorded}' but "
                f"inference is configured with '{template_name}' "
                "(base_model.template); set them equal or prepare the model again"
            )


def vllm_installed(python=None):
    """Whether vLLM can be imported by `python` (None: this interpreter), without importing it."""
    if python is None or python == sys.executable:
        return importlib.util.find_spec("vllm") is not None
    if not Path(python).exists():
        return False
    probe = "import importlib.util, sys; sys.exit(importlib.util.find_spec('vllm') is None)"
    return subprocess.run([python, "-c", probe], capture_output=True).returncode == 0


def choose_backend(requested="auto", vllm_python=None):
    """vllm where asked for or, with `auto`, where it is installed (vllm_python: the interpreter
    of its environment, None for this one) and a GPU is present."""
    import torch

    if requested not in BACKENDS:
        raise ValueError(f"infer.backend must be one of {', '.join(BACKENDS)}, not {requested!r}")
    if requested == "transformers":
        return "transformers"
    vllm_usable = torch.cuda.is_available() and vllm_installed(vllm_python)
    if requested == "vllm" and not vllm_usable:
        where = f"the interpreter {vllm_python}" if vllm_python else "this environment (or set infer.vllm.python)"
        raise RuntimeError(
            f"infer.backend 'vllm' needs a GPU and vLLM installed for {where}; see docs/cluster.md, "
            "or use 'auto' to fall back to transformers"
        )
    return "vllm" if vllm_usable else "transformers"


class Generator:
    """A model loaded once with its template; `run` generates greedy responses for prompts."""

    def __init__(
        self,
        model_dir,
        template_name,
        *,
        backend,
        dtype,
        engine,
        token_budget,
        max_prompt_tokens,
        overlong_prompts,
        adapter=None,
        vllm=None,
        adapters=None,
    ):
        """adapter: a LoRA checkpoint folder applied over `model_dir` (the checkpoint sweep).
        vllm: the `infer.vllm` config section (its defaults when None). adapters: {name: folder},
        vLLM only: several LoRA adapters served by one engine, chosen per prompt (run's adapter_of)."""
        check_template(model_dir, template_name)
        self.model_dir, self.adapter = model_dir, adapter
        self.runtime = ModelRuntime(model_dir, template_name, dtype)
        runtime = self.runtime
        self.tokenizer, self.template, self.stop_ids = runtime.tokenizer, runtime.template, runtime.stop_ids
        self.vllm = vllm if vllm is not None else section_defaults("infer")["vllm"]
        self.backend = choose_backend(backend, self.vllm["python"])
        self.adapters = adapters or {}
        if self.adapters and self.backend != "vllm":
            raise ValueError("several adapters in one engine need the vllm backend")
        if engine not in ENGINES:
            raise ValueError(f"infer.engine must be one of {', '.join(ENGINES)}, not {engine!r}")
        self.engine, self.token_budget = engine, token_budget
        self.max_prompt_tokens, self.overlong_prompts = max_prompt_tokens, overlong_prompts
        self.context = _context_length(model_dir)
        self.prompt_notes = []  # per row of the last run: None, or what the length guard did
        self._allowed = None

    def allowed_ids(self):
        if self._allowed is None:
            self._allowed = answer_token_ids(self.tokenizer, self.stop_ids)
        return self._allowed

    def run(
        self,
        prompts,
        max_new_tokens,
        *,
        batch_size,
        constrained=None,
        progress=sys.stderr,
        engine=None,
        stats=None,
        adapter_of=None,
    ):
        """max_new_tokens: a list aligned with prompts. constrained: booleans aligned with
        prompts (None: no constraint); those rows may only generate digits, commas and spaces.
        batch_size: sequences decoded together. engine: overrides the Generator's for this call;
        `padded` with batch_size 1 is plain `model.generate` one prompt at a time.
        stats: a dict the continuous engine fills (see generate_continuous). adapter_of: with
        `adapters`, the adapter's name for each prompt."""
        encoded = [encode_prompt(self.template, self.tokenizer, p) for p in prompts]
        encoded, self.prompt_notes = self._guard_lengths(encoded, max_new_tokens)
        refused = [i for i, note in enumerate(self.prompt_notes) if note and note.startswith("prompt_too_long")]
        if refused:  # answered with nothing, never fed whole
            refused = set(refused)
            keep = [i for i in range(len(encoded)) if i not in refused]
            answers = self.run_encoded(
                [encoded[i] for i in keep], [max_new_tokens[i] for i in keep],
                [constrained[i] for i in keep] if constrained is not None else None,
                batch_size, progress, engine, stats,
                [adapter_of[i] for i in keep] if adapter_of is not None else None,
            )  # fmt: skip
            responses = [""] * len(encoded)
            for i, answer in zip(keep, answers):
                responses[i] = answer
            return responses
        return self.run_encoded(encoded, max_new_tokens, constrained, batch_size, progress, engine, stats, adapter_of)

    def _guard_lengths(self, encoded, max_new_tokens):
        """Prompts longer than the model's context (less the answer) or max_prompt_tokens are
        cut in the middle (`truncate`) or refused (`fail`): memory stays bounded by batch x context."""
        guarded, notes = [], []
        for ids, new_tokens in zip(encoded, max_new_tokens):
            limit = self.max_prompt_tokens
            if self.context:
                room = max(1, self.context - new_tokens)
                limit = room if limit is None else min(limit, room)
            if limit is None or len(ids) <= limit:
                guarded.append(ids)
                notes.append(None)
            elif self.overlong_prompts == "fail":
                guarded.append(ids[:1])
                notes.append(f"prompt_too_long: {len(ids)} tokens > {limit}")
            else:
                guarded.append(cut_middle(ids, limit))
                notes.append(f"prompt_truncated: {len(ids)} -> {limit} tokens")
        return guarded, notes

    def run_encoded(self, encoded, max_new_tokens, constrained, batch_size, progress, engine, stats, adapter_of=None):
        """Generate for prompts already encoded with the template (see run)."""
        constrained = list(constrained) if constrained is not None else [False] * len(encoded)
        allowed = self.allowed_ids() if any(constrained) else None
        if self.backend == "vllm":
            adapters, names = self.adapters, adapter_of
            if self.adapter:
                adapters, names = {"checkpoint": str(self.adapter)}, ["checkpoint"] * len(encoded)
            return run_vllm(
                self.model_dir, self.vllm, encoded, max_new_tokens, self.stop_ids, constrained, allowed, adapters, names
            )
        if (engine or self.engine) == "continuous":
            reason = unsupported_reason(self._load())
            if reason is None:
                return self._run_continuous(encoded, max_new_tokens, constrained, allowed, batch_size, progress, stats)
            print(f"infer: continuous batching does not implement {reason}; using padded batches", file=progress)
        return self._run_padded(encoded, max_new_tokens, constrained, allowed, batch_size, progress)

    def _load(self):
        adapter = self.adapter
        return self.runtime.load(wrap=(lambda model: with_adapter(model, adapter)) if adapter else None)

    def _run_continuous(self, encoded, max_new_tokens, constrained, allowed, batch_size, progress, stats):
        choose = greedy
        if allowed is not None and any(constrained):
            answer_chars = AnswerCharsOnly(allowed, constrained)

            def choose(sequences, logits):  # sequences carry their prompt's index as owner
                return answer_chars.apply(logits, [s.owner for s in sequences]).argmax(-1).tolist()

        generated = generate_continuous(
            self._load(),
            encoded,
            max_new_tokens,
            self.stop_ids,
            choose,
            slots=batch_size,
            token_budget=self.token_budget,
            progress=progress,
            stats=stats,
        )
        return [self.tokenizer.decode(ids, skip_special_tokens=True) for ids in generated]

    def _run_padded(self, encoded, max_new_tokens, constrained, allowed, batch_size, progress):
        import torch
        from transformers import LogitsProcessorList

        model, stop_ids, tokenizer = self._load(), self.stop_ids, self.tokenizer
        pad_id, device = self.runtime.pad_id, self.runtime.device
        # Batch rows with the same generation length and similar prompt lengths together: a
        # batch runs until its longest row is done, so mixing 8-token and 64-token tasks, or
        # short and long prompts, wastes compute. The greedy result is the same.
        order = sorted(range(len(encoded)), key=lambda i: (max_new_tokens[i], len(encoded[i])))
        responses = [None] * len(encoded)
        started = time.monotonic()
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            width = max(len(encoded[i]) for i in idx)
            input_ids = torch.tensor([[pad_id] * (width - len(encoded[i])) + encoded[i] for i in idx], device=device)
            attention = torch.tensor(
                [[0] * (width - len(encoded[i])) + [1] * len(encoded[i]) for i in idx], device=device
            )
            processors = LogitsProcessorList()
            if any(constrained[i] for i in idx):
                processors.append(AnswerCharsOnly(allowed, [constrained[i] for i in idx]))
            with torch.no_grad():
                out = model.generate(
                    input_ids=input_ids,
                    attention_mask=attention,
                    do_sample=False,
                    max_new_tokens=max(max_new_tokens[i] for i in idx),
                    eos_token_id=stop_ids,
                    pad_token_id=pad_id,
                    logits_processor=processors,
                )
            for row, i in enumerate(idx):
                new_tokens = out[row, width : width + max_new_tokens[i]].tolist()
                cut = next((k for k, t in enumerate(new_tokens) if t in stop_ids), len(new_tokens))
                responses[i] = tokenizer.decode(new_tokens[:cut], skip_special_tokens=True)
            done = min(start + batch_size, len(order))
            print(
                f"infer: {done}/{len(order)} examples, {done / (time.monotonic() - started):.2f}/s",
                file=progress,
                flush=True,
            )
        return responses


def with_adapter(model, adapter):
    """The model with a LoRA adapter loaded through PEFT and folded into its weights in memory,
    as `llamafactory-cli export` merges it: both engines then run at the base model's speed and
    nothing is written to disk."""
    from peft import PeftModel

    return PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()


def cut_middle(ids, limit, tail=32):
    """The first tokens and the last `tail` (the end of the request and the template's
    assistant header) of a prompt, `limit` in all."""
    tail = min(tail, limit // 2)
    return ids[: limit - tail] + ids[len(ids) - tail :]


def _context_length(model_dir):
    """The model's context window from its config, or None where it does not say."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(model_dir)
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    return getattr(text, "max_position_embeddings", None)


def generate(
    model_dir, template_name, prompts, max_new_tokens, *, batch_size, constrained=None, progress=sys.stderr, **engine
):
    """Greedy responses for `prompts` (see Generator.run). engine: Generator's keyword arguments."""
    generator = Generator(model_dir, template_name, **engine)
    return generator.run(prompts, max_new_tokens, batch_size=batch_size, constrained=constrained, progress=progress)


# LoRA ranks vLLM accepts as max_lora_rank.
VLLM_LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)


def vllm_engine_args(model_dir, cfg, adapters=()):
    """vllm.LLM keywords from the `infer.vllm` section; adapters: LoRA folders to be served."""
    args = {
        "model": str(model_dir),
        "dtype": "auto",  # the checkpoint's own (bf16 for a merged Yi-9B)
        "tensor_parallel_size": cfg["tensor_parallel_size"],
        "gpu_memory_utilization": cfg["gpu_memory_utilization"],
        "enforce_eager": cfg["enforce_eager"],
    }
    if cfg["max_model_len"] is not None:
        args["max_model_len"] = cfg["max_model_len"]
    if adapters:
        rank = max(json.loads((Path(a) / "adapter_config.json").read_text())["r"] for a in adapters)
        lora_rank = next((r for r in VLLM_LORA_RANKS if r >= rank), rank)
        args.update(enable_lora=True, max_lora_rank=lora_rank, max_loras=min(len(adapters), cfg["max_loras"]))
    args.update(cfg["extra"])
    return args


def vllm_request(
    model_dir, cfg, encoded, max_new_tokens, stop_ids, constrained, allowed, adapters=None, adapter_of=None
):
    """The worker's request (see vllm_worker.py): the same prompts, token for token.
    adapters: {name: LoRA folder} served by the one engine; adapter_of: each prompt's adapter name."""
    adapters = {name: str(path) for name, path in (adapters or {}).items()}
    adapter_of = adapter_of if adapter_of is not None else [None] * len(encoded)
    return {
        "engine": vllm_engine_args(model_dir, cfg, list(adapters.values())),
        "adapters": adapters,
        "requests": [
            {
                "prompt_token_ids": list(ids),
                "max_tokens": n,
                "stop_token_ids": list(stop_ids),
                "allowed_token_ids": list(allowed) if c else None,
                "adapter": name,
            }
            for ids, n, c, name in zip(encoded, max_new_tokens, constrained, adapter_of)
        ],
    }


def run_vllm(model_dir, cfg, encoded, max_new_tokens, stop_ids, constrained, allowed, adapters=None, adapter_of=None):
    """Answers from a vLLM worker started with `cfg["python"]` (GPU only; adapters are served
    unmerged by vLLM's LoRA support). The worker finds this package through PYTHONPATH."""
    import shoplora
    from shoplora.io.process import die_with_parent

    python = cfg["python"] or sys.executable
    package_root = str(Path(shoplora.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
    request = vllm_request(
        model_dir, cfg, encoded, max_new_tokens, stop_ids, constrained, allowed, adapters, adapter_of
    )
    with tempfile.TemporaryDirectory(prefix="shoplora-vllm-") as folder:
        request_path, answers_path = Path(folder) / "request.json", Path(folder) / "answers.jsonl"
        request_path.write_text(json.dumps(request))
        subprocess.run(
            [python, "-m", "shoplora.inference.vllm_worker", str(request_path), str(answers_path)],
            check=True, env=env, preexec_fn=die_with_parent(signal.SIGKILL),
        )  # fmt: skip
        answers = [json.loads(line)["text"] for line in answers_path.read_text(encoding="utf-8").splitlines()]
    if len(answers) != len(encoded):
        raise RuntimeError(f"the vLLM worker answered {len(answers)} of {len(encoded)} prompts")
    return answers
