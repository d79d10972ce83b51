"""The Ray engine (``podsearch index --engine ray``, ``pip install "podsearch[ray]"``): the
indexing pipeline's parallel stages on Ray Data, on this machine or an existing cluster.

What runs where:

- **Chunking** of the fresh episodes is a dataset: one item per episode, ``map`` to passage
  rows with the same ``chunk_episode`` and ``embed_texts`` as the local engine, written as
  Parquet shards.
- **Embedding** is ``map_batches`` on an actor pool: each actor loads the model once (or
  receives the embedder the caller gave), one actor per GPU when the cluster has GPUs, else
  CPU actors; the vectors are written as Parquet shards (row number + vector).
- **The driver** reads the sources, detects the sources of one episode (a whole-library
  step), gives speakers their canonical names, reads the shards back in row order and writes
  the index exactly as the local engine does (``store.writer``: the same manifest, the same
  generation swap, the same checks). So both engines give the same passages and vectors.

Ray is imported only here, and only when this engine is asked for.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import InvalidRequestError
from ..core.models import Episode
from ..embed.base import Embedder
from ..episodes.chunking import ChunkConfig, chunk_episode
from .rows import chapter_at, embed_texts, passage_row

INSTALL_HINT = "pip install 'podsearch[ray]'"
BATCH = 256  # texts per embedding batch sent to an actor
GROUP = 16384  # texts per Ray job (and per checkpoint): each job costs ~1 s to plan and start


def start(address: str | None = None) -> Any:
    """The ``ray`` module, connected: to ``address`` (or ``$RAY_ADDRESS``) when given, else a
    local instance bound to 127.0.0.1. A connection made by the caller is used as it is."""
    try:
        import ray
    except ImportError:
        raise InvalidRequestError("--engine", f"ray is not installed: {INSTALL_HINT}") from None
    if not ray.is_initialized():
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # nothing sent anywhere
        address = address or os.environ.get("RAY_ADDRESS")
        try:
            if address:
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")
        except (ConnectionError, RuntimeError, ValueError) as e:
            raise InvalidRequestError("--ray-address", f"cannot connect to Ray: {e}") from None
    _quiet_data()
    return ray


def _quiet_data() -> None:
    """No Ray Data progress bars: the library never prints (the CLI draws its own)."""
    from ray.data import DataContext

    ctx = DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False


def chunk(episodes: list[Episode], cfg: ChunkConfig, staging: Path) -> list[list[dict[str, Any]]]:
    """Each episode's passage rows (as the local engine makes them), computed on Ray and
    written as Parquet shards under ``staging``; returned per episode, in order."""
    if not episodes:
        return []
    ray = start()
    items = [{"i": i, "episode": ep} for i, ep in enumerate(episodes)]
    context_words = cfg.context_words

    def rows_of(item: dict[str, Any]) -> list[dict[str, Any]]:
        ep = item["episode"]
        passages = chunk_episode(ep, cfg)
        texts = embed_texts(ep, passages, context_words)
        return [
            {"i": item["i"], "n": n, **passage_row(p, chapter_at(ep.chapters, p.start), text)}
            for n, (p, text) in enumerate(zip(passages, texts, strict=True))
        ]

    folder = staging / "passages"
    ray.data.from_items(items).flat_map(rows_of).write_parquet(str(folder))
    table = _read_shards(folder)
    rows = table.sort_by([("i", "ascending"), ("n", "ascending")]).to_pylist()
    out: list[list[dict[str, Any]]] = [[] for _ in episodes]
    for row in rows:
        out[row.pop("i")].append({k: v for k, v in row.items() if k != "n"})
    return out


class _EmbedActor:
    """One model per actor, loaded once, embedding batch after batch."""

    def __init__(self, make: Callable[[], Embedder]) -> None:
        self.embedder = make()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors = self.embedder.encode([str(t) for t in batch["text"]])
        return {"row": batch["row"], "vector": list(np.asarray(vectors, dtype=np.float32))}


def encoder(make: Callable[[], Embedder], staging: Path) -> Callable[[list[str]], np.ndarray]:
    """A function embedding a list of texts on the cluster's actor pool (vectors written as
    Parquet shards under ``staging``, read back in order). ``make`` builds the embedder in
    each actor: it must be picklable (a model name and options, or an embedder object)."""
    ray = start()
    gpus = int(ray.cluster_resources().get("GPU", 0))
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    # One actor per GPU; on CPUs, actors of two threads each (onnxruntime uses them all).
    if gpus:
        pool: dict[str, Any] = {"compute": ray.data.ActorPoolStrategy(size=gpus), "num_gpus": 1}
    else:
        per_actor = min(2, cpus)
        size = max(1, cpus // per_actor)
        pool = {"compute": ray.data.ActorPoolStrategy(size=size), "num_cpus": per_actor}
    calls = 0

    def encode(texts: list[str]) -> np.ndarray:
        nonlocal calls
        calls += 1
        folder = staging / f"vectors-{calls:05d}"
        items = [{"row": i, "text": t} for i, t in enumerate(texts)]
        ds = ray.data.from_items(items).map_batches(
            _EmbedActor,
            fn_constructor_kwargs={"make": make},
            batch_size=BATCH,
            batch_format="numpy",
            **pool,
        )
        ds.write_parquet(str(folder))
        table = _read_shards(folder).sort_by("row")
        vectors = np.asarray(table.column("vector").to_pylist(), dtype=np.float32)
        shutil.rmtree(folder, ignore_errors=True)
        if len(vectors) != len(texts):
            raise RuntimeError(f"Ray returned {len(vectors)} vectors for {len(texts)} texts")
        return vectors.reshape(len(texts), -1)

    return encode


def _read_shards(folder: Path) -> Any:
    import pyarrow.dataset as ds

    return ds.dataset(str(folder), format="parquet").to_table()


def staging_dir(home: Path) -> Path:
    """A fresh folder for one run's shards beside the index (removed by the caller)."""
    home.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="ray-shards-", dir=home))
