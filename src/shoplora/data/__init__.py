"""Data stages (download_corpus, build_pt_corpus, download_task_set, build_datasets): sources
(file, url, hf), downloads, the PT corpus, external task sets and LLaMA-Factory datasets."""
