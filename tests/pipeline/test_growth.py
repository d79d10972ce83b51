"""Adding episodes to a library grows the previous generation instead of building it again:
its HNSW graph takes the new nodes, its lexical documents are copied, and the result answers
exactly as a library built from scratch with the same episodes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from builders import vtt
from fakes import FakeEmbedder

from podsearch.api import Library
from podsearch.core.errors import IndexFormatError
from podsearch.pipeline import commit as commit_module
from podsearch.pipeline.sketches import load_shingle_sets
from podsearch.store import lexical as lexical_module
from podsearch.store.lexical import OFFSETS_FILE, TERMS_FILE
from podsearch.store.vectors import approximate
from podsearch.store.vectors.approximate import HNSWIndex
from podsearch.store.verify import verify_generation

LIBRARY = Path(__file__).parents[1] / "fixtures" / "library"
FILES = sorted(LIBRARY.iterdir())
QUESTIONS = ["rockets that land again", "bread and yeast", "compost for the garden"]


def _hnsw_library(path: Path, files: list[Path]) -> Library:
    lib = Library(path, embedder=FakeEmbedder())
    lib.index(files)
    lib.rebuild(vector_index="hnsw")  # the user's choice sticks for later additions
    return lib


def _by_passage(lib: Library) -> dict[str, np.ndarray]:
    index = lib.open()
    ids = index.passages.column("passage_id").to_pylist()
    return dict(zip(ids, index.vectors(), strict=True))


def _answers(lib: Library) -> list[list[tuple[str, float]]]:
    return [[(h.passage_id, round(h.score, 5)) for h in lib.ask(q, top=5).hits] for q in QUESTIONS]


def _refuse(self: HNSWIndex, vectors: np.ndarray) -> None:
    raise AssertionError("the HNSW graph was built again")


@pytest.mark.parametrize("tail", [True, False])
def test_an_added_episode_extends_the_graph_and_the_lexical_index(
    tail: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``tail`` the new passages stay beside the graph, whose file is copied with its
    checksum; without (the tail's limit reached) they join the graph read from the previous
    generation. Either way nothing is built again and the answers equal a fresh library's."""
    if not tail:
        monkeypatch.setattr(approximate, "TAIL_ROWS", 0)
        monkeypatch.setattr(approximate, "TAIL_SHARE", 0.0)
    grown = _hnsw_library(tmp_path / "grown", FILES[:2])
    before = grown.open().manifest["counts"]["passages"]
    old_graph = grown.open().root / "passages.faiss"
    old_manifest = grown.open().manifest
    old_record = old_manifest["files"]["passages.faiss"]
    old_bytes = old_graph.read_bytes()
    kept: list[int] = []
    write_terms = lexical_module.write_terms

    def recording(folder: Path, texts: list[str], kept_rows: int = 0) -> None:
        kept.append(kept_rows)
        write_terms(folder, texts, kept_rows)

    with monkeypatch.context() as m:
        m.setattr(HNSWIndex, "_make", _refuse)
        m.setattr(lexical_module, "write_terms", recording)
        report = grown.index(FILES)
    assert report.episodes_added == 1 and report.passages_unchanged == before
    assert kept == [before]  # the old documents were copied, only the new ones analysed
    index = grown.open()
    assert verify_generation(index.root).ok
    graph = index.root / "passages.faiss"
    if tail:
        assert index.manifest["vectors"]["graph_rows"] == before
        # The graph's rows' vectors are shared with the previous generation, as recorded.
        old_vectors = old_graph.parent / "vectors.npy"
        assert (index.root / "vectors.npy").stat().st_ino == old_vectors.stat().st_ino
        assert index.manifest["files"]["vectors.npy"] == old_manifest["files"]["vectors.npy"]
        from typer.testing import CliRunner

        from podsearch.cli.app import app

        shown = CliRunner().invoke(app, ["status", "--index", str(tmp_path / "grown")]).output
        added = index.manifest["vectors"]["count"] - before
        assert added > 0 and f"{added} passages added since the graph was built" in shown
        assert graph.read_bytes() == old_bytes
        assert index.manifest["files"]["passages.faiss"] == old_record
    else:
        assert "graph_rows" not in index.manifest["vectors"]
        assert graph.stat().st_size > old_record["size"]

    fresh = _hnsw_library(tmp_path / "fresh", FILES)
    a, b = _by_passage(grown), _by_passage(fresh)
    assert a.keys() == b.keys()
    for pid, vector in a.items():
        np.testing.assert_array_equal(vector, b[pid])
    assert grown.open().manifest["vectors"]["type"] == "hnsw"
    assert grown.open().manifest["vectors"]["count"] == len(a)
    assert sorted(map(sorted, _answers(grown))) == sorted(map(sorted, _answers(fresh)))

    # The copied lexical index: one document per passage, each with its own terms.
    lexical = grown.open().root / "lexical"
    import tantivy

    assert tantivy.Index.open(str(lexical)).searcher().num_docs == len(a)
    offsets = np.load(lexical / OFFSETS_FILE)
    assert len(offsets) == len(a) + 1 and offsets[-1] == len(np.load(lexical / TERMS_FILE))
    terms = {
        pid: np.load(lexical / TERMS_FILE)[offsets[i] : offsets[i + 1]].tolist()
        for i, pid in enumerate(grown.open().passages.column("passage_id").to_pylist())
    }
    fresh_lexical = fresh.open().root / "lexical"
    fresh_offsets = np.load(fresh_lexical / OFFSETS_FILE)
    for i, pid in enumerate(fresh.open().passages.column("passage_id").to_pylist()):
        got = np.load(fresh_lexical / TERMS_FILE)[fresh_offsets[i] : fresh_offsets[i + 1]]
        assert terms[pid] == got.tolist()


