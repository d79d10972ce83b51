"""Several models as one embedder: each text is embedded by every model, and the vectors are
joined, each scaled by the square root of its model's weight (``names.ensemble_parts``).

Two joined vectors have as inner product the weighted sum of the models' cosines, and a
joined vector has length 1, so the rest of podsearch (the vector index, fusion, the
confidence bar, similar passages) works on the blend unchanged. all-MiniLM-L6-v2 at 0.7
with all-mpnet-base-v2 at 0.3 ranks answers better than either alone on three question sets
(README, "Two models together").
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .base import Embedder


class EnsembleEmbedder:
    """The ``Embedder`` of several weighted models: their vectors, scaled and joined."""

    def __init__(self, name: str, parts: Sequence[tuple[Embedder, float]]) -> None:
        total = sum(w for _, w in parts)
        self.name = name
        self.parts = [e for e, _ in parts]
        # Scaled to sum to 1 (rounded weights in a name may not quite): unit-length vectors.
        self._scales = [math.sqrt(w / total) for _, w in parts]

    @property
    def dim(self) -> int:
        return sum(e.dim for e in self.parts)

    def wait(self) -> None:
        """Block until every model is loaded (those that load in the background)."""
        for e in self.parts:
            wait = getattr(e, "wait", None)
            if wait is not None:
                wait()

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        """The joined vectors, one unit-length row per text."""
        blocks = []
        for embedder, scale in zip(self.parts, self._scales, strict=True):
            vecs = (
                embedder.encode(texts, batch_size=batch_size)
                if batch_size
                else embedder.encode(texts)
            )
            blocks.append(np.asarray(vecs, dtype=np.float32) * np.float32(scale))
        return np.hstack(blocks).astype(np.float32, copy=False)
