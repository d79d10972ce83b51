"""Same-episode merging at index time: the fresh episodes grouped with each other and with
the library's (``episodes.detection``), the library's sketch postings kept beside the index
for the next run (``pipeline/sketches.py``), and each group merged (``episodes.merging``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import ReaderError
from ..core.models import Episode, Turn
from ..episodes.postings import Postings
from ..ingest.audio import Transcriber
from ..store.index import Index
from ..store.layout import TURNS, home_dir
from .report import IndexReport
from .rows import episode_from_rows, stored_episodes
from .sources import fail, read_source, source_hash


def _light_episodes(index: Index | None, ids: Iterable[str]) -> list[Episode]:
    """The index's episodes ``ids`` with only what same-episode detection reads (metadata,
    turn speakers and text): cheap to build for a whole library."""
    wanted = set(ids)
    if index is None or not wanted:
        return []
    cols = ["episode_id", "turn_index", "label", "speaker", "text"]
    present = set(index.columns("turns.parquet"))
    table = index.read_table("turns.parquet", columns=[c for c in cols if c in present])
    data = table.to_pydict()
    labels = data.get("label") or data["speaker"]
    turns: dict[str, list[Turn]] = {}
    for eid, spk, text in zip(data["episode_id"], labels, data["text"], strict=True):
        if eid in wanted:
            turns.setdefault(eid, []).append(Turn(spk, None, None, text))
    out = []
    for eid, row in index.episode_rows().items():
        if eid in wanted:
            ep = episode_from_rows(row, [])
            ep.turns = turns.get(eid, [])
            out.append(ep)
    return out


@dataclass
class Merged:
    """What ``merge_step`` gives: the episodes to write, the ids of indexed episodes they
    absorbed, and when the fresh episodes are written as they were sketched, the sketch
    postings the generation to write is made of (the library's, the fresh episodes')."""

    episodes: list[Episode]
    absorbed: set[str]
    postings: tuple[Postings, Postings] | None = None


def merge_step(
    fresh: list[Episode],
    old: Index | None,
    replaced: set[str],
    report: IndexReport,
    transcriber: Transcriber | None = None,
    sketch_dir: Path | None = None,
) -> Merged:
    """Fold the sources of one episode together, among the fresh episodes and with those
    already indexed. The other sources of a replaced multi-source episode are read again, so
    that changing one file of an episode does not lose the others. Sketches are kept in
    ``sketch_dir`` (``pipeline/sketches.py``) so each episode is sketched once, and the
    library's postings beside them, so only the fresh episodes' hashes are sorted in."""
    from ..episodes.detection import fresh_candidates, group_pairs
    from ..episodes.merging import merge_episodes
    from .sketches import load_sketches

    transcriber = transcriber or Transcriber()
    if not fresh:
        return Merged(fresh, set())
    library = Postings.of([], [])
    if old is not None:
        rows = old.episode_rows()
        have = {s for ep in fresh for s in ep.sources}
        for eid in replaced:
            for src in rows[eid]["sources"]:
                if src in have or not Path(src).is_file():
                    continue
                try:
                    episode, _, _ = read_source(Path(src), transcriber)
                    digest = source_hash(Path(src), transcriber)
                except ReaderError as e:
                    fail(report, Path(src), e.problem, strict=False)
                    continue
                except Exception as e:  # as in _read_one: one file never stops the run
                    fail(report, Path(src), f"could not be read ({type(e).__name__})", False)
                    continue
                episode.sources, episode.source_hashes = [src], [digest]
                episode.id = eid  # the merged episode keeps its id, whichever is base
                fresh.append(episode)
                have.add(src)
        library = _library_postings(old, sketch_dir).without(replaced)
    n_fresh = len(fresh)
    sketches = load_sketches(fresh, sketch_dir, prune=False)
    sketched = Postings.of([s.hashes for s in sketches], [ep.id for ep in fresh])
    boilerplate, pairs = fresh_candidates(library, sketched)
    # Only the indexed episodes sharing enough text with a fresh one are read and scored.
    wanted = sorted({j - n_fresh for _, j in pairs if j >= n_fresh})
    found = {ep.id: ep for ep in _light_episodes(old, [library.ids[j] for j in wanted])}
    stored = [found[library.ids[j]] for j in wanted]
    at = {n_fresh + j: n_fresh + k for k, j in enumerate(wanted)}
    groups = group_pairs(
        fresh + stored,
        sketches + load_sketches(stored, sketch_dir, prune=False),
        boilerplate,
        [(i, at.get(j, j)) for i, j in pairs],
    )
    position = {id(ep): i for i, ep in enumerate(fresh + stored)}
    out: list[Episode] = []
    absorbed: set[str] = set()
    for group in groups:
        old_members = [ep for ep in group if position[id(ep)] >= n_fresh]
        if len(old_members) == len(group):
            continue  # nothing fresh in it: stays as indexed
        if old_members:
            assert old is not None
            absorbed |= {ep.id for ep in old_members}
            full = stored_episodes(old, [ep.id for ep in old_members])
            group = [ep for ep in group if position[id(ep)] < n_fresh] + full
        out.append(merge_episodes(group) if len(group) > 1 else group[0])
    # Written as sketched (no merge, no id twice): the next run starts from these postings.
    as_sketched = not absorbed and len(out) == n_fresh == len({ep.id for ep in fresh})
    return Merged(out, absorbed, (library, sketched) if as_sketched else None)


def _library_postings(old: Index, sketch_dir: Path | None) -> Postings:
    """The sketch postings of every episode of ``old``: those kept for it, else made from
    its episodes' sketches (and kept)."""
    from .sketches import generation_key, load_postings, load_sketches, save_postings

    folder = sketch_dir / POSTINGS_DIR if sketch_dir is not None else None
    key = generation_key(old.manifest, TURNS)
    ids = list(old.episode_rows())
    postings = load_postings(folder, key)
    if postings is None or sorted(postings.ids) != sorted(ids):
        episodes = _light_episodes(old, ids)
        sketches = load_sketches(episodes, sketch_dir)  # the whole library: prunes the rest
        postings = Postings.of([s.hashes for s in sketches], [ep.id for ep in episodes])
        save_postings(folder, key, postings)
    return postings