def test_a_removed_episode_builds_the_graph_again(tmp_path: Path) -> None:
    lib = _hnsw_library(tmp_path / "lib", FILES)
    victim = lib.open().passages.column("episode_id").to_pylist()[0]
    lib.remove([victim])
    index = lib.open()
    assert victim not in index.passages.column("episode_id").to_pylist()
    assert index.manifest["vectors"]["count"] == index.manifest["counts"]["passages"]
    assert _answers(lib)  # searchable, every row a node of the new graph


def test_a_damaged_graph_is_refused_then_built_again_by_rebuild(tmp_path: Path) -> None:
    lib = _hnsw_library(tmp_path / "lib", FILES[:2])
    graph = lib.open().root / "passages.faiss"
    graph.chmod(0o644)
    graph.write_bytes(graph.read_bytes()[:100])  # a truncated graph file
    with pytest.raises(IndexFormatError, match="damaged"):
        lib.index(FILES)  # never extended: the damaged generation is not opened at all
    made: list[int] = []
    original = HNSWIndex._make

    def counting(self: HNSWIndex, vectors: np.ndarray) -> object:
        made.append(len(vectors))
        return original(self, vectors)

    with pytest.MonkeyPatch.context() as m:
        m.setattr(HNSWIndex, "_make", counting)
        lib.rebuild()
    assert made == [lib.open().manifest["counts"]["passages"]]
    lib.index(FILES)
    assert _answers(lib)


def _garden(folder: Path, episodes: range) -> list[Path]:
    intro = "Welcome to the Garden Hour, our weekly show about plants, soil and compost heaps."
    files = []
    for i in episodes:
        talk = f"In episode {i} we dug trench number {i} and waited {i + 2} weeks to plant."
        song = ["A new song: the compost heap blues, sung by all of us."] * (i >= 9)
        cues = [("Host", intro), ("Guest", talk)] + [("Host", text) for text in song]
        path = folder / f"garden-{i:02d}.vtt"
        path.write_text(vtt(cues), encoding="utf-8")
        files.append(path)
    return files


def _shares(lib: Library) -> dict[str, float]:
    table = lib.open().passages
    ids, shares = table.column("passage_id").to_pylist(), table.column("boilerplate").to_pylist()
    return dict(zip(ids, shares, strict=True))


def test_added_episodes_get_the_boilerplate_shares_of_a_fresh_build(tmp_path: Path) -> None:
    """Shares after additions equal a fresh build's, also when an addition makes text
    boilerplate (the song, in a fourth episode); each episode's shingles are kept."""
    shows = tmp_path / "shows"
    shows.mkdir()
    first, later = _garden(shows, range(11)), _garden(shows, range(11, 13))
    grown = Library(tmp_path / "grown", embedder=FakeEmbedder())
    grown.index(first, show="Garden Hour")
    assert list(_shares(grown).values()).count(1.0) == 11  # the intro; the song (2 eps) not
    grown.index(first + later, show="Garden Hour")
    fresh = Library(tmp_path / "fresh", embedder=FakeEmbedder())
    fresh.index(first + later, show="Garden Hour")
    assert _shares(grown) == _shares(fresh)
    assert list(_shares(fresh).values()).count(1.0) == 13 + 4  # the song is now common
    cache = grown.open().path.parent / f".{grown.open().path.name}.podsearch" / "shingle-cache"
    assert len(list(cache.glob("*.npz"))) == 13
    assert len(list((cache / "counts").iterdir())) == 1  # kept for the next addition

    # The next addition starts from the kept postings: only its own episode's shingles are
    # read (nothing flips), and the shares still equal a fresh build's.
    read: list[int] = []

    def recording(episodes, folder, prune=True):
        read.append(len(episodes))
        return load_shingle_sets(episodes, folder, prune)

    last = _garden(shows, range(13, 14))
    with pytest.MonkeyPatch.context() as m:
        m.setattr(commit_module, "load_shingle_sets", recording)
        grown.index(first + later + last, show="Garden Hour")
    assert read == [1]
    fresh = Library(tmp_path / "fresh2", embedder=FakeEmbedder())
    fresh.index(first + later + last, show="Garden Hour")
    assert _shares(grown) == _shares(fresh)


