"""The on-disk index: round trip, atomic generation swap, crashes, errors, adoption."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pyarrow.parquet as pq
import pytest
from builders import hand_contents

from podsearch.core.errors import IndexFormatError, IndexNotFoundError
from podsearch.store import writer
from podsearch.store.index import Index
from podsearch.store.layout import (
    FORMAT_VERSION,
    KEEP_GENERATIONS,
    MANIFEST,
    home_dir,
    index_exists,
)
from podsearch.store.vectors.base import INDEX_FILE, VECTORS_FILE
from podsearch.store.writer import IndexContents, write_index


def generations(index_dir: Path) -> list[Path]:
    return sorted((home_dir(index_dir) / "generations").iterdir())


def finished_generations(index_dir: Path) -> list[Path]:
    return [p for p in generations(index_dir) if not p.name.startswith(".tmp-")]


def assert_holds(index: Index, contents: IndexContents) -> None:
    """The index holds exactly these contents (a column the rows leave out is null)."""
    names = index.passages.column_names
    assert index.passages.to_pylist() == [{n: r.get(n) for n in names} for r in contents.passages]
    assert index.episodes.to_pylist() == contents.episodes
    assert index.turns.to_pylist() == contents.turns
    assert index.vector_index.size == len(contents.passages)
    np.testing.assert_array_equal(index.vectors(), contents.vectors)
    assert index.manifest["seed"] == contents.manifest["seed"]


def fail_on_call(
    monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, n: int, exc: BaseException
) -> list[int]:
    """Make ``owner.name`` raise ``exc`` on its n-th call (1-based); returns the call count."""
    original: Callable[..., Any] = getattr(owner, name)
    calls = [0]

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == n:
            raise exc
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapper)
    return calls


# --- round trip ----------------------------------------------------------------------------


def test_round_trip(tmp_path: Path) -> None:
    contents = hand_contents(n_passages=30, dim=16, seed=1)
    contents.extra_files["speakers.json"] = b'{"SPEAKER_00": "Theo Jaffee"}'
    path = tmp_path / "indexes" / "default"
    gen = write_index(path, contents)

    assert path.is_symlink()
    assert path.resolve() == gen.resolve()
    assert gen.parent == home_dir(path) / "generations"
    assert home_dir(path) == tmp_path / "indexes" / ".default.podsearch"

    index = Index(path)
    assert index.root == gen.resolve()
    m = index.manifest
    assert m["format_version"] == FORMAT_VERSION
    assert m["model"] == {"name": "fake-16", "dimension": 16, "normalized": True}
    assert m["vectors"] == {
        "type": "flat",
        "file": INDEX_FILE,
        "metric": "inner_product",
        "count": 30,
        "dimension": 16,
        "params": {},
        "chosen": "auto",  # chosen by the library's size, not by the user
    }
    assert m["counts"] == {"passages": 30, "episodes": 3}
    assert (index.model, index.dimension) == ("fake-16", 16)
    assert_holds(index, contents)
    assert index.vector_index.dim == 16
    assert not (gen / VECTORS_FILE).exists()  # a flat index holds the vectors itself
    assert (gen / "speakers.json").read_bytes() == b'{"SPEAKER_00": "Theo Jaffee"}'
    assert set(index.episode_rows()) == {"a1", "b2", "c3"}
    assert index.episode_rows()["b2"]["people"] == [{"name": "Sofia Puccini", "role": None}]
    # Row i of the table is vector id i: a passage's own vector is its best match.
    ((row, score),) = index.nearest(contents.vectors[7], 1)
    assert row == 7 and score == pytest.approx(1.0, abs=1e-5)
    # The caller's manifest is not modified.
    assert "format_version" not in contents.manifest
    # No temporary link or folder is left behind.
    assert sorted(p.name for p in path.parent.iterdir()) == [".default.podsearch", "default"]
    assert [p.name for p in generations(path)] == [gen.name]


def test_round_trip_hnsw(tmp_path: Path) -> None:
    contents = hand_contents(n_passages=40, dim=8, seed=2)
    gen = write_index(tmp_path / "idx", contents, vector_index="hnsw")
    index = Index(tmp_path / "idx")
    assert index.vector_kind == "hnsw" and index.vector_choice == "hnsw"
    assert (gen / VECTORS_FILE).is_file()
    assert_holds(index, contents)


def test_round_trip_ivf(tmp_path: Path) -> None:
    contents = hand_contents()
    gen = write_index(tmp_path / "idx", contents, vector_index="ivf")
    index = Index(tmp_path / "idx")
    assert index.vector_kind == "ivf"
    assert (gen / VECTORS_FILE).is_file()
    assert_holds(index, contents)
    # Few vectors: one list, so the IVF search is exact.
    q = contents.vectors[3]
    assert index.nearest(q, 1)[0][0] == 3


def test_unknown_vector_index_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="hnsw"):
        write_index(tmp_path / "idx", hand_contents(), vector_index="annoy")
    assert not index_exists(tmp_path / "idx")
    assert generations(tmp_path / "idx") == []


def test_empty_index(tmp_path: Path) -> None:
    contents = IndexContents(
        {"model": {"name": "fake", "dimension": 256, "normalized": True}, "seed": None},
        [],
        [],
        [],
        np.zeros((0, 256), dtype=np.float32),
    )
    write_index(tmp_path / "idx", contents)
    index = Index(tmp_path / "idx")
    assert index.passages.num_rows == 0
    assert index.vector_index.size == 0
    assert index.vectors().shape == (0, 256)


def test_index_exists(tmp_path: Path) -> None:
    path = tmp_path / "idx"
    assert not index_exists(path)
    path.mkdir()
    assert not index_exists(path)  # an empty folder is no index
    (path / "notes.txt").write_text("hello")
    assert not index_exists(path)
    shutil.rmtree(path)
    write_index(path, hand_contents())
    assert index_exists(path)
    assert index_exists(str(path))  # type: ignore[arg-type]


# --- generations -----------------------------------------------------------------------------


def test_second_write_swaps_the_link(tmp_path: Path) -> None:
    path = tmp_path / "idx"
    first = hand_contents(seed=1)
    second = hand_contents(n_passages=10, seed=2)
    gen1 = write_index(path, first)
    before = Index(path)
    gen2 = write_index(path, second)

    assert gen1 != gen2
    assert path.is_symlink() and path.resolve() == gen2.resolve()
    assert_holds(Index(path), second)
    # A reader opened before the swap keeps its own complete generation.
    assert before.root == gen1.resolve()
    assert_holds(before, first)
    assert {p.name for p in finished_generations(path)} == {gen1.name, gen2.name}


def test_old_generations_are_collected(tmp_path: Path) -> None:
    path = tmp_path / "idx"
    gens = [write_index(path, hand_contents(seed=s)) for s in range(5)]
    assert len(set(gens)) == 5
    left = finished_generations(path)
    assert len(left) <= KEEP_GENERATIONS
    assert gens[-1] in left
    assert set(left) == set(gens[-KEEP_GENERATIONS:])
    assert_holds(Index(path), hand_contents(seed=4))


# --- crashes during a write --------------------------------------------------------------------


def crash_cases() -> list[tuple[str, Any, str, int]]:
    return [
        ("second parquet table", pq, "write_table", 2),
        ("third parquet table", pq, "write_table", 3),
        ("faiss file", faiss, "write_index", 1),
        ("lexical index", writer, "build_lexical", 1),
        ("fsync", os, "fsync", 1),
    ]


@pytest.mark.parametrize(
    ("what", "owner", "name", "n"), crash_cases(), ids=[c[0] for c in crash_cases()]
)
@pytest.mark.parametrize(
    "exc", [OSError("disk full"), KeyboardInterrupt()], ids=["error", "ctrl-c"]
)
def test_crash_during_write_keeps_old_index(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    what: str,
    owner: Any,
    name: str,
    n: int,
    exc: BaseException,
) -> None:
    path = tmp_path / "idx"
    old = hand_contents(seed=1)
    gen1 = write_index(path, old)

    calls = fail_on_call(monkeypatch, owner, name, n, exc)
    with pytest.raises(type(exc)):
        write_index(path, hand_contents(n_passages=5, seed=2))
    assert calls[0] >= n, f"the {what} was never written"
    monkeypatch.undo()

    assert path.resolve() == gen1.resolve()
    assert_holds(Index(path), old)
    assert generations(path) == [gen1], "a temporary folder was left behind"
    # And the next write works normally.
    new = hand_contents(n_passages=5, seed=3)
    write_index(path, new)
    assert_holds(Index(path), new)


def test_crash_before_the_swap_keeps_old_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "idx"
    old = hand_contents(seed=1)
    gen1 = write_index(path, old)
    fail_on_call(monkeypatch, writer, "_point_at", 1, OSError("crash before the swap"))
    with pytest.raises(OSError, match="swap"):
        write_index(path, hand_contents(seed=2))
    monkeypatch.undo()

    assert path.resolve() == gen1.resolve()
    assert_holds(Index(path), old)
    assert not [p for p in generations(path) if p.name.startswith(".tmp-")]
    # The finished but unused generation is collected by a later write.
    for seed in (3, 4):
        write_index(path, hand_contents(seed=seed))
    assert len(finished_generations(path)) <= KEEP_GENERATIONS
    assert_holds(Index(path), hand_contents(seed=4))


# --- errors ------------------------------------------------------------------------------------


def test_missing_index_is_actionable(tmp_path: Path) -> None:
    path = tmp_path / "nowhere"
    with pytest.raises(IndexNotFoundError) as info:
        Index(path)
    message = str(info.value)
    assert str(path) in message
    assert "podsearch index" in message and "--index" in message


def test_empty_folder_is_not_an_index(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexNotFoundError):
        Index(tmp_path / "empty")


def rewrite_manifest(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    manifest_file = path.resolve() / MANIFEST
    manifest = json.loads(manifest_file.read_text())
    change(manifest)
    manifest_file.write_text(json.dumps(manifest))


@pytest.mark.parametrize("version", [FORMAT_VERSION + 1, 0, "1", None])
def test_wrong_format_version(tmp_path: Path, version: object) -> None:
    path = tmp_path / "idx"
    write_index(path, hand_contents())

    def change(m: dict[str, Any]) -> None:
        if version is None:
            del m["format_version"]
        else:
            m["format_version"] = version

    rewrite_manifest(path, change)
    with pytest.raises(IndexFormatError) as info:
        Index(path)
    assert "rebuild" in str(info.value)
    assert str(version) in str(info.value)


def test_damaged_manifest(tmp_path: Path) -> None:
    path = tmp_path / "idx"
    write_index(path, hand_contents())
    (path.resolve() / MANIFEST).write_text("{not json")
    with pytest.raises(IndexFormatError, match="rebuild"):
        Index(path)


def test_damaged_table(tmp_path: Path) -> None:
    path = tmp_path / "idx"
    write_index(path, hand_contents())
    (path.resolve() / "passages.parquet").write_bytes(b"garbage")
    # Its size no longer matches the manifest: caught on open, by stat alone.
    with pytest.raises(IndexFormatError, match=r"passages\.parquet.*rollback"):
        Index(path)
    index = Index(path, check=False)  # as rebuild opens it: tables load lazily
    with pytest.raises(IndexFormatError, match=r"passages\.parquet"):
        _ = index.passages


# --- a real folder at the index path ----------------------------------------------------------


def test_copied_index_is_readable_and_adopted(tmp_path: Path) -> None:
    original = tmp_path / "a" / "idx"
    old = hand_contents(seed=1)
    write_index(original, old)
    copy = tmp_path / "b" / "idx"
    copy.parent.mkdir()
    subprocess.run(["cp", "-r", f"{original}/", str(copy)], check=True)
    assert copy.is_dir() and not copy.is_symlink()
    assert_holds(Index(copy), old)

    new = hand_contents(n_passages=7, seed=2)
    gen = write_index(copy, new)
    assert copy.is_symlink() and copy.resolve() == gen.resolve()
    assert_holds(Index(copy), new)
    adopted = [p for p in finished_generations(copy) if p.name.startswith("adopted-")]
    assert len(adopted) == 1
    assert_holds(Index(adopted[0]), old)


def test_real_folder_replacing_the_link_is_not_lost(tmp_path: Path) -> None:
    path = tmp_path / "idx"
    write_index(path, hand_contents(seed=1))
    write_index(path, hand_contents(seed=2))
    # The user restores a copy of another index over the link, with plain `cp -r`.
    elsewhere = tmp_path / "backup"
    restored = hand_contents(seed=9)
    write_index(elsewhere, restored)
    path.unlink()
    subprocess.run(["cp", "-r", f"{elsewhere}/", str(path)], check=True)

    write_index(path, hand_contents(seed=3))
    assert_holds(Index(path), hand_contents(seed=3))
    left = finished_generations(path)
    adopted = [p for p in left if p.name.startswith("adopted-")]
    # Generations podsearch made are collected; an adopted folder never is.
    assert len(left) - len(adopted) <= KEEP_GENERATIONS
    assert len(adopted) == 1
    assert_holds(Index(adopted[0]), restored)


def test_empty_real_folder_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "idx"
    path.mkdir()
    new = hand_contents(seed=5)
    write_index(path, new)
    assert path.is_symlink()
    assert_holds(Index(path), new)
