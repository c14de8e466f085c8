"""shoplora: LoRA-tune an LLM on online-shopping concepts (the library behind the Snakemake workflow).

One subpackage per stage, in pipeline order; a stage imports only those before it:
io, tasks, then config (shared by all) -> data -> generation -> curation -> training ->
inference -> evaluation.
"""

__version__ = "0.1.0"
