"""Evaluation (evaluate, metrics_table, report): ShopBench answer parsing and metrics, per-task
scores, the base-vs-fine-tuned table and the report plots."""
