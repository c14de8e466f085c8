"""Inference and scoring speed on this machine with the embedded default model.

1. The shipped eval sets with the configured per-task max_new_tokens, engines side by side:
   one prompt per model.generate call (as the study), padded batches (model.generate,
   length-sorted), shoplora's continuous batching (infer.batch_size slots, infer.token_budget
   tokens per step, shared prefixes; the pipeline's default) and transformers' own continuous
   batching (ContinuousBatchingManager, the same token budget). The model is loaded once;
   responses are compared with one at a time (greedy). Goal: the pipeline's engine at >= 0.75
   of this machine's floor: the prompt tokens it computes at the measured prefill rate plus
   its generated tokens at the cheapest measured per-row decoding step.
2. Scoring 20,000 predictions drawn from the shipped eval sets (every metric they use,
   sentence similarity with all-MiniLM-L6-v2 among them): the per-task batched scorer versus
   the same metrics one prediction at a time on a sample. Goal: 20,000 in < 60 s.

Usage: bench/bench_inference.py [--examples 96] [--batch-size 16] [--predictions 20000]
"""

import argparse
import io
import random
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# The attention from_pretrained picks for the default model; transformers' batching switches
# the model to its paged form and back to this.
ATTENTION = "sdpa"

from shoplora.config.check import check_config  # noqa: E402
from shoplora.evaluation.table import summary_table  # noqa: E402
from shoplora.inference.generator import Generator  # noqa: E402
from shoplora.runtime.model import encode_prompt  # noqa: E402
from shoplora.scoring.kit import score_predictions  # noqa: E402
from shoplora.tasks.records import load_tasks  # noqa: E402
from shoplora.training.base_model import prepare_base_model  # noqa: E402

from transformers_cb import generate_continuous as transformers_continuous  # noqa: E402


def eval_tasks(config):
    tasks = []
    for name, path in config["eval_sets"].items():
        tasks += load_tasks(ROOT / path, f"eval:{name}")
    return tasks


def bench_generation(config, tasks, batch_size):
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp) / "base"
        prepare_base_model(config["base_model"], model_dir)
        infer = config["infer"]
        gen = Generator(
            model_dir,
            config["base_model"]["template"],
            backend="transformers",
            dtype=infer["dtype"],
            engine=infer["engine"],
            token_budget=infer["token_budget"],
            max_prompt_tokens=infer["max_prompt_tokens"],
            overlong_prompts=infer["overlong_prompts"],
        )
        prompts = [t["input_field"] for t in tasks]
        lengths = [infer["max_new_tokens"][t["task_type"]] for t in tasks]
        encoded = [encode_prompt(gen.template, gen.tokenizer, p) for p in prompts]
        model = gen._load()
        quiet = io.StringIO()
        started = time.perf_counter()
        single = [gen.run([p], [n], batch_size=1, progress=quiet, engine="padded")[0] for p, n in zip(prompts, lengths)]
        one_s = time.perf_counter() - started
        started = time.perf_counter()
        padded = gen.run(prompts, lengths, batch_size=batch_size, progress=quiet, engine="padded")
        padded_s = time.perf_counter() - started
        stats = {}
        started = time.perf_counter()
        continuous = gen.run(
            prompts, lengths, batch_size=infer["batch_size"], progress=quiet, engine="continuous", stats=stats
        )
        continuous_s = time.perf_counter() - started
        started = time.perf_counter()
        library_ids = transformers_continuous(
            model, encoded, lengths, gen.stop_ids, attention=ATTENTION, token_budget=infer["token_budget"]
        )
        library = [gen.tokenizer.decode(ids, skip_special_tokens=True) for ids in library_ids]
        library_s = time.perf_counter() - started
        # What bounds any batching on a CPU: reading a prompt token (prefill) is compute-bound
        # and costs the same batched or not; only the per-row decoding step shrinks with batch.
        started = time.perf_counter()
        gen.run(prompts, [1] * len(prompts), batch_size=batch_size, progress=quiet, engine="padded")
        prefill_ms = 1000 * (time.perf_counter() - started) / sum(map(len, encoded))
        step_costs = decode_step_costs(model, max(encoded, key=len))
    n = len(prompts)
    one_rate = n / one_s
    print(
        f"one at a time (model.generate per prompt, as the study): {n} examples in {one_s:.1f} s = "
        f"{one_rate:.2f}/s ({one_s / n:.2f} s each)"
    )
    for name, responses, seconds in (
        (f"padded batches of {batch_size}", padded, padded_s),
        (f"continuous ({infer['batch_size']} slots, {infer['token_budget']}-token steps)", continuous, continuous_s),
        (f"transformers' continuous batching ({infer['token_budget']}-token steps)", library, library_s),
    ):
        same = sum(a == b for a, b in zip(single, responses))
        print(f"{name}: {seconds:.1f} s = {n / seconds:.2f}/s, {one_s / seconds:.1f}x; identical responses {same}/{n}")
    print(f"transformers' continuous batching / shoplora's engine, speed: {continuous_s / library_s:.2f}")
    print(
        f"continuous: {stats['steps']} forward passes; prompt tokens computed {stats['prompt_tokens_computed']} "
        f"of {stats['prompt_tokens']} (the rest copied from shared prefixes)"
    )
    print(
        f"prefill: {prefill_ms:.2f} ms per prompt token; one decoding step (per row): "
        + ", ".join(f"batch {b}: {ms:.1f} ms" for b, ms in step_costs.items())
    )
    new_tokens = stats["generated_tokens"]
    floor_s = (stats["prompt_tokens_computed"] * prefill_ms + new_tokens * min(step_costs.values())) / 1000
    print(
        f"floor: {stats['prompt_tokens_computed']} prompt tokens at the prefill rate + {new_tokens} generated "
        f"tokens at the cheapest per-row step = {floor_s:.1f} s, so at most {one_s / floor_s:.1f}x on this machine "
        f"in {str(model.dtype).removeprefix('torch.')}"
    )
    ratio = floor_s / continuous_s
    print(
        f"continuous (the pipeline's engine) / floor: {ratio:.2f} (goal >= 0.75): "
        f"{'MET' if ratio >= 0.75 else 'NOT MET'}"
    )


