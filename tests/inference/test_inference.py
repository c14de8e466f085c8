import io

import pytest

import shoplora.runtime.continuous as continuous
from shoplora.config.schema import section_defaults
from shoplora.inference.constraint import ANSWER_CHARS, AnswerCharsOnly, answer_token_ids
from shoplora.inference.generator import Generator, choose_backend, generate
from shoplora.runtime.continuous import _Cache, _Slots, generate_continuous, unsupported_reason

INFER = section_defaults("infer", backend="transformers")
ENGINE = {
    key: INFER[key] for key in ("backend", "dtype", "engine", "token_budget", "max_prompt_tokens", "overlong_prompts")
}
PROMPTS = [
    "Which is a shoe?\n0. hat\n1. boot\nAnswer with the number.",
    "Name one brand of running shoes.",
    "Write one sentence about a very long list of kitchen items: pans, pots, knives, spoons, forks.",
]


@pytest.fixture(scope="module")
def generator(tiny_model_dir):
    return Generator(tiny_model_dir, "smollm2", **ENGINE)


def one_at_a_time(generator, prompts, lengths):
    """The study's way: plain model.generate on one prompt at a time."""
    return [generator.run([p], [n], batch_size=1, engine="padded")[0] for p, n in zip(prompts, lengths)]


@pytest.mark.parametrize("engine", ["continuous", "padded"])
def test_batched_greedy_equals_one_at_a_time(generator, engine):
    lengths = [6, 8, 10]
    batched = generator.run(PROMPTS, lengths, batch_size=3, engine=engine)
    assert batched == one_at_a_time(generator, PROMPTS, lengths)
    assert all(isinstance(r, str) and r for r in batched)
    assert "<|im_end|>" not in "".join(batched)


SHARED = "Rank these listings for a customer who needs running shoes, best first:\n"
RANKING = [
    SHARED + "1. trail runners\n2. sandals\n3. ski boots",
    SHARED + "1. sandals\n2. road runners\n3. clogs",
    SHARED + "1. slippers\n2. spikes",
    "Name one brand of running shoes.",
    SHARED + "1. boots",
]


def test_continuous_slot_reuse_chunked_prompts_and_shared_prefixes_keep_greedy_answers(generator):
    """2 slots for 5 prompts and 9-token steps: prompts are read in chunks over several steps,
    sequences join as others leave, and the shared instruction is copied, not recomputed;
    the answers are still those of model.generate one prompt at a time."""
    from shoplora.runtime.model import encode_prompt

    lengths = [12, 5, 9, 7, 3]
    encoded = [encode_prompt(generator.template, generator.tokenizer, p) for p in RANKING]
    stats = {}
    ids = generate_continuous(
        generator._load(), encoded, lengths, generator.stop_ids, slots=2, token_budget=9, stats=stats
    )
    answers = [generator.tokenizer.decode(i, skip_special_tokens=True) for i in ids]
    assert answers == one_at_a_time(generator, RANKING, lengths)
    assert all(len(i) <= n for i, n in zip(ids, lengths))
    assert stats["prompt_tokens"] == sum(map(len, encoded))
    # Every prompt after the first shares at least the system prompt; the ranking prompts
    # share the instruction as well.
    assert stats["prompt_tokens_computed"] < stats["prompt_tokens"] - 4 * 20
    assert stats["steps"] > max(lengths)
    assert stats["generated_tokens"] == sum(map(len, ids))


def test_slots_reuse_a_held_prefix_in_place_or_copy_it():
    import torch

    cache = _Cache(slots=3, max_len=8)
    keys, values = cache.layer(0, torch.zeros(1, 1, 1, 2), torch.zeros(1, 1, 1, 2))
    slots = _Slots(3)
    first, shared = slots.take([1, 2, 3, 4], cache)
    assert (first, shared) == (0, 0)
    keys[0, 0, :4] = torch.arange(1.0, 5.0)[:, None]
    slots.progress(0, 4)
    # Slot 0 is still in use: the common prefix [1, 2, 3] is copied into a free slot.
    second, shared = slots.take([1, 2, 3, 9, 9], cache)
    assert (second, shared) == (1, 3)
    assert keys[1, 0, :3, 0].tolist() == [1.0, 2.0, 3.0] and keys[1, 0, 3, 0] == 0
    # Once slot 0 is free, a prompt that shares its prefix takes slot 0 itself, no copy.
    slots.release(0)
    third, shared = slots.take([1, 2, 3, 4, 5], cache)
    assert (third, shared) == (0, 4)
    # A prompt equal to a held one still reads its last token, which yields the first answer token.
    slots.release(0)
    assert slots.take([1, 2, 3, 4], cache) == (0, 3)


