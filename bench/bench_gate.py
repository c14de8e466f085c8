"""The quality gate's catch rate: wrong answers planted into a copy of the default's generated
tasks, and how many of them the gate catches with `samples` 1, 3 and 5.

Every task is planted once with a wrong `output_field` (another option, the order reversed,
the complement of a retrieval set, entities the text does not list as such, another task's
answer) beside its original. The baseline, measured in the same run, is the gate's rate on the
originals: a gate that fails every task catches every planted one, so the figure that says
something is the ratio of the catch rate to the false-alarm rate (1.0: no better than chance).

With no --base-url, the verifier and judge are the default's: the local provider serving
results/model/base (run `make run` first, or point --tasks and --model elsewhere). Requests go
through the gate's response cache in --cache (fresh by default), so samples 3 and 5 buy only
the samples they add.

Usage: bench/bench_gate.py [--tasks results/generated/local/tasks.jsonl] [--model results/model/base]
       [--samples 1 3 5] [--base-url URL --model-name NAME] [--json OUT]
"""

import argparse
import contextlib
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

import yaml  # noqa: E402

from shoplora.config.check import check_config  # noqa: E402
from shoplora.generation.endpoint import provider_endpoint  # noqa: E402
from shoplora.tasks.records import task_id  # noqa: E402
from shoplora.tasks.spec import INTEGER, INTEGER_LIST, STRING_LIST  # noqa: E402
from shoplora.tasks.types import spec  # noqa: E402
from shoplora.tasks.validity import option_numbers  # noqa: E402
from shoplora.verification.gate import decide  # noqa: E402
from shoplora.verification.run import check_tasks  # noqa: E402


def wrong_answer(task, others, rng):
    """A wrong `output_field` for `task`, or None when its type leaves no wrong one."""
    answer, form = task["output_field"], spec(task["task_type"]).answer
    options = option_numbers(task["input_field"])
    if task["task_type"] == "ranking":
        return answer[::-1] if len(answer) > 1 else None
    if form == INTEGER:
        wrong = [n for n in options if n != answer]
        return rng.choice(wrong) if wrong else None
    if form == INTEGER_LIST:
        wrong = [n for n in options if n not in answer]
        return wrong or None
    if form == STRING_LIST:
        truth = {a.lower() for a in answer}
        words = [w.strip(".,:;!?'\"()") for w in task["input_field"].split()]
        wrong = [w for w in dict.fromkeys(words) if len(w) > 3 and w.lower() not in truth][:2]
        return wrong or None
    texts = [o["output_field"] for o in others if o["output_field"] != answer]
    return rng.choice(texts) if texts else None


def plant(tasks, seed=0):
    """(originals, planted copies): one planted copy per task that has a wrong answer."""
    rng = random.Random(seed)
    planted = []
    for task in tasks:
        same_type = [o for o in tasks if o["task_type"] == task["task_type"]]
        wrong = wrong_answer(task, same_type, rng)
        if wrong is None:
            continue
        copy = {**task, "output_field": wrong, "source": "planted"}
        planted.append({**copy, "id": task_id(copy)})
    return tasks, planted


def rates(verdicts, planted_ids):
    """Shares failing the gate (any reason) and the answer check alone, planted vs originals."""
    out = {}
    for name, group in (("planted", True), ("original", False)):
        rows = [v for v in verdicts if (v["id"] in planted_ids) == group]
        checked = [v for v in rows if v["agreement"] is not None]
        judged = [v for v in rows if v["judge"] is not None]
        out[name] = {
            "tasks": len(rows),
            "failed_gate": sum(v["gate"] == "fail" for v in rows) / len(rows) if rows else 0.0,
            "judged": len(judged),
            "judged_incorrect": sum(not v["judge"]["answer_correct"] for v in judged) / len(judged) if judged else 0.0,
            "answer_checked": len(checked),
            "answer_disagrees": (
                sum("answer_disagrees" in v["gate_reasons"] for v in checked) / len(checked) if checked else 0.0
            ),
        }
    return out


def ratio(caught, false_alarm):
    return caught / false_alarm if false_alarm else float("inf") if caught else 1.0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=str(ROOT / "results/generated/local/tasks.jsonl"))
    parser.add_argument("--model", default=str(ROOT / "results/model/base"))
    parser.add_argument("--samples", type=int, nargs="+", default=[1, 3, 5])
    parser.add_argument("--base-url", help="an OpenAI-compatible endpoint instead of the local model")
    parser.add_argument("--model-name", default="m")
    parser.add_argument("--cache", help="the gate's response cache folder (default: a fresh one)")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args(argv)

    config = check_config(yaml.safe_load((ROOT / "config/config.yaml").read_text()), base_dir=ROOT)
    tasks = [json.loads(line) for line in Path(args.tasks).read_text().splitlines() if line.strip()]
    originals, planted = plant(tasks)
    planted_ids = {t["id"] for t in planted}
    both = originals + planted
    templates = {p.stem: p.read_text() for p in (ROOT / config["verify"]["judge_prompts"]).glob("*.txt")}
    if args.base_url:
        provider = {**config["generation"]["providers"]["local"], "name": "bench", "kind": "openai",
                    "base_url": args.base_url, "model": args.model_name}  # fmt: skip
    else:
        provider = {**config["generation"]["providers"]["local"], "name": "local"}
    print(f"{len(originals)} generated tasks, {len(planted)} planted copies with a wrong answer", flush=True)

    results = []
    with contextlib.ExitStack() as stack:
        cache = Path(args.cache) if args.cache else Path(stack.enter_context(tempfile.TemporaryDirectory()))
        live = stack.enter_context(provider_endpoint(provider, args.model, cache, sys.stderr))
        for samples in args.samples:
            cfg = {**config["verify"], "samples": samples, "mode": "flag"}
            started = time.perf_counter()
            checks, judgments, stats = check_tasks(
                both, live, live, cfg, templates, config["infer"]["max_new_tokens"],
                config["evaluate"]["parse_mode"], cache, sys.stderr,
            )  # fmt: skip
            _, _, verdicts, _ = decide(both, checks, judgments, {}, cfg, "bench")
            figures = rates(verdicts, planted_ids)
            bought = sum(s["todo"] for s in stats.values() if s)
            results.append({"samples": samples, "seconds": round(time.perf_counter() - started, 1),
                            "requests_bought": bought, **figures})  # fmt: skip

    print("\nsamples | planted caught (gate) | originals failed (gate) | ratio | planted caught (answer check) "
          "| originals disagreeing | ratio | planted judged incorrect | originals judged incorrect | ratio "
          "| requests bought | s")  # fmt: skip
    for r in results:
        p, o = r["planted"], r["original"]
        cells = [str(r["samples"])]
        for key, count in (
            ("failed_gate", None),
            ("answer_disagrees", "answer_checked"),
            ("judged_incorrect", "judged"),
        ):
            for side in (p, o):
                cells.append(f"{side[key]:.2f}" + (f" of {side[count]}" if count else ""))
            cells.append(f"{ratio(p[key], o[key]):.2f}")
        print(" | ".join([*cells, str(r["requests_bought"]), str(r["seconds"])]))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
