"""The query side of the store: FAISS-free exact search on the memory-mapped vectors of a
flat index, row reads without pyarrow.compute, cached tables."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

from podsearch.store import (
    FAISS_FILE,
    PASSAGES,
    Index,
    IndexContents,
    build_faiss,
    flat_faiss_vectors,
    write_index,
)


def unit(rows: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def contents(vectors: np.ndarray) -> IndexContents:
    n = len(vectors)
    passages = [
        {
            "passage_id": f"p{i}",
            "episode_id": f"e{i % 3}",
            "speaker": ["Ada", "Bo", None][i % 3],
            "speaker_source": "label",
            "start": float(i),
            "end": float(i + 1),
            "time_precision": "exact",
            "turn_index": i,
            "word_offset": 0,
            "text": f"text {i}",
            "embed_text": f"text {i}",
        }
        for i in range(n)
    ]
    episodes = [{"episode_id": f"e{j}", "sources": [f"/s/{j}.vtt"]} for j in range(3)]
    manifest = {"model": {"name": "fake-16", "dimension": vectors.shape[1], "normalized": True}}
    return IndexContents(manifest, passages, episodes, [], vectors)


@pytest.fixture
def flat_index(tmp_path: Path) -> Index:
    vectors = unit(300)
    vectors[7] = vectors[3]  # two passages with the same text have the same vector
    write_index(tmp_path / "idx", contents(vectors))
    return Index(tmp_path / "idx")


def test_flat_faiss_file_is_read_without_faiss(flat_index: Index) -> None:
    mapped = flat_faiss_vectors(flat_index.root / FAISS_FILE)
    assert mapped is not None and mapped.dtype == np.float32
    np.testing.assert_array_equal(mapped, flat_index.faiss.reconstruct_n(0, 300))
    np.testing.assert_array_equal(flat_index.vectors(), mapped)
    np.testing.assert_array_equal(flat_index.vectors_for([5, 2]), mapped[[5, 2]])


def test_other_files_are_not_mistaken_for_flat(tmp_path: Path) -> None:
    hnsw = tmp_path / "h.faiss"
    faiss.write_index(build_faiss(unit(50), "hnsw"), str(hnsw))
    assert flat_faiss_vectors(hnsw) is None
    truncated = tmp_path / "t.faiss"
    faiss.write_index(build_faiss(unit(50), "flat"), str(truncated))
    truncated.write_bytes(truncated.read_bytes()[:-4])
    assert flat_faiss_vectors(truncated) is None
    assert flat_faiss_vectors(tmp_path / "missing.faiss") is None
    empty = tmp_path / "e.faiss"
    faiss.write_index(faiss.IndexFlatIP(8), str(empty))
    got = flat_faiss_vectors(empty)
    assert got is not None and got.shape == (0, 8)


def test_numpy_search_equals_faiss(flat_index: Index) -> None:
    queries = unit(60, seed=1)
    queries[0] = flat_index.vectors()[3]  # a tie between rows 3 and 7
    rng = np.random.default_rng(2)
    for i, q in enumerate(queries):
        allowed = None if i % 2 else np.sort(rng.choice(300, 90, replace=False))
        ours = flat_index.nearest(q, 20, allowed)
        ref = flat_index._faiss_nearest(q, 20, allowed)
        assert [r for r, _ in ours] == [r for r, _ in ref]
        np.testing.assert_allclose([s for _, s in ours], [s for _, s in ref], atol=1e-6)
    assert flat_index.nearest(queries[0], 0) == []
    assert flat_index.nearest(queries[0], 5, np.array([], dtype=np.int64)) == []
    assert len(flat_index.nearest(queries[0], 1000)) == 300


def test_hnsw_index_is_searched_by_faiss(tmp_path: Path) -> None:
    vectors = unit(200)
    write_index(tmp_path / "idx", contents(vectors), faiss_kind="hnsw")
    index = Index(tmp_path / "idx")
    assert index.faiss_kind == "hnsw"
    hits = index.nearest(vectors[10], 5)
    assert hits[0][0] == 10
    assert hits == index._faiss_nearest(vectors[10], 5, None)


def test_take_reads_rows_in_order_without_embed_text(flat_index: Index) -> None:
    import pyarrow.parquet as pq

    rows = flat_index.take([5, 0, 5, 299])
    full = pq.read_table(flat_index.root / PASSAGES).to_pylist()
    assert [r["passage_id"] for r in rows] == ["p5", "p0", "p5", "p299"]
    assert "embed_text" not in rows[0]
    assert rows[0] == {k: v for k, v in full[5].items() if k != "embed_text"}
    assert flat_index.take([4], ["text"]) == [{"text": "text 4"}]
    assert flat_index.take([4], ["embed_text"]) == [{"embed_text": "text 4"}]
    flat_index.preload()  # Python lists: same rows
    assert flat_index.take([5, 0, 5, 299]) == rows
    assert flat_index.take([4], ["text"]) == [{"text": "text 4"}]


def test_tables_are_read_once_per_generation(flat_index: Index) -> None:
    a = flat_index.read_table(PASSAGES, ["speaker"])
    assert flat_index.read_table(PASSAGES, ["speaker"]) is a
    assert a.column_names == ["speaker"]
    whole = flat_index.passages
    assert flat_index.read_table(PASSAGES) is whole
    assert flat_index.read_table(PASSAGES, ["text", "speaker"]).column_names == ["text", "speaker"]


def test_lookup_gives_the_rows_of_the_tables(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from podsearch.lookup import COLUMNS, Lookup

    c = contents(unit(50))
    c.passages[4]["text"] = "Ünïcode — “quoted” 😀"
    c.passages[5]["start"] = c.passages[5]["end"] = None
    c.passages[6]["speaker"] = None
    write_index(tmp_path / "idx", c)
    index = Index(tmp_path / "idx")
    assert index._lookup is not None
    table = pq.read_table(index.root / PASSAGES).to_pylist()
    rows = [0, 4, 5, 6, 49, 4]
    expected = [{k: table[r].get(k) for k in COLUMNS} for r in rows]
    assert index.take(rows) == expected
    assert index.take([4], ["text", "speaker"]) == [
        {"text": "Ünïcode — “quoted” 😀", "speaker": "Bo"}
    ]
    assert index.passage_column("speaker") == [r["speaker"] for r in table]
    assert index.episode_rows() == {
        r["episode_id"]: r for r in pq.read_table(index.root / "episodes.parquet").to_pylist()
    }
    # A generation written without a lookup is read from the tables.
    import shutil

    shutil.rmtree(index.root / "lookup")
    assert Lookup.open(index.root) is None
    assert Index(tmp_path / "idx").take(rows) == expected
