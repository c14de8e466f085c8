"""The metadata shoplora writes beside every model folder it makes: origin and chat template.

Generation, training and inference all read it, so it lives here rather than in training.
"""

import json
from pathlib import Path

MODEL_META = "shoplora_model.json"


def read_model_meta(model_dir):
    """What shoplora recorded with a model folder: its origin and chat template."""
    return json.loads((Path(model_dir) / MODEL_META).read_text())


def write_model_meta(model_dir, meta):
    (Path(model_dir) / MODEL_META).write_text(json.dumps(meta, indent=2) + "\n")
