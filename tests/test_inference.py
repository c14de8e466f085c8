from shoplora.inference import generate

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
