import pytest

from shoplora.inference import ANSWER_CHARS, AnswerCharsOnly, answer_token_ids, choose_backend, generate

PROMPTS = ["Which is a shoe?\n0. hat\n1. boot\nAnswer with the number.",
           "Name one brand of running shoes.",
           "Write one sentence about a very long list of kitchen items: pans, pots, knives, spoons, forks."]


def test_batched_left_padded_greedy_equals_one_at_a_time(tiny_model_dir):
    lengths = [6, 8, 10]
    batched = generate(tiny_model_dir, "smollm2", PROMPTS, lengths, batch_size=3)
    single = [generate(tiny_model_dir, "smollm2", [p], [n], batch_size=1)[0] for p, n in zip(PROMPTS, lengths)]
    assert batched == single
    assert all(isinstance(r, str) and r for r in batched)
    assert "<|im_end|>" not in "".join(batched)


def test_constrained_rows_only_write_digits_commas_and_spaces(tiny_model_dir):
    prompts = PROMPTS[:2] + ["Rank these for a runner: 1. boots 2. running shoes 3. sandals. Explain your ranking."]
    free = generate(tiny_model_dir, "smollm2", prompts, [12, 12, 12], batch_size=3)
    held = generate(tiny_model_dir, "smollm2", prompts, [12, 12, 12], batch_size=3,
                    constrained=[True, False, True])
    assert all(set(held[i]) <= ANSWER_CHARS for i in (0, 2))
    assert any(not set(free[i]) <= ANSWER_CHARS for i in (0, 2))  # the constraint changed something
    assert held[1] == free[1]  # an unconstrained row in the same batch is untouched


def test_answer_chars_processor_masks_only_flagged_rows():
    import torch

    scores = torch.zeros(2, 6)
    out = AnswerCharsOnly([1, 4], [True, False])(None, scores.clone())
    assert torch.isinf(out[0, [0, 2, 3, 5]]).all() and (out[0, [1, 4]] == 0).all()
    assert (out[1] == 0).all()


def test_allowed_tokens_decode_to_answer_chars(tiny_model_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    stop = [tokenizer.convert_tokens_to_ids("<|im_end|>")]
    allowed = answer_token_ids(tokenizer, stop)
    assert stop[0] in allowed
    for token in ("1", ",", " 2", "0"):
        assert all(i in allowed for i in tokenizer.encode(token, add_special_tokens=False))
    assert all(set(tokenizer.decode([i])) <= ANSWER_CHARS for i in allowed if i not in stop)
    assert tokenizer.encode("Answer", add_special_tokens=False)[0] not in allowed


def test_backend_choice_without_vllm_or_gpu():
    assert choose_backend("auto") == "transformers"
    assert choose_backend("transformers") == "transformers"
    with pytest.raises(RuntimeError, match="needs the vllm package"):
        choose_backend("vllm")
    with pytest.raises(ValueError, match="infer.backend must be one of"):
        choose_backend("tgi")