def decode_step_costs(model, prompt_ids, steps=8):
    """Milliseconds per row of one greedy decoding step after the prompt, at a few batch sizes."""
    import torch

    ids = torch.tensor([prompt_ids])
    costs = {}
    with torch.no_grad():
        for batch in (1, 16, 64):
            cache = model(ids.repeat(batch, 1), use_cache=True, logits_to_keep=1).past_key_values
            token = torch.zeros((batch, 1), dtype=torch.long)
            started = time.perf_counter()
            for _ in range(steps):
                cache = model(token, past_key_values=cache, use_cache=True, logits_to_keep=1).past_key_values
            costs[batch] = 1000 * (time.perf_counter() - started) / steps / batch
    return costs


def fake_response(task, rng):
    """A plausible model answer: right, wrong or malformed, in the task's format."""
    truth, kind = task["output_field"], task["task_type"]
    if kind in ("multiple-choice", "classification"):
        return rng.choice([str(truth), str(rng.randint(0, 3)), "The answer is " + str(truth)])
    if kind in ("ranking", "retrieval"):
        items = list(truth)
        rng.shuffle(items)
        return ", ".join(map(str, items))
    if kind == "named_entity_recognition":
        keep = [t for t in truth if rng.random() < 0.7] + rng.sample(["cotton", "Acme", "steel"], 1)
        return repr(keep) if rng.random() < 0.5 else ", ".join(keep)
    words = (truth if isinstance(truth, str) else truth[0]).split()
    return " ".join(w for w in words if rng.random() < 0.8)


def bench_scoring(tasks, n, sample, resamples):
    rng = random.Random(0)
    drawn = [rng.choice(tasks) for _ in range(n)]
    base = [{**t, "response": fake_response(t, rng)} for t in drawn]
    finetuned = [{**t, "response": fake_response(t, rng)} for t in drawn]
    metrics = sorted({p["metric"] for p in base})
    started = time.perf_counter()
    result = score_predictions(base, "lenient")
    batched_s = time.perf_counter() - started
    started = time.perf_counter()
    for p in base[:sample]:
        score_predictions([p], "lenient")
    single_per = (time.perf_counter() - started) / sample
    print(f"scoring: {n} predictions, {len(result['per_task'])} tasks, metrics {metrics}")
    print(
        f"scoring: {batched_s:.1f} s batched per task; one at a time {single_per * 1000:.1f} ms each "
        f"(on {sample}) -> {single_per * n:.0f} s for {n}; ratio {single_per * n / batched_s:.1f}x"
    )
    started = time.perf_counter()
    other = score_predictions(finetuned, "lenient")
    second_s = time.perf_counter() - started
    started = time.perf_counter()
    table = summary_table(
        [{"model": "base", **result}, {"model": "finetuned", **other}], resamples=resamples, seed=0, confidence=0.95
    )
    bootstrap_s = time.perf_counter() - started
    overall = table[table["level"] == "overall"].iloc[0]
    print(
        f"bootstrap: {resamples} paired resamples of {n} examples in {len(result['per_task'])} tasks: "
        f"{bootstrap_s:.1f} s; overall delta {overall['delta']:+.4f} "
        f"[{overall['delta_ci_low']:+.4f}, {overall['delta_ci_high']:+.4f}]"
    )
    one_model = batched_s + bootstrap_s
    print(
        f"scoring + bootstrap of {n} predictions: {one_model:.1f} s (goal < 60 s): "
        f"{'MET' if one_model < 60 else 'NOT MET'}; the whole table (both models scored): "
        f"{batched_s + second_s + bootstrap_s:.1f} s"
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--examples", type=int, default=96, help="eval examples for the generation part")
    ap.add_argument("--batch-size", type=int, default=16, help="rows per padded batch")
    ap.add_argument("--predictions", type=int, default=20000)
    ap.add_argument("--sample", type=int, default=300, help="predictions scored one at a time")
    ap.add_argument("--resamples", type=int, default=10_000, help="bootstrap resamples")
    ap.add_argument("--skip-generation", action="store_true")
    args = ap.parse_args()
    config = check_config(yaml.safe_load((ROOT / "config/config.yaml").read_text()), base_dir=ROOT)
    tasks = eval_tasks(config)
    if not args.skip_generation:
        bench_generation(config, random.Random(1).sample(tasks, min(args.examples, len(tasks))), args.batch_size)
    bench_scoring(tasks, args.predictions, args.sample, args.resamples)


if __name__ == "__main__":
    main()
