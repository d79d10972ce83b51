"""Where ONNX exports of models live: ``$PODSEARCH_CACHE/onnx/<key>/`` (default
``$XDG_CACHE_HOME/podsearch`` or ``~/.cache/podsearch``), not in the index folder.

The export depends only on the model, so every index built with it shares one copy (90 MB for
the default model); an index stays a pure function of its sources; and a read-only or shared
index still gets a fast query path.

The key is the model's content: a SHA-256 over its files' bytes (or, for a hub model, the
revision in the local Hugging Face cache). Reinstalling the same model elsewhere (a new venv)
finds the same export instead of making another 180 MB one; a changed model gets a new one.
Hashing 90 MB takes ~0.2 s, so each folder's content hash is remembered in ``keys.json``
under a cheap fingerprint (path, names, sizes, modification times): a question only stats the
model's files.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .names import cache_root, canonical_model_name, resolve_model_location

EXPORT_VERSION = 2  # 2: model.opt.onnx made from the fused graph (embed/fusion.py)
CONFIG_FILE = "podsearch_onnx.json"
MODEL_FILE = "model.onnx"
OPT_MODEL_FILE = "model.opt.onnx"
OPT_DATA_FILE = "model.opt.data"  # its weights, stored apart: loading them is 3x faster
TOKENIZER_FILE = "tokenizer.json"
INT8_MODEL_FILE = "model.int8.onnx"
KEYS_FILE = "keys.json"


def _hub_snapshot(name: str) -> str:
    """The revision of a hub model in the local Hugging Face cache, if any (cheap lookup)."""
    hub = Path(
        os.environ.get("HF_HUB_CACHE")
        or Path(os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface") / "hub"
    )
    ref = hub / ("models--" + name.replace("/", "--")) / "refs" / "main"
    try:
        return ref.read_text().strip()
    except OSError:
        return ""


def _model_files(folder: Path) -> list[Path]:
    return sorted(f for f in folder.rglob("*") if f.is_file() and "__pycache__" not in f.parts)


def content_hash(folder: Path) -> str:
    """SHA-256 over the relative names and bytes of every file of a model folder."""
    h = hashlib.sha256()
    for f in _model_files(folder):
        h.update(str(f.relative_to(folder)).encode() + b"\0")
        with open(f, "rb") as fh:
            for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                h.update(block)
        h.update(b"\0")
    return h.hexdigest()


def _fingerprint(folder: Path) -> str:
    """Cheap identity of a folder's current files: path, names, sizes, modification times."""
    parts: list[Any] = [str(folder.resolve())]
    for f in _model_files(folder):
        st = f.stat()
        parts.append([str(f.relative_to(folder)), st.st_size, st.st_mtime_ns])
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def remembered_hash(folder: Path) -> str:
    """The content hash of a model folder, computed once per fingerprint and remembered."""
    keys_path = cache_root() / "onnx" / KEYS_FILE
    fingerprint = _fingerprint(folder)
    try:
        keys: dict[str, str] = json.loads(keys_path.read_text())
    except (OSError, ValueError):
        keys = {}
    if fingerprint in keys:
        return keys[fingerprint]
    digest = content_hash(folder)
    keys[fingerprint] = digest
    try:  # best effort: a read-only cache only costs a re-hash next time
        keys_path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".keys-", dir=keys_path.parent)
        with os.fdopen(fd, "w") as fh:
            json.dump(keys, fh)
        os.replace(tmp, keys_path)
    except OSError:
        pass
    return digest


def model_key(name: str, location: str) -> str:
    """The cache key of a model: a readable slug of its name and a digest of its content
    (files of a local folder, else the hub revision)."""
    loc = Path(location)
    content = remembered_hash(loc) if loc.is_dir() else f"{location}@{_hub_snapshot(location)}"
    digest = hashlib.sha256(json.dumps([EXPORT_VERSION, content]).encode()).hexdigest()[:20]
    slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in name.split("/")[-1])[:40]
    return f"{slug}-{digest}"


def export_dir(name: str) -> Path:
    """The cache folder of ``name``'s export (which may not exist yet)."""
    canonical = canonical_model_name(name)
    return cache_root() / "onnx" / model_key(canonical, resolve_model_location(canonical))


def find_export(name: str) -> Path | None:
    """The folder of a complete export of ``name``, or None."""
    folder = export_dir(name)
    try:
        config = json.loads((folder / CONFIG_FILE).read_text())
    except (OSError, ValueError):
        return None
    if config.get("export_version") != EXPORT_VERSION:
        return None
    if not (folder / TOKENIZER_FILE).is_file() or not (folder / MODEL_FILE).is_file():
        return None
    return folder
