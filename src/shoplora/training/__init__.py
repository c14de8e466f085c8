"""Training stages (prepare_base_model, train_pt, train_sft, select_checkpoint, merge): the base
model folder, LLaMA-Factory configs, launching (torchrun/srun, DeepSpeed), checkpoints, merge."""