# Randomly initialised models small enough to build in a test.
TINY_SHAPE = dict(
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=1,
    num_attention_heads=2,
    num_key_value_heads=1,
    vocab_size=64,
)


def test_models_whose_attention_the_engine_does_not_implement_are_named():
    from transformers import (
        Gemma2Config,
        Gemma2ForCausalLM,
        LlamaConfig,
        LlamaForCausalLM,
        MistralConfig,
        MistralForCausalLM,
    )

    small = TINY_SHAPE
    assert unsupported_reason(LlamaForCausalLM(LlamaConfig(**small))) is None
    assert (
        unsupported_reason(MistralForCausalLM(MistralConfig(**small, sliding_window=16))) == "sliding-window attention"
    )
    assert unsupported_reason(MistralForCausalLM(MistralConfig(**small, sliding_window=None))) is None
    assert unsupported_reason(Gemma2ForCausalLM(Gemma2Config(**small, head_dim=16))) is not None


def test_continuous_engine_is_for_the_installed_transformers():
    """The engine reads transformers internals: a new transformers release must be checked
    (tests/inference and bench/bench_inference.py) before WRITTEN_FOR is moved to it."""
    installed = continuous.installed_transformers()
    assert installed == continuous.WRITTEN_FOR, (
        f"transformers {installed} is installed, but src/shoplora/runtime/continuous.py was written for "
        f"{continuous.WRITTEN_FOR}.x: infer now falls back to padded batches. Run tests/inference and "
        "bench/bench_inference.py on the new release, then update WRITTEN_FOR."
    )


def test_another_transformers_release_falls_back_to_padded_batches(monkeypatch, tiny_model_dir):
    from transformers import LlamaConfig, LlamaForCausalLM

    model = LlamaForCausalLM(LlamaConfig(**TINY_SHAPE))
    monkeypatch.setattr(continuous, "WRITTEN_FOR", "4.0")
    assert (
        unsupported_reason(model)
        == f"transformers {continuous.installed_transformers()} (it was written and tested for 4.0.x only)"
    )
    progress = io.StringIO()
    answers = generate(tiny_model_dir, "smollm2", PROMPTS[:2], [6, 6], batch_size=2, **ENGINE, progress=progress)
    assert "continuous batching does not implement transformers" in progress.getvalue()
    assert answers == generate(
        tiny_model_dir,
        "smollm2",
        PROMPTS[:2],
        [6, 6],
        batch_size=2,
        **{**ENGINE, "engine": "padded"},
        progress=io.StringIO(),
    )


def test_constrained_rows_only_write_digits_commas_and_spaces(tiny_model_dir):
    prompts = PROMPTS[:2] + ["Rank these for a runner: 1. boots 2. running shoes 3. sandals. Explain your ranking."]
    free = generate(tiny_model_dir, "smollm2", prompts, [12, 12, 12], batch_size=3, **ENGINE)
    held = generate(
        tiny_model_dir, "smollm2", prompts, [12, 12, 12], batch_size=3, **ENGINE, constrained=[True, False, True]
    )
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
    with pytest.raises(RuntimeError, match="needs a GPU and vLLM installed"):
        choose_backend("vllm")
    with pytest.raises(ValueError, match="infer.backend must be one of"):
        choose_backend("tgi")


@pytest.mark.parametrize("mode", ["truncate", "fail"])
def test_an_overlong_prompt_is_never_fed_whole(tiny_model_dir, mode):
    """A 1 MB eval row made infer grow to 22.6 GB; now a prompt over the limit is cut in the
    middle or refused, and the others in the batch are untouched."""
    huge = "Describe this listing: " + "soft cotton shirt " * 60_000 + "\nAnswer in one word."
    engine = {**ENGINE, "max_prompt_tokens": 256, "overlong_prompts": mode}
    generator = Generator(tiny_model_dir, "smollm2", **engine)
    answers = generator.run([PROMPTS[1], huge], [6, 6], batch_size=2)
    short = Generator(tiny_model_dir, "smollm2", **ENGINE).run([PROMPTS[1]], [6], batch_size=1)
    assert answers[0] == short[0] and generator.prompt_notes[0] is None
    note = generator.prompt_notes[1]
    if mode == "fail":
        assert answers[1] == "" and note.startswith("prompt_too_long: ") and note.endswith("> 256")
    else:
        assert answers[1] and note.startswith("prompt_truncated: ") and note.endswith("-> 256 tokens")


def test_cut_middle_keeps_the_start_and_the_answer_header():
    from shoplora.inference.generator import cut_middle

    ids = list(range(1000))
    cut = cut_middle(ids, 100)
    assert len(cut) == 100 and cut[:68] == ids[:68] and cut[68:] == ids[-32:]
