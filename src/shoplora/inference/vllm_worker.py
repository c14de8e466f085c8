"""The vLLM side of inference, run as `python -m shoplora.inference.vllm_worker REQUEST ANSWERS`.

vLLM pins its own torch and a transformers newer than LLaMA-Factory accepts, so it lives in an
environment of its own (envs/vllm.yaml, or a second venv). The job encodes prompts with
LLaMA-Factory's template in its own environment and hands this worker token ids only; the
worker imports nothing from shoplora but this file, loads one engine and answers every request
(every eval set, every adapter) with it.

REQUEST: JSON {"engine": LLM keywords, "adapters": {name: folder}, "requests": [{
"prompt_token_ids", "max_tokens", "stop_token_ids", "allowed_token_ids" (or null),
"adapter" (a name or null)}]}. ANSWERS: one JSON line {"text": ...} per request, in order.
Written against vLLM 0.34's public API: LLM, SamplingParams, TokensPrompt, LoRARequest.
"""

import json
import os
import sys


def sampling_params(request):
    """SamplingParams keywords of one request: greedy, as the transformers backend decodes."""
    return {
        "temperature": 0.0,
        "max_tokens": request["max_tokens"],
        "stop_token_ids": request["stop_token_ids"],
        "allowed_token_ids": request.get("allowed_token_ids"),
    }


def lora_ids(adapters):
    """Each adapter's LoRARequest id: unique and above 0, as vLLM requires, in name order."""
    return {name: number for number, name in enumerate(sorted(adapters), start=1)}


def answer(request):
    from vllm import LLM, SamplingParams
    from vllm.inputs import TokensPrompt
    from vllm.lora.request import LoRARequest

    adapters = request.get("adapters") or {}
    ids = lora_ids(adapters)
    loras = {name: LoRARequest(name, ids[name], adapters[name]) for name in adapters}
    llm = LLM(**request["engine"])
    rows = request["requests"]
    prompts = [TokensPrompt(prompt_token_ids=row["prompt_token_ids"]) for row in rows]
    params = [SamplingParams(**sampling_params(row)) for row in rows]
    lora_request = [loras[row["adapter"]] if row.get("adapter") else None for row in rows] if loras else None
    outputs = llm.generate(prompts, params, lora_request=lora_request)
    return [output.outputs[0].text for output in outputs]


def main(argv):
    if len(argv) != 3:
        raise SystemExit("usage: python -m shoplora.inference.vllm_worker REQUEST.json ANSWERS.jsonl")
    with open(argv[1], encoding="utf-8") as f:
        request = json.load(f)
    texts = answer(request)
    partial = argv[2] + ".partial"
    with open(partial, "w", encoding="utf-8") as f:
        for text in texts:
            f.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
    os.replace(partial, argv[2])


if __name__ == "__main__":
    main(sys.argv)
