"""The vector-index seam: every implementation against brute-force numpy on the same vectors,
with and without a row selection, saved and loaded; the factory's choice by size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from podsearch.core.errors import IndexFormatError
from podsearch.store.vectors import factory
from podsearch.store.vectors.approximate import TAIL_FILE
from podsearch.store.vectors.base import INDEX_FILE, VECTORS_FILE, VectorIndex
from podsearch.store.vectors.factory import KINDS, choose_kind, create, open_index

DIM = 32


def clustered(n: int, seed: int = 0) -> np.ndarray:
    """Unit vectors around a few centres, like real passage embeddings (not uniform noise)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(12, DIM))
    x = centres[rng.integers(0, 12, n)] + 0.6 * rng.normal(size=(n, DIM))
    x = x.astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def brute_force(
    vectors: np.ndarray, q: np.ndarray, k: int, allowed: np.ndarray | None
) -> list[int]:
    ids = np.arange(len(vectors)) if allowed is None else np.asarray(allowed)
    scores = vectors[ids] @ q
    order = np.lexsort((-ids, -scores))[:k]
    return ids[order].tolist()


def recall(got: list[tuple[int, float]], want: list[int]) -> float:
    return len({r for r, _ in got} & set(want)) / max(1, len(want))


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    return clustered(3000)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_index_agrees_with_brute_force(
    kind: str, vectors: np.ndarray, tmp_path: Path
) -> None:
    built = create(kind, DIM, len(vectors))
    assert built.kind == kind
    built.add(vectors[:1000])
    built.add(vectors[1000:])  # ids continue from size
    assert built.size == len(vectors)
    entry = built.save(tmp_path)
    assert entry["type"] == kind and entry["count"] == len(vectors)
    loaded = open_index(tmp_path, {"vectors": entry}, DIM)
    np.testing.assert_array_equal(loaded.vectors([5, 2999]), vectors[[5, 2999]])
    queries = clustered(40, seed=2)
    # Exact search must equal brute force; approximate ones must come close.
    floor = 1.0 if kind == "flat" else 0.9
    for index in (built, loaded):
        total = 0.0
        for q in queries:
            want = brute_force(vectors, q, 10, None)
            got = index.search(q, 10)
            assert [s for _, s in got] == sorted((s for _, s in got), reverse=True)
            total += recall(got, want)
            if kind == "flat":
                assert [r for r, _ in got] == want
        assert total / len(queries) >= floor


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("share", [0.005, 0.05, 0.5])
def test_row_selection_is_applied_inside_the_search(
    kind: str, share: float, vectors: np.ndarray
) -> None:
    """Only allowed rows come back, and the best of them: a narrow filter is never a list of
    hits dropped after the top k."""
    index = create(kind, DIM, len(vectors))
    index.add(vectors)
    rng = np.random.default_rng(3)
    allowed = np.sort(rng.choice(len(vectors), int(share * len(vectors)), replace=False))
    total = 0.0
    for q in clustered(20, seed=4):
        got = index.search(q, 10, allowed)
        assert {r for r, _ in got} <= set(allowed.tolist())
        assert len(got) == min(10, len(allowed))
        total += recall(got, brute_force(vectors, q, 10, allowed))
    assert total / 20 >= (1.0 if kind == "flat" or share <= 0.1 else 0.9)


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_a_filtered_search_that_comes_back_short_is_done_exactly(
    kind: str, vectors: np.ndarray, monkeypatch
) -> None:
    """The guarantee of a wide filter searched through FAISS: min(k, allowed) allowed rows.
    When the selector search returns fewer (a graph running out of allowed neighbours), the
    allowed rows are searched exactly."""
    from podsearch.store.vectors import approximate

    monkeypatch.setattr(approximate, "EXACT_ROWS", 0)  # every filter goes through FAISS
    monkeypatch.setattr(approximate, "EXACT_SHARE", 0.0)
    index = create(kind, DIM, len(vectors))
    index.add(vectors)
    allowed = np.arange(0, len(vectors), 2)
    q = clustered(1, seed=5)[0]
    through_faiss = index.search(q, 10, allowed)
    assert len(through_faiss) == 10 and {r for r, _ in through_faiss} <= set(allowed.tolist())

    class Short:
        """A FAISS index whose selector search found only 3 of the 10 asked for."""

        def search(self, q, k, params=None):
            ids = np.full((1, k), -1, np.int64)
            ids[0, :3] = allowed[:3]
            return np.zeros((1, k), np.float32), ids

    index.__dict__["faiss"] = Short()
    got = index.search(q, 10, allowed)
    assert [r for r, _ in got] == brute_force(vectors, q, 10, allowed)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_edge_cases(kind: str) -> None:
    empty = create(kind, DIM, 0)
    q = clustered(1)[0]
    assert empty.search(q, 5) == []
    index = create(kind, DIM, 5)
    index.add(clustered(5))
    assert index.search(q, 0) == []
    assert index.search(q, 5, np.zeros(0, dtype=np.int64)) == []
    assert len(index.search(q, 50)) == 5  # k beyond the size: every vector once


