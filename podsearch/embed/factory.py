"""Which embedder to use: for questions (torch-free when possible), for passages (fast on a
CPU, on a GPU when there is one), and for model names routed to a registered backend.

Backends other than sentence-transformers models plug in with ``register_backend``: model
names equal to its prefix, or starting with ``prefix-``, are made by its factory (the tests
register a deterministic fake this way).
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable
from pathlib import Path

from ..core.errors import ModelLoadError
from .base import PRECISIONS, Embedder, EmbedderNotice, RememberedQuestions
from .ensemble import EnsembleEmbedder
from .names import DEFAULT_MODEL, canonical_model_name, ensemble_parts
from .st_backend import SentenceTransformerEmbedder, gpu_requested

# (model name, device, precision) -> an Embedder.
BackendFactory = Callable[[str, str | None, str], Embedder]
_BACKENDS: dict[str, BackendFactory] = {}


def register_backend(prefix: str, factory: BackendFactory) -> None:
    """Make model names ``prefix`` and ``prefix-...`` with ``factory``. An index pins the name,
    so the same backend must be registered in the process that later asks it questions."""
    _BACKENDS[prefix] = factory
    _QUERY_EMBEDDERS.clear()


def _backend(name: str) -> BackendFactory | None:
    for prefix, factory in _BACKENDS.items():
        if name == prefix or name.startswith(prefix + "-"):
            return factory
    return None


def load_embedder(name: str | None = None, device: str | None = None) -> Embedder:
    """An embedder for a model name: a registered backend's, else sentence-transformers."""
    name = name or DEFAULT_MODEL
    ensemble = _ensemble(name, lambda part: load_embedder(part, device))
    if ensemble is not None:
        return ensemble
    factory = _backend(name)
    if factory is not None:
        return factory(name, device, "fp32")
    return SentenceTransformerEmbedder(name, device=device)


def _ensemble(name: str, make: Callable[[str], Embedder]) -> Embedder | None:
    """An ``EnsembleEmbedder`` of ``make(part)`` for an ensemble name, else None."""
    parts = ensemble_parts(name)
    if parts is None:
        return None
    return EnsembleEmbedder(canonical_model_name(name), [(make(m), w) for m, w in parts])


_QUERY_EMBEDDERS: dict[tuple[str, ...], Embedder] = {}
_QUERY_LOCK = threading.Lock()


def load_query_embedder(name: str | None = None, *, long_lived: bool = False) -> Embedder:
    """The embedder for questions, cached per model for the life of the process.

    The model's ONNX export run by onnxruntime (no torch: starts in a fraction of a second),
    exported on first use if the cache has none. When the model cannot be exported (or
    ``PODSEARCH_ONNX=0``), sentence-transformers, with an ``EmbedderNotice`` warning in the
    first case. ``long_lived`` (a server): a session that loads slower and runs faster
    (prepacked weights, spinning threads: ``onnx_backend.session_options``; a warm question
    embeds in ~2.3 ms instead of ~3.3 ms here) and remembers recent questions
    (``RememberedQuestions``).
    """
    name = canonical_model_name(name)
    key = (
        name,
        str(long_lived),
        os.environ.get("PODSEARCH_CACHE", ""),
        os.environ.get("PODSEARCH_ONNX", ""),
    )
    with _QUERY_LOCK:
        embedder = _QUERY_EMBEDDERS.get(key)
        if embedder is None:
            embedder = _make_query_embedder(name, long_lived)
            if long_lived:
                embedder = RememberedQuestions(embedder)
            _QUERY_EMBEDDERS[key] = embedder
    return embedder


def has_export(name: str) -> bool:
    """Whether the ONNX export of ``name`` (of each model of an ensemble) is in the cache."""
    from .export_cache import find_export

    parts = ensemble_parts(name)
    return all(find_export(m) is not None for m in ([m for m, _ in parts] if parts else [name]))


