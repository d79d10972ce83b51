"""Several models as one embedder: each text is embedded by every model, and the vectors are
joined, each scaled by the square root of its model's weight (``names.ensemble_parts``).

Two joined vectors have as inner product the weighted sum of the models' cosines, and a
joined vector has length 1, so the rest of podsearch (the vector index, fusion, the
confidence bar, similar passages) works on the blend unchanged. all-MiniLM-L6-v2 at 0.7
with all-mpnet-base-v2 at 0.3 ranks answers better than either alone on three question sets
(README, "Two models together").

Joined vectors can be taken apart again by model (``layout``, from the dimensions the
manifest records, or that the vectors show: ``infer_part_dimensions``): a rebuild to another
weighting or to one of the models rescales the stored vectors and runs no model
(``rejoin``), and one from a model to an ensemble with it runs only the others
(``WithKnownParts``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .base import Embedder
from .names import canonical_model_name, ensemble_parts


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

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int | None = None,
        known: Mapping[int, Callable[[str], np.ndarray | None]] | None = None,
    ) -> np.ndarray:
        """The joined vectors, one unit-length row per text. ``known``: for some parts (by
        position), each text's vector under that model when it is already known (else None);
        a part whose vectors are known for every text is not run."""
        blocks = []
        for i, (embedder, scale) in enumerate(zip(self.parts, self._scales, strict=True)):
            found = [known[i](t) for t in texts] if known and i in known else None
            if found is not None and all(v is not None for v in found):
                vecs: np.ndarray = np.stack(found) if found else np.zeros((0, embedder.dim))
            else:
                vecs = (
                    embedder.encode(texts, batch_size=batch_size)
                    if batch_size
                    else embedder.encode(texts)
                )
            blocks.append(np.asarray(vecs, dtype=np.float32) * np.float32(scale))
        return np.hstack(blocks).astype(np.float32, copy=False)


class WithKnownParts:
    """An ensemble some of whose models' vectors are known already (a library switched from
    one of its models to the ensemble): ``encode`` runs only the other models."""

    def __init__(
        self, ensemble: EnsembleEmbedder, known: Mapping[int, Callable[[str], np.ndarray | None]]
    ) -> None:
        self.ensemble = ensemble
        self.known = known
        self.name = ensemble.name

    @property
    def dim(self) -> int:
        return self.ensemble.dim

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        return self.ensemble.encode(texts, batch_size=batch_size, known=self.known)


# The manifest's record of an ensemble's models' dimensions, in order: ``layout`` needs them.
PART_DIMENSIONS = "part_dimensions"


@dataclass(frozen=True)
class Part:
    """One model's columns in an index's vectors: ``vectors[:, start:end]`` is its unit
    vector times the square root of ``weight`` (a single model: weight 1, every column)."""

    model: str
    weight: float
    start: int
    end: int


def layout(name: str, dimension: int, part_dimensions: Sequence[int] | None) -> list[Part] | None:
    """The parts of vectors of model ``name`` and ``dimension``; None for an ensemble whose
    parts' dimensions are not known (a manifest written before they were recorded)."""
    parts = ensemble_parts(name)
    if parts is None:
        return [Part(canonical_model_name(name), 1.0, 0, dimension)]
    dims = list(part_dimensions or [])
    if len(dims) != len(parts) or sum(dims) != dimension:
        return None
    ends = np.cumsum(dims).tolist()
    return [
        Part(model, weight, end - d, end)
        for (model, weight), d, end in zip(_weights(name), dims, ends, strict=True)
    ]


def infer_part_dimensions(vectors: np.ndarray, name: str) -> list[int] | None:
    """The dimensions of ensemble ``name``'s models, read off its vectors when the manifest
    does not record them (libraries written before it did): model i's block has squared
    length exactly its weight in every row, so the running sum of squares over the columns
    reaches each running weight at the same column in every row, and only there. None when
    no such column is found (or more than one)."""
    parts = ensemble_parts(name)
    if parts is None or len(vectors) == 0:
        return None
    sample = np.asarray(vectors, dtype=np.float64)
    sample = sample[np.linalg.norm(sample, axis=1) > 0.5]  # an empty text's vector is 0
    if len(sample) == 0:
        return None
    running = np.cumsum(sample**2, axis=1)  # rows x columns
    ends = []
    for w in np.cumsum([w for _, w in _weights(name)])[:-1]:
        hits = np.flatnonzero(np.all(np.abs(running - w) < 1e-4, axis=0))
        if len(hits) != 1:  # columns of zeros in every row make it ambiguous
            return None
        ends.append(int(hits[0]) + 1)
    ends.append(sample.shape[1])
    return np.diff([0, *ends]).tolist()


def _weights(name: str) -> list[tuple[str, float]]:
    """Each model of ``name`` with its share of the whole, as ``EnsembleEmbedder`` scales it
    (the weights in a name are rounded, so they may not add up to exactly 1)."""
    parts = ensemble_parts(name) or [(canonical_model_name(name), 1.0)]
    total = sum(w for _, w in parts)
    return [(m, w / total) for m, w in parts]


def carried_parts(old: list[Part] | None, new_name: str) -> dict[int, Part]:
    """Which models of ``new_name`` (by position) the vectors laid out as ``old`` hold."""
    by_model = {p.model: p for p in old or []}
    wanted = _weights(new_name)
    return {i: by_model[m] for i, (m, _) in enumerate(wanted) if m in by_model}


def part_vectors(vectors: np.ndarray, part: Part) -> np.ndarray:
    """One model's own unit vectors, taken out of an index's vectors."""
    return vectors[:, part.start : part.end] / np.float32(math.sqrt(part.weight))


def rejoin(vectors: np.ndarray, old: list[Part], new_name: str) -> np.ndarray | None:
    """The vectors of model ``new_name`` made from vectors laid out as ``old`` when they hold
    every model of it (another weighting, or one model of an ensemble), else None. Nothing
    is embedded: each model's block is rescaled."""
    carried = carried_parts(old, new_name)
    wanted = _weights(new_name)
    if len(carried) < len(wanted):
        return None
    joined = np.hstack(
        [
            part_vectors(vectors, carried[i]) * np.float32(math.sqrt(w))
            for i, (_, w) in enumerate(wanted)
        ]
    ).astype(np.float32, copy=False)
    # Unit length again: float32 rounding of the scales must not drift the cosines.
    return joined / np.clip(np.linalg.norm(joined, axis=1, keepdims=True), 1e-12, None)
