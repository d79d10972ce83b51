"""Where an index and its files are, and the one-writer lock.

Layout (for ``indexes/default``)::

    indexes/default -> .default.podsearch/generations/<gen>     (a symlink)
    indexes/.default.podsearch/generations/<gen>/manifest.json
                                                 passages.faiss    (vectors: ``vectors/``)
                                                 passages.parquet  (row i = vector id i)
                                                 episodes.parquet
                                                 turns.parquet
                                                 lexical/          (tantivy BM25 index)
                                                 lookup/           (what a query shows)
                                                 episode_means.npz (confidence bar)
    indexes/.default.podsearch/                  (lock, the user's speaker names, caches)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..core.errors import IndexLockedError

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PASSAGES = "passages.parquet"
EPISODES = "episodes.parquet"
TURNS = "turns.parquet"
KEEP_GENERATIONS = 2  # the current one and the previous good one (``writer._collect_garbage``)
GENERATIONS = "generations"
_MAX_LINKS = 40  # as the kernel's own limit on symlink chains


def default_index_dir() -> Path:
    """``$PODSEARCH_INDEX`` or ``indexes/default`` under the current directory."""
    return Path(os.environ.get("PODSEARCH_INDEX") or Path("indexes") / "default")


def _home(index_dir: Path) -> Path:
    return index_dir.parent / f".{index_dir.name}.podsearch"


def is_own_link(path: Path) -> bool:
    """Whether ``path`` is a symlink podsearch made: one into its own generations folder."""
    try:
        target = os.readlink(path)
    except OSError:
        return False
    where = Path(os.path.normpath(path.parent / target))
    return where.parent == _home(path) / GENERATIONS


def resolve_index_dir(index_dir: Path | str) -> Path:
    """Where podsearch keeps the index's own symlink. A symlink the user made (``indexes/
    default -> /data/podcasts``), dangling or not, is followed, never replaced: the index
    goes where it points. Absolute, not otherwise resolved."""
    path = Path(os.path.abspath(index_dir))
    for _ in range(_MAX_LINKS):
        if not path.is_symlink() or is_own_link(path):
            return path
        path = Path(os.path.normpath(path.parent / os.readlink(path)))
    return path


def home_dir(index_dir: Path) -> Path:
    """The hidden folder beside an index that holds its generations, lock and user files."""
    return _home(resolve_index_dir(index_dir))


def speaker_file(index_dir: Path) -> Path:
    """The user's speaker names (``speakers.book.SpeakerBook``), beside the generations."""
    return home_dir(index_dir) / "speakers.json"


def index_exists(index_dir: Path) -> bool:
    return (Path(index_dir) / MANIFEST).is_file()


@contextmanager
def writer_lock(
    index_dir: Path, *, wait: bool = True, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the index's writer lock: one writer at a time per index. Readers never take it
    (they read a complete generation). A second writer waits, after telling ``on_wait``, or
    with ``wait=False`` fails at once with IndexLockedError. The lock is an OS file lock, so a
    writer killed at any point releases it."""
    from filelock import FileLock, Timeout

    home = home_dir(index_dir)
    home.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(home / "write.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if not wait:
            raise IndexLockedError(
                f"another podsearch process is writing {index_dir}: try again when it is "
                "done, or leave out --no-wait to wait for it"
            ) from None
        if on_wait:
            on_wait(f"another podsearch process is writing {index_dir}; waiting for it")
        lock.acquire()
    try:
        yield
    finally:
        lock.release()