def _make_query_embedder(name: str, long_lived: bool) -> Embedder:
    # Each model of an ensemble loads in its own background thread, side by side.
    ensemble = _ensemble(name, lambda part: _make_query_embedder(part, long_lived))
    if ensemble is not None:
        return ensemble
    factory = _backend(name)
    if factory is not None:
        return factory(name, None, "fp32")
    if os.environ.get("PODSEARCH_ONNX", "1") == "0":
        return SentenceTransformerEmbedder(name)
    from .export_cache import find_export
    from .onnx_backend import OnnxEmbedder, OnnxExportError, export_model

    folder = find_export(name)
    if folder is not None:
        return OnnxEmbedder(folder, name=name, prepack=long_lived, spinning=long_lived)
    fallback = SentenceTransformerEmbedder(name)
    try:
        folder = export_model(name, fallback.load())
        warnings.warn(
            f"exported {name} to ONNX in {folder} (once): later questions start fast",
            EmbedderNotice,
            stacklevel=3,
        )
        return OnnxEmbedder(folder, name=name, prepack=long_lived, spinning=long_lived)
    except OnnxExportError as e:
        warnings.warn(
            f"using sentence-transformers for queries (slower start): {e}",
            EmbedderNotice,
            stacklevel=3,
        )
    return fallback


def load_index_embedder(
    name: str | None = None, device: str | None = None, precision: str = "fp32"
) -> Embedder:
    """The embedder for passages at index time.

    On a CPU: the model's ONNX export run by onnxruntime (exported first if needed), which
    gives sentence-transformers' vectors (cosine 1.000000 on the dev passages) ~1.6x faster
    and without importing torch. On a GPU (``device`` or auto-detected), or when the model
    cannot be exported, or with ``PODSEARCH_ONNX=0``: sentence-transformers.

    ``precision="int8"``: the export quantized to int8, always on the CPU (~1.3x faster than
    fp32 on the dev passages, cosine to fp32 0.991 on average); raises ModelLoadError when
    the model has no ONNX export or cannot be quantized, or ``device`` names a GPU."""
    if precision not in PRECISIONS:
        raise ModelLoadError(f"unknown precision {precision!r}: use one of {', '.join(PRECISIONS)}")
    name = canonical_model_name(name)
    ensemble = _ensemble(name, lambda part: load_index_embedder(part, device, precision))
    if ensemble is not None:
        return ensemble
    factory = _backend(name)
    if factory is not None:
        return factory(name, device, precision)
    if precision == "int8" and device not in (None, "", "auto", "cpu"):
        raise ModelLoadError(
            f"int8 vectors are made on the CPU, not on {device!r}: "
            "drop --device, or index with --precision fp32"
        )
    if precision == "fp32" and (
        os.environ.get("PODSEARCH_ONNX", "1") == "0" or gpu_requested(device)
    ):
        return SentenceTransformerEmbedder(name, device=device)
    from .export_cache import find_export
    from .onnx_backend import OnnxEmbedder, OnnxExportError, export_model, quantize_export

    folder = find_export(name)
    if folder is None:
        st = SentenceTransformerEmbedder(name, device="cpu")
        try:
            folder = export_model(name, st.load())
        except OnnxExportError as e:
            if precision == "int8":
                raise ModelLoadError(
                    f"{e}: int8 needs the ONNX export; use --precision fp32"
                ) from e
            return st
    # Indexing is long and compute-bound: worker threads that spin between operators, not
    # sleep, embed ~10% faster (measured on the dev passages).
    model_file = quantize_export(folder) if precision == "int8" else None
    return OnnxEmbedder(folder, name=name, model_file=model_file, spinning=True)


def export_for_queries(embedder: Embedder) -> Path | None:
    """Export a loaded sentence-transformers embedder's model to ONNX for later queries.

    Meant for the end of an index build, when torch is loaded anyway. Returns the export
    folder, or None when the embedder is not sentence-transformers or the export failed
    (queries will then say so and fall back). Each model of an ensemble is exported: the
    last one's folder is returned, or None if any failed."""
    if isinstance(embedder, EnsembleEmbedder):
        folders = [export_for_queries(part) for part in embedder.parts]
        return folders[-1] if all(folders) else None
    if not isinstance(embedder, SentenceTransformerEmbedder) or embedder.loaded is None:
        return None
    if os.environ.get("PODSEARCH_ONNX", "1") == "0":
        return None
    from .onnx_backend import OnnxExportError, export_model

    try:
        return export_model(embedder.name, embedder.loaded)
    except OnnxExportError:
        return None
