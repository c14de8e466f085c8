"""The ShopBench task record: the registry of task types (answer forms, metrics, constrained
decoding), loading task files with file/line errors, stable ids and validity."""
