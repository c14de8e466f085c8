"""ShopBench scoring as the KDD Cup 2024 starter kit does it: answer parsing, the per-row metrics
and the per-task aggregation. Shared by evaluation and by the quality gate (verification), which
scores a verifier's blind answers to a generated task with the same metric."""