def test_factory_chooses_by_size_and_refuses_unknown_kinds() -> None:
    assert choose_kind(10) == "flat"
    assert choose_kind(factory.EXACT_UP_TO) == "flat"
    assert choose_kind(factory.EXACT_UP_TO + 1) == "hnsw"
    assert create(None, DIM, 10).kind == "flat"
    assert create("auto", DIM, factory.EXACT_UP_TO + 1).kind == "hnsw"
    with pytest.raises(ValueError, match="hnsw"):
        create("annoy", DIM, 10)
    with pytest.raises(IndexFormatError, match="annoy"):
        open_index(Path("."), {"vectors": {"type": "annoy"}}, DIM)


def test_every_kind_is_a_vector_index() -> None:
    assert all(issubclass(cls, VectorIndex) for cls in KINDS.values())


def test_older_manifests_name_the_index_faiss(tmp_path: Path) -> None:
    """Generations written before the seam call the entry "faiss"; they still open."""
    index = create("flat", DIM, 3)
    index.add(clustered(3))
    index.save(tmp_path)
    old = {"faiss": {"type": "flat", "file": INDEX_FILE, "metric": "inner_product"}}
    assert open_index(tmp_path, old, DIM).size == 3


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_a_cold_process_searches_exactly_until_it_is_warm(
    kind: str, vectors: np.ndarray, tmp_path: Path
) -> None:
    """A one-question process never reads the FAISS file (exact over the memory map, the
    same answer as brute force); a process that keeps asking, or a preloaded server, does."""
    from podsearch.store.vectors.approximate import COLD_SEARCHES

    built = create(kind, DIM, len(vectors))
    built.add(vectors)
    entry = built.save(tmp_path)
    loaded = open_index(tmp_path, {"vectors": entry}, DIM)
    queries = clustered(COLD_SEARCHES + 3, seed=5)
    for q in queries[:COLD_SEARCHES]:
        assert [r for r, _ in loaded.search(q, 10)] == brute_force(vectors, q, 10, None)
        assert "faiss" not in vars(loaded)  # the graph or inverted file was not read
    for q in queries[COLD_SEARCHES:]:
        assert recall(loaded.search(q, 10), brute_force(vectors, q, 10, None)) >= 0.7
    assert "faiss" in vars(loaded)
    server = open_index(tmp_path, {"vectors": entry}, DIM)
    server.preload()
    server.search(queries[0], 10)
    assert "faiss" in vars(server)


