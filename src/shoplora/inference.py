"""infer: batched greedy generation with prompts encoded by LLaMA-Factory's own template."""

import sys
import time
from pathlib import Path


class TemplateMismatchError(RuntimeError):
    pass


def load_template(tokenizer, name):
    """LLaMA-Factory's Template object, the one training encodes with."""
    from llamafactory.data import get_template_and_fix_tokenizer
    from llamafactory.hparams import DataArguments

    return get_template_and_fix_tokenizer(tokenizer, DataArguments(template=name))


def encode_prompt(template, tokenizer, prompt):
    """Token ids of the prompt exactly as SFT training encodes an alpaca instruction."""
    messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": ""}]
    prompt_ids, _ = template.encode_oneturn(tokenizer, messages)
    return prompt_ids


def check_template(model_dir, template_name):
    """Stop when the model was trained with a different template than inference uses."""
    from .model_prep import MODEL_META, read_model_meta

    if (Path(model_dir) / MODEL_META).exists():
        recorded = read_model_meta(model_dir).get("template")
        if recorded and recorded != template_name:
            raise TemplateMismatchError(f"{model_dir} was trained with template '{recorded}' but "
                                        f"inference is configured with '{template_name}'")


def generate(model_dir, template_name, prompts, max_new_tokens, batch_size=8, progress=sys.stderr):
    """Greedy responses for `prompts`; max_new_tokens is a list aligned with prompts."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    check_template(model_dir, template_name)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    template = load_template(tokenizer, template_name)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    model.eval()
    stop_ids = template.get_stop_token_ids(tokenizer)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stop_ids[0]
    encoded = [encode_prompt(template, tokenizer, p) for p in prompts]
    # Batch similar lengths together: less padding, same greedy result.
    order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))
    responses = [None] * len(prompts)
    started = time.monotonic()
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        width = max(len(encoded[i]) for i in idx)
        input_ids = torch.tensor([[pad_id] * (width - len(encoded[i])) + encoded[i] for i in idx])
        attention = torch.tensor([[0] * (width - len(encoded[i])) + [1] * len(encoded[i]) for i in idx])
        with torch.no_grad():
            out = model.generate(input_ids=input_ids, attention_mask=attention, do_sample=False,
                                 max_new_tokens=max(max_new_tokens[i] for i in idx),
                                 eos_token_id=stop_ids, pad_token_id=pad_id)
        for row, i in enumerate(idx):
            new_tokens = out[row, width:width + max_new_tokens[i]].tolist()
            cut = next((k for k, t in enumerate(new_tokens) if t in stop_ids), len(new_tokens))
            responses[i] = tokenizer.decode(new_tokens[:cut], skip_special_tokens=True)
        done = min(start + batch_size, len(order))
        print(f"infer: {done}/{len(order)} examples, {done / (time.monotonic() - started):.2f}/s",
              file=progress, flush=True)
    return responses
