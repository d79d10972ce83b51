"""The same-episode sketch cache beside an index (``pipeline/sketches.py``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from podsearch.core.models import UNTIMED, Episode, Turn
from podsearch.episodes.detection import sketch
from podsearch.pipeline import merge
from podsearch.pipeline import sketches as store
from podsearch.pipeline.merge import POSTINGS_DIR
from podsearch.store.layout import home_dir


def _episode(eid: str, words: int, seed: int) -> Episode:
    rng = np.random.default_rng(seed)
    text = " ".join(f"w{int(x)}" for x in rng.integers(0, 500, words))
    return Episode(id=eid, turns=[Turn(None, None, None, text, UNTIMED)])


def _same(a, b) -> bool:
    return (
        np.array_equal(a.hashes, b.hashes)
        and np.array_equal(a.first, b.first)
        and a.words == b.words
    )


def test_sketches_are_made_once_then_read(tmp_path: Path, monkeypatch) -> None:
    eps = [_episode("a", 300, 1), _episode("b", 200, 2)]
    first = store.load_sketches(eps, tmp_path / "cache")
    assert all(_same(s, sketch(e)) for s, e in zip(first, eps, strict=True))
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 2

    def no_sketching(ep: Episode):
        raise AssertionError(f"{ep.id} sketched again")

    monkeypatch.setattr(store, "sketch", no_sketching)
    again = store.load_sketches(eps, tmp_path / "cache")
    assert all(_same(a, b) for a, b in zip(first, again, strict=True))


def test_changed_text_gets_a_new_entry_and_stale_ones_go(tmp_path: Path) -> None:
    a, b = _episode("a", 300, 1), _episode("b", 200, 2)
    store.load_sketches([a, b], tmp_path)
    changed = _episode("b", 200, 3)  # same id, other text
    assert store.sketch_key(changed) != store.sketch_key(b)
    got = store.load_sketches([a, changed], tmp_path)
    assert _same(got[1], sketch(changed))
    names = {p.name for p in tmp_path.glob("*.npz")}
    assert names == {store.sketch_key(a) + ".npz", store.sketch_key(changed) + ".npz"}


@pytest.mark.parametrize("damage", [b"", b"not a numpy file", None, b"truncated"])
def test_a_damaged_entry_is_made_again(tmp_path: Path, damage: bytes | None) -> None:
    ep = _episode("a", 300, 1)
    path = tmp_path / (store.sketch_key(ep) + ".npz")
    if damage is None:  # readable, but not a sketch: wrong dtype and shapes
        with open(path, "wb") as f:
            np.savez(f, hashes=np.zeros(3, np.float32), first=np.zeros(2), words=np.int64(1))
    elif damage == b"truncated":  # a zip cut short: BadZipFile, neither OSError nor ValueError
        store.load_sketches([ep], tmp_path)
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:
        path.write_bytes(damage)
    (got,) = store.load_sketches([ep], tmp_path)
    assert _same(got, sketch(ep))
    (reread,) = store.load_sketches([ep], tmp_path)  # and the entry was written again
    assert _same(reread, got)


def test_no_folder_means_no_cache(tmp_path: Path) -> None:
    ep = _episode("a", 120, 4)
    (got,) = store.load_sketches([ep], None)
    assert _same(got, sketch(ep)) and not list(tmp_path.iterdir())


def test_a_sketch_is_the_same_in_every_process(tmp_path: Path) -> None:
    """Cached sketches are compared with the next run's: word ids must not depend on the
    process (Python's string hash does, through PYTHONHASHSEED)."""
    import os
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from podsearch.core.models import UNTIMED, Episode, Turn\n"
        "from podsearch.episodes.detection import sketch\n"
        "ep = Episode(id='a', turns=[Turn(None, None, None, sys.argv[1], UNTIMED)])\n"
        "np.save(sys.argv[2], sketch(ep).hashes)\n"
    )
    text = "the seen and the unseen is a weekly podcast on economics and politics " * 3
    got = []
    for seed in ("1", "2"):
        out = tmp_path / f"{seed}.npy"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run([sys.executable, "-c", code, text, str(out)], env=env, check=True)
        got.append(np.load(out))
    assert len(got[0]) > 0 and np.array_equal(got[0], got[1])


LIBRARY = Path(__file__).parents[1] / "fixtures" / "library"


def _kept(lib_dir: Path) -> list[Path]:
    return sorted((home_dir(lib_dir) / "sketch-cache" / POSTINGS_DIR).iterdir())


