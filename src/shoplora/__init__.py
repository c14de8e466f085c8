"""shoplora: LoRA-tune an LLM on online-shopping concepts (library behind the Snakemake workflow)."""

__version__ = "0.1.0"