@pytest.mark.parametrize("name", ["turns.parquet", "passages.parquet"])
def test_kept_rows_stay_arrow_and_older_tables_are_brought_to_the_schema(
    name: str, tmp_path: Path
) -> None:
    """Turns and passages of kept episodes go from the old generation's table to the new one
    without a round trip through Python (cues and all), with their row numbers; an older
    table lacking a column is completed."""
    import pyarrow as pa

    from podsearch.pipeline.commit import _all_rows, _kept_rows
    from podsearch.store.tables import schemas

    lib = Library(tmp_path / "lib", embedder=FakeEmbedder())
    lib.index(FILES)
    index = lib.open()
    table = index.read_table(name)
    episodes = sorted(set(table.column("episode_id").to_pylist()))
    kept, rows = _kept_rows(table, set(episodes[1:2]), name)
    assert kept.schema == schemas()[name]
    everything = table.to_pylist()
    assert kept.to_pylist() == [r for r in everything if r["episode_id"] == episodes[1]]
    assert [everything[i] for i in rows.tolist()] == kept.to_pylist()
    assert _kept_rows(table, set(), name)[0].num_rows == 0
    both = _all_rows(kept, [dict(kept.to_pylist()[0], episode_id="new")], name)
    assert both.num_rows == kept.num_rows + 1 and both.column("episode_id")[-1].as_py() == "new"

    older = table.drop_columns([table.column_names[-1]])  # written before its last column
    completed, rows = _kept_rows(older, set(episodes), name)
    assert completed.schema == schemas()[name] and completed.num_rows == table.num_rows
    assert completed.column(completed.num_columns - 1).null_count == completed.num_rows
    assert isinstance(completed, pa.Table) and rows.tolist() == list(range(table.num_rows))


def test_a_copied_graph_keeps_the_checksum_of_what_it_should_hold(tmp_path: Path) -> None:
    """A graph damaged on disk after it was recorded (a same-size flip that opening does not
    notice) is copied as it is, and the copy fails ``verify`` as the original does: its
    record is never recomputed from the damaged bytes."""
    lib = _hnsw_library(tmp_path / "lib", FILES[:2])
    graph = lib.open().root / "passages.faiss"
    graph.chmod(0o644)
    data = bytearray(graph.read_bytes())
    data[-5] ^= 0xFF  # in the last vector's storage: the graph still loads
    graph.write_bytes(bytes(data))
    lib.index(FILES)
    report = verify_generation(lib.open().root)
    assert [d.file for d in report.damage] == ["passages.faiss"]


@pytest.mark.parametrize("shared", ["passages.faiss", "vectors.npy"])
def test_a_file_shared_with_the_previous_generation_is_repaired_by_rebuild(
    shared: str, tmp_path: Path
) -> None:
    """The linked graph, or the graph's vectors, damaged on disk is damaged in both
    generations; ``rebuild`` builds the graph again from the stored vectors, or embeds again
    what the damaged vectors held, and the library verifies and answers as a fresh one."""
    lib = _hnsw_library(tmp_path / "lib", FILES[:2])
    lib.index(FILES)  # the graph and its vectors are linked, the new passages its tail
    index = lib.open()
    assert index.manifest["vectors"].get("graph_rows")
    path = index.root / shared
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))  # in place: the previous generation's link sees it too
    assert not verify_generation(index.root).ok
    report = lib.rebuild()
    assert report.passages_total == index.manifest["counts"]["passages"]
    rebuilt = lib.open()
    assert verify_generation(rebuilt.root).ok and "graph_rows" not in rebuilt.manifest["vectors"]
    fresh = _hnsw_library(tmp_path / "fresh", FILES)
    assert _by_passage(lib).keys() == _by_passage(fresh).keys()
    for pid, vector in _by_passage(fresh).items():
        np.testing.assert_allclose(_by_passage(lib)[pid], vector, atol=1e-6)