def _sketching(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many episodes each ``load_sketches`` call of the runs to come is given."""
    sketched: list[int] = []
    load = store.load_sketches

    def counting(episodes, folder, prune=True):
        sketched.append(len(episodes))
        return load(episodes, folder, prune)

    monkeypatch.setattr(store, "load_sketches", counting)
    return sketched


def test_a_library_keeps_the_postings_its_next_run_starts_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After each write the new generation's sketch postings are kept (and only those);
    they equal postings made from scratch, and the next run sketches only its own files."""
    from fakes import FakeEmbedder

    from podsearch.api import Library

    files = sorted(LIBRARY.iterdir())
    lib = Library(tmp_path / "lib", embedder=FakeEmbedder())
    lib.index(files[:1])  # the first run makes and keeps them
    lib.index(files[:2])
    (kept,) = _kept(lib.path)
    index = lib.open()
    assert kept.name == store.generation_key(index.manifest, "turns.parquet")
    made = merge._library_postings(index, None)  # no cache: sketched from the tables
    assert store.load_postings(kept.parent, kept.name).equals(made)
    assert sorted(made.ids) == sorted(index.episode_rows())

    sketched = _sketching(monkeypatch)
    lib.index(files)
    assert sketched == [1, 0]  # the new file; no indexed episode shares text with it
    (again,) = _kept(lib.path)
    assert again != kept and store.load_postings(again.parent, again.name).equals(
        merge._library_postings(lib.open(), None)
    )


def test_a_source_added_later_joins_its_indexed_episode(tmp_path: Path) -> None:
    """The candidate pairs come from the kept postings: the full text of an indexed preview,
    added later, still merges with it, and only that episode is read back."""
    from fakes import FakeEmbedder

    from podsearch.api import Library
    from podsearch.ingest.files import sample_paths

    preview, full = sample_paths()
    lib = Library(tmp_path / "lib", embedder=FakeEmbedder())
    lib.index([preview, *LIBRARY.iterdir()])
    read: list[list[str]] = []
    light = merge._light_episodes

    def recording(index, ids):
        read.append(sorted(ids))
        return light(index, ids)

    with pytest.MonkeyPatch.context() as m:
        m.setattr(merge, "_light_episodes", recording)
        report = lib.index([preview, full, *LIBRARY.iterdir()])
    assert (report.episodes_updated, report.episodes_total) == (1, 4)
    (preview_id,) = [e for e, row in lib.open().episode_rows().items() if len(row["sources"]) == 2]
    assert read == [[preview_id]]


def _flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["flip", "truncate", "remove"])
def test_damaged_kept_postings_and_counts_are_made_again(
    damage: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kept postings and boilerplate counts that are not what was stored (a flipped byte
    keeps the shape, so only the fingerprint sees it), cut short or gone are ignored: the
    next addition counts from the episodes again and equals a fresh build."""
    from fakes import FakeEmbedder

    from podsearch.api import Library

    files = sorted(LIBRARY.iterdir())
    lib = Library(tmp_path / "lib", embedder=FakeEmbedder())
    lib.index(files[:2], show="Show")
    side = home_dir(lib.path)
    (postings,) = (side / "sketch-cache" / POSTINGS_DIR).iterdir()
    (counts,) = (side / "shingle-cache" / "counts").iterdir()
    for target in (postings / "hashes.npy", counts / "r0.npy"):
        if damage == "flip":
            _flip_last_byte(target)
        elif damage == "truncate":
            target.write_bytes(target.read_bytes()[:-8])
        else:
            target.unlink()
    assert store.load_postings(postings.parent, postings.name) is None
    assert store.load_kept(counts.parent, counts.name) is None
    sketched = _sketching(monkeypatch)
    lib.index(files, show="Show")
    assert sketched[0] > 1  # the library's sketches were read again, all of them
    fresh = Library(tmp_path / "fresh", embedder=FakeEmbedder())
    fresh.index(files, show="Show")

    def shares(library: Library) -> list[float]:
        return library.open().passages.column("boilerplate").to_pylist()

    assert shares(lib) == shares(fresh)
    (again,) = _kept(lib.path)
    assert store.load_postings(again.parent, again.name).equals(
        merge._library_postings(lib.open(), None)
    )


def test_a_removal_keeps_the_postings_without_the_removed_episode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After ``remove`` the new generation's postings are the old ones without the episode
    (equal to postings made from scratch), and the next addition sketches only its file."""
    from fakes import FakeEmbedder

    from podsearch.api import Library

    files = sorted(LIBRARY.iterdir())
    lib = Library(tmp_path / "lib", embedder=FakeEmbedder())
    lib.index(files[:2])
    gone = sorted(lib.open().episode_rows())[0]
    lib.remove([gone])
    (kept,) = _kept(lib.path)
    assert kept.name == store.generation_key(lib.open().manifest, "turns.parquet")
    made = merge._library_postings(lib.open(), None)
    assert gone not in made.ids and store.load_postings(kept.parent, kept.name).equals(made)
    sketched = _sketching(monkeypatch)
    lib.index(files[2:])
    assert sketched == [1, 0]
