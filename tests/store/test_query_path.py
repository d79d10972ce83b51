"""The query side of the store: FAISS-free exact search on the memory-mapped vectors of a
flat index, row reads without pyarrow.compute, cached tables."""

from __future__ import annotations

import json
from pathlib import Path

import faiss
import numpy as np
import pytest

from podsearch.store.index import Index
from podsearch.store.layout import PASSAGES
from podsearch.store.vectors.approximate import HNSWIndex
from podsearch.store.vectors.base import INDEX_FILE
from podsearch.store.vectors.exact import read_flat_file
from podsearch.store.writer import IndexContents, write_index


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
    mapped = read_flat_file(flat_index.root / INDEX_FILE)
    assert mapped is not None and mapped.dtype == np.float32
    real = faiss.read_index(str(flat_index.root / INDEX_FILE))
    np.testing.assert_array_equal(mapped, real.reconstruct_n(0, 300))
    np.testing.assert_array_equal(flat_index.vectors(), mapped)
    np.testing.assert_array_equal(flat_index.vectors_for([5, 2]), mapped[[5, 2]])


def test_other_files_are_not_mistaken_for_flat(tmp_path: Path) -> None:
    hnsw = HNSWIndex(16)
    hnsw.add(unit(50))
    hnsw.save(tmp_path)
    assert read_flat_file(tmp_path / INDEX_FILE) is None
    truncated = tmp_path / "t.faiss"
    flat = faiss.IndexFlatIP(16)
    flat.add(unit(50))
    faiss.write_index(flat, str(truncated))
    truncated.write_bytes(truncated.read_bytes()[:-4])
    assert read_flat_file(truncated) is None
    assert read_flat_file(tmp_path / "missing.faiss") is None
    empty = tmp_path / "e.faiss"
    faiss.write_index(faiss.IndexFlatIP(8), str(empty))
    got = read_flat_file(empty)
    assert got is not None and got.shape == (0, 8)


def test_numpy_search_equals_faiss(flat_index: Index) -> None:
    """ask's exact search (numpy over the memory map) gives FAISS's own answers, ties too."""
    real = faiss.read_index(str(flat_index.root / INDEX_FILE))
    queries = unit(60, seed=1)
    queries[0] = flat_index.vectors()[3]  # a tie between rows 3 and 7
    rng = np.random.default_rng(2)
    for i, q in enumerate(queries):
        allowed = None if i % 2 else np.sort(rng.choice(300, 90, replace=False))
        ours = flat_index.nearest(q, 20, allowed)
        params = (
            None if allowed is None else faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))
        )
        scores, ids = real.search(q.reshape(1, -1), 20, params=params)
        assert [r for r, _ in ours] == ids[0].tolist()
        np.testing.assert_allclose([s for _, s in ours], scores[0], atol=1e-6)
    assert flat_index.nearest(queries[0], 0) == []
    assert flat_index.nearest(queries[0], 5, np.array([], dtype=np.int64)) == []
    assert len(flat_index.nearest(queries[0], 1000)) == 300


def test_hnsw_index_is_searched_through_the_seam(tmp_path: Path) -> None:
    vectors = unit(200)
    write_index(tmp_path / "idx", contents(vectors), vector_index="hnsw")
    index = Index(tmp_path / "idx")
    assert index.vector_kind == "hnsw"
    hits = index.nearest(vectors[10], 5)
    assert hits[0][0] == 10


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

    from podsearch.store.lookup import COLUMNS, Lookup

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
    everything = [{k: row.get(k) for k in COLUMNS} for row in table]
    assert index.take(range(len(table))) == everything  # every row and column, written by Arrow
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
    manifest = json.loads((index.root / "manifest.json").read_text())
    del manifest["files"]  # as generations written before checksums were recorded
    (index.root / "manifest.json").write_text(json.dumps(manifest))
    assert Lookup.open(index.root) is None
    assert Index(tmp_path / "idx").take(rows) == expected


def test_turns_of_episodes_from_the_lookup_equal_the_table(tmp_path: Path) -> None:
    """A hit's context reads its episodes' turns from ``lookup/turns/`` (no Parquet, no
    pyarrow), the same rows and values as ``turns.parquet``; older generations without it
    read the table."""
    import shutil

    import pyarrow.parquet as pq

    from podsearch.store.lookup import TURN_COLUMNS

    c = contents(unit(30))
    c.turns = [
        {
            "episode_id": f"e{i % 3}",
            "turn_index": i // 3,
            "speaker": [None, "Ada", "Bo"][i % 3],
            "label": None,
            "speaker_source": "label",
            "start": None if i == 4 else float(i),
            "end": None if i == 4 else float(i) + 0.5,
            "time_precision": "exact",
            "text": f"turn {i} “Ünïcode” 😀",
            "cues": [],
        }
        for i in range(12)
    ]
    write_index(tmp_path / "idx", c)
    index = Index(tmp_path / "idx")
    table = pq.read_table(index.root / "turns.parquet").to_pylist()

    def expected(episodes: set[str]) -> list[dict[str, object]]:
        return [{k: r[k] for k in TURN_COLUMNS} for r in table if r["episode_id"] in episodes]

    assert (index.root / "lookup" / "turns" / "text.bin").is_file()
    for episodes in ({"e1"}, {"e0", "e2"}, {"e0", "e1", "e2"}, {"nope"}, set()):
        assert index.turns_of(episodes) == expected(episodes)
    assert index.turns_of({"e1"})[1]["start"] is None  # turn 4: untimed
    shutil.rmtree(index.root / "lookup" / "turns")
    assert Index(tmp_path / "idx", check=False).turns_of({"e0", "e2"}) == expected({"e0", "e2"})
