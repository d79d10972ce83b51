#!/usr/bin/env python3
"""Make a library of several models together from libraries of the same transcripts built with
each model alone, without embedding anything again (to compare weights in seconds, not hours).

Usage:
  python scripts/join_models.py OUT LIB_A LIB_B [LIB_C ...] [--weights 0.7,0.3]

OUT becomes a copy of LIB_A rebuilt with the model "A@wa+B@wb..." (``embed.ensemble``): each
passage's vectors are looked up by its embedded text in the single-model libraries. The result
holds the vectors ``podsearch index --model A+B@wb`` would make (checked on E41-E80: equal to
the last bit) and is asked like any library. Weights default to equal shares.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from podsearch.embed.ensemble import EnsembleEmbedder
from podsearch.embed.names import canonical_model_name
from podsearch.pipeline.manage import rebuild_index
from podsearch.store.index import Index


class StoredVectors:
    """An embedder that answers with a library's stored vectors, looked up by text."""

    def __init__(self, library: Path) -> None:
        index = Index(library)
        self.name = index.model
        self.dim = index.dimension
        vectors = index.vectors()
        self._rows = {t: vectors[i] for i, t in enumerate(index.passage_column("embed_text"))}

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        missing = next((t for t in texts if t not in self._rows), None)
        if missing is not None:
            raise SystemExit(f"a passage is not in the {self.name} library: {missing[:60]!r}")
        return np.stack([self._rows[t] for t in texts]).astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("libraries", type=Path, nargs="+")
    ap.add_argument("--weights", help="comma-separated, one per library (default: equal)")
    args = ap.parse_args()
    if len(args.libraries) < 2:
        ap.error("join at least two libraries")
    n = len(args.libraries)
    weights = [float(w) for w in args.weights.split(",")] if args.weights else [1 / n] * n
    if len(weights) != n:
        ap.error(f"{len(weights)} weights for {n} libraries")
    parts = [StoredVectors(lib) for lib in args.libraries]
    pairs = list(zip(parts, weights, strict=True))
    name = canonical_model_name("+".join(f"{p.name}@{w}" for p, w in pairs))
    joined = EnsembleEmbedder(name, pairs)
    if args.out.exists() or args.out.is_symlink():
        raise SystemExit(f"{args.out} exists: choose a new folder")
    # The first library's current files; the rebuild makes OUT a library of its own.
    shutil.copytree(args.libraries[0], args.out)
    report = rebuild_index(args.out, model=name, embedder=joined)
    print(f"{args.out}: {report.passages_total} passages, model {report.model}")


if __name__ == "__main__":
    main()