def test_a_preloaded_graph_holds_the_vectors_once(vectors: np.ndarray, tmp_path: Path) -> None:
    """A server's HNSW index reads its plain vectors from the graph's own storage (no second
    copy in RAM); they stay exact, and extending the index afterwards copies them first."""
    built = create("hnsw", DIM, len(vectors))
    built.add(vectors)
    entry = built.save(tmp_path)
    server = open_index(tmp_path, {"vectors": entry}, DIM)
    server.preload()
    plain = server.vectors()
    assert not plain.flags["OWNDATA"]  # a view of the graph's storage
    np.testing.assert_array_equal(plain, vectors)
    allowed = np.arange(0, len(vectors), 7)  # narrow: searched exactly over the plain vectors
    q = clustered(1, seed=9)[0]
    assert [r for r, _ in server.search(q, 5, allowed)] == brute_force(vectors, q, 5, allowed)
    more = clustered(300, seed=11)
    server.extend(more)
    np.testing.assert_array_equal(server.vectors(), np.concatenate([vectors, more]))
    assert server.size == len(vectors) + 300


def test_a_graph_is_searched_as_broadly_as_its_construction_needs(tmp_path: Path) -> None:
    """New graphs are built at EF_CONSTRUCTION and searched at EF_SEARCH; a graph an older
    version built at efConstruction 80 (its manifest saying efSearch 128 or 384) keeps the
    broader search it needs for the same recall."""
    from podsearch.store.vectors.approximate import (
        EF_CONSTRUCTION,
        EF_SEARCH,
        EF_SEARCH_LOOSE,
        HNSWIndex,
    )

    fresh = HNSWIndex(8).params()
    assert (fresh["efConstruction"], fresh["efSearch"]) == (EF_CONSTRUCTION, EF_SEARCH)
    for saved in (128, 384):
        old = HNSWIndex(8, {"M": 32, "efConstruction": 80, "efSearch": saved}).params()
        assert old["efSearch"] == EF_SEARCH_LOOSE
    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((300, 8)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    index = HNSWIndex(8)
    index.add(vecs)
    entry = index.save(tmp_path)
    loaded = open_index(tmp_path, {"vectors": entry}, 8)
    assert loaded.params()["efSearch"] == EF_SEARCH
    assert loaded.faiss.hnsw.efConstruction == EF_CONSTRUCTION


def test_rows_added_to_a_read_graph_are_its_exact_tail_until_they_are_many(
    vectors: np.ndarray, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows added to a graph read from a generation are searched exactly beside it (the graph
    file is copied, not rebuilt); filters apply to both parts; past the tail's limit the rows
    join the graph."""
    from podsearch.store.vectors import approximate

    monkeypatch.setattr(approximate, "EXACT_ROWS", 0)  # filters go through FAISS too
    monkeypatch.setattr(approximate, "EXACT_SHARE", 0.0)
    head = 2600
    first, second, third = (tmp_path / n for n in ("1", "2", "3"))
    for d in (first, second, third):
        d.mkdir()
    built = approximate.HNSWIndex(DIM)
    built.add(vectors[:head])
    loaded = open_index(first, {"vectors": built.save(first)}, DIM)
    loaded.extend(vectors[head:])  # 400 rows: a tail
    entry = loaded.save(second)
    assert (entry["graph_rows"], entry["count"]) == (head, len(vectors))
    assert (second / INDEX_FILE).read_bytes() == (first / INDEX_FILE).read_bytes()
    # The graph's rows stay in the first generation's vectors file, linked; the tail's are
    # in their own file.
    assert (second / VECTORS_FILE).stat().st_ino == (first / VECTORS_FILE).stat().st_ino
    assert loaded.copied == (INDEX_FILE, VECTORS_FILE)
    np.testing.assert_array_equal(np.load(second / entry["tail_file"]), vectors[head:])
    reopened = open_index(second, {"vectors": entry}, DIM)
    assert reopened.holds(vectors) and not reopened.holds(vectors[::-1])
    np.testing.assert_array_equal(reopened.vectors(), vectors)
    reopened.preload()
    assert reopened.faiss.ntotal == head
    np.testing.assert_array_equal(reopened.vectors([5, 2999, 2600, 0]), vectors[[5, 2999, 2600, 0]])
    np.testing.assert_array_equal(reopened.vectors(), vectors)
    rng = np.random.default_rng(5)
    filters = [
        None,
        np.sort(rng.choice(len(vectors), 900, replace=False)),  # rows of both parts
        np.arange(head + 50, head + 90),  # tail rows only
        np.arange(100, 160),  # graph rows only
    ]
    total, n = 0.0, 0
    for q in clustered(20, seed=6):
        for allowed in filters:
            got = reopened.search(q, 10, allowed)
            want = brute_force(vectors, q, 10, allowed)
            pool = range(len(vectors)) if allowed is None else allowed.tolist()
            assert {r for r, _ in got} <= set(pool) and len(got) == min(10, len(pool))
            assert [s for _, s in got] == sorted((s for _, s in got), reverse=True)
            # The tail is searched exactly: none of its rows that belong in the top 10 is missed.
            assert {r for r in want if r >= head} <= {r for r, _ in got}
            total, n = total + recall(got, want), n + 1
    assert total / n >= 0.9
    # Past the limit the whole tail joins the graph, which is written anew.
    monkeypatch.setattr(approximate, "TAIL_ROWS", 100)
    grown = open_index(second, {"vectors": entry}, DIM)
    more = clustered(200, seed=9)
    grown.extend(more)
    entry = grown.save(third)
    assert "graph_rows" not in entry and "tail_file" not in entry
    assert entry["count"] == len(vectors) + 200 and not (third / TAIL_FILE).exists()
    final = open_index(third, {"vectors": entry}, DIM)
    assert final.faiss.ntotal == len(vectors) + 200
    everything = np.concatenate([vectors, more])
    q = more[7]
    assert final.search(q, 1)[0][0] == brute_force(everything, q, 1, None)[0]


@pytest.mark.parametrize(("before", "after"), [(100, 130), (99, 100), (5, 5), (9, 100_000)])
def test_a_grown_vectors_file_is_the_old_one_copied_and_appended(
    before: int, after: int, tmp_path: Path
) -> None:
    """Byte for byte what ``np.save`` writes. A source that does not hold the rows it is
    said to (or a header of another length) is left to ``np.save``: nothing is written."""
    from podsearch.store.vectors.approximate import _append_copy

    vecs = np.random.default_rng(1).random((after, 4)).astype(np.float32)
    np.save(tmp_path / "old.npy", vecs[:before])
    header = int(np.load(tmp_path / "old.npy", mmap_mode="r").offset)
    assert not _append_copy(tmp_path / "old.npy", before - 1, header, vecs, tmp_path / "new.npy")
    assert not (tmp_path / "new.npy").exists()
    assert _append_copy(tmp_path / "old.npy", before, header, vecs, tmp_path / "new.npy")
    np.save(tmp_path / "want.npy", vecs)
    assert (tmp_path / "new.npy").read_bytes() == (tmp_path / "want.npy").read_bytes()


def test_a_tail_kept_in_the_vectors_file_of_an_older_version_moves_to_its_own_file(
    vectors: np.ndarray, tmp_path: Path
) -> None:
    """Generations written before the tail had its own file hold every row in
    ``vectors.npy``: read as they are, and written the new way on the next addition."""
    from podsearch.store.vectors import approximate

    head = 2600
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    built = approximate.HNSWIndex(DIM)
    built.add(vectors[:head])
    entry = built.save(old)
    np.save(old / VECTORS_FILE, vectors[: head + 300])  # the older layout: the tail inside
    entry.update(count=head + 300, graph_rows=head)
    read = open_index(old, {"vectors": entry}, DIM)
    np.testing.assert_array_equal(read.vectors(), vectors[: head + 300])
    read.extend(vectors[head + 300 :])
    entry = read.save(new)
    assert read.copied == (INDEX_FILE,)  # the vectors file holds more than the graph's rows
    np.testing.assert_array_equal(np.load(new / VECTORS_FILE), vectors[:head])
    again = open_index(new, {"vectors": entry}, DIM)
    q = vectors[head + 350]
    assert again.search(q, 1)[0][0] == head + 350
    np.testing.assert_array_equal(again.vectors(), vectors)
