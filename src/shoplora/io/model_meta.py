"""The metadata shoplora writes beside every model folder it makes: origin and chat template.

Generation, training and inference all read it, so it lives here rather than in training.
"""

import hashlib
import json
from pathlib import Path

MODEL_META = "shoplora_model.json"


def read_model_meta(model_dir):
    """What shoplora recorded with a model folder: its origin and chat template."""
    return json.loads((Path(model_dir) / MODEL_META).read_text())


def write_model_meta(model_dir, meta):
    (Path(model_dir) / MODEL_META).write_text(json.dumps(meta, indent=2) + "\n")


def model_identity(model_dir):
    """A short hash of what makes a model folder answer as it does: shoplora's record of its
    origin, its config.json and the names and sizes of its weight files (not their bytes,
    which would take minutes to read for a 9B model)."""
    folder = Path(model_dir)
    parts = [(folder / name).read_text() for name in (MODEL_META, "config.json") if (folder / name).exists()]
    weights = sorted(p for p in folder.iterdir() if p.suffix in (".safetensors", ".bin", ".gguf"))
    parts += [f"{p.name}:{p.stat().st_size}" for p in weights]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
