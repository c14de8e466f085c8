"""Input and output every stage shares: atomic writes, JSON Lines, drop records and their
accounting, model-folder metadata, and the glue for Snakemake script adapters."""
