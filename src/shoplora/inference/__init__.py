"""Inference (infer): batched greedy generation with LLaMA-Factory's template on transformers
(continuous or padded batching) or vLLM, and constrained decoding of numeric answers."""
