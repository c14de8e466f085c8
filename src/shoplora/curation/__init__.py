"""SFT task curation (curate_sft): null and validity filters, exact and ROUGE-L
near-duplicate removal, decontamination against the eval sets."""
