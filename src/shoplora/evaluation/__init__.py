"""Evaluation (evaluate, metrics_table, report): per-task scores (with `scoring`, the kit's
parsing and metrics), the base-vs-fine-tuned table and the report plots."""
