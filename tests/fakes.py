"""Test doubles: a deterministic, offline embedder, registered under the model name ``fake``
(and ``fake-DIM``) so that indexes built with it are asked with it too."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from podsearch.core.errors import ModelLoadError
from podsearch.embed.factory import register_backend

FAKE_PREFIX = "fake"


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


def register() -> None:
    """Route the model names ``fake`` and ``fake-DIM`` to FakeEmbedder in this process."""
    register_backend(FAKE_PREFIX, lambda name, device, precision: FakeEmbedder(name))