SKETCH_DIR = "sketch-cache"  # beside the index: each episode's sketch (``sketches``)
POSTINGS_DIR = "postings"  # under it: the latest generation's sketch postings


def keep_merge_postings(index_dir: Path, sketch_dir: Path, merged: Merged) -> None:
    """After a write: keep the new generation's sketch postings, when ``merge_step`` could
    make them, and drop those of older generations."""
    from .sketches import generation_key, keep_postings, save_postings

    folder = sketch_dir / POSTINGS_DIR
    new = Index(index_dir)
    key = generation_key(new.manifest, TURNS)
    ids = set(new.episode_rows())
    if merged.postings is not None:
        library, fresh = merged.postings
        postings = library.added(fresh)
        postings = postings.without(set(postings.ids) - ids)
        if set(postings.ids) == ids:
            save_postings(folder, key, postings)
    keep_postings(folder, {key})


def keep_postings_after_removal(index_dir: Path, old: Index) -> None:
    """After a write that only removed episodes from ``old``: keep its sketch postings
    without them for the new generation (when they were kept; else the next addition makes
    them from the episodes' sketches)."""
    from .sketches import generation_key, load_postings

    sketch_dir = home_dir(index_dir) / SKETCH_DIR
    library = load_postings(sketch_dir / POSTINGS_DIR, generation_key(old.manifest, TURNS))
    kept = (library, Postings.of([], [])) if library is not None else None
    keep_merge_postings(index_dir, sketch_dir, Merged([], set(), kept))
