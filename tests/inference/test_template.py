"""Inference prompts are encoded exactly as LLaMA-Factory's SFT preprocessing encodes them."""

import pytest

from shoplora.inference.generator import TemplateMismatchError, check_template
from shoplora.runtime.model import encode_prompt, load_template


def test_inference_prompt_ids_equal_the_training_prompt_ids(tiny_model_dir):
    from llamafactory.data.processor.supervised import SupervisedDatasetProcessor
    from llamafactory.extras.constants import IGNORE_INDEX
    from llamafactory.hparams import DataArguments
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    template = load_template(tokenizer, "smollm2")
    data_args = DataArguments(template="smollm2", cutoff_len=4096, train_on_prompt=False)
    processor = SupervisedDatasetProcessor(template=template, tokenizer=tokenizer, processor=None, data_args=data_args)
    prompt = "Which category fits 'Zenflow Yoga Mat'?\n0. Toys\n1. Sports & Outdoors\nAnswer with the number."
    input_ids, labels = processor._encode_data_example(
        prompt=[{"role": "user", "content": prompt}],
        response=[{"role": "assistant", "content": "1"}],
        system="",
        tools="",
        images=[],
        videos=[],
        audios=[],
    )
    train_prompt_ids = [t for t, label in zip(input_ids, labels) if label == IGNORE_INDEX]
    assert encode_prompt(template, tokenizer, prompt) == train_prompt_ids
    assert tokenizer.decode(train_prompt_ids).endswith("<|im_start|>assistant\n")


def test_template_mismatch_stops_inference(tiny_model_dir):
    check_template(tiny_model_dir, "smollm2")
    with pytest.raises(TemplateMismatchError, match="trained with template 'smollm2'"):
        check_template(tiny_model_dir, "yi")
