"""release: the fine-tuned model, its adapter and the curated datasets as a folder a team can
pull or push to the Hugging Face Hub, each with its card."""
