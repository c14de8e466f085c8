"""The model runtime shared by the local generation server and inference: loading a model with
its LLaMA-Factory template, and the continuous-batching engine both decode with."""
