"""More like this: passages or episodes near a given passage or episode, from the vectors the
index already holds (nothing is embedded again, so no model is loaded)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.errors import EpisodeNotFoundError, InvalidRequestError, PassageNotFoundError
from ..store.index import Index, resolve_episode_id
from .hits import make_hits, overlaps
from .types import MAX_TOP, Hit, episode_title


@dataclass
class SimilarResult:
    """What is like ``of``: passages (``kind`` "passage") or episodes (``kind`` "episode")."""

    of: str  # the passage id or episode id asked about
    kind: str  # "passage" or "episode"
    title: str  # the episode's title (its own, or the passage's episode's)
    hits: list[Hit] = field(default_factory=list)  # passages like the passage
    episodes: list[dict[str, Any]] = field(default_factory=list)  # episodes like the episode

    def to_json(self) -> dict[str, Any]:
        return {
            "of": self.of,
            "kind": self.kind,
            "title": self.title,
            "hits": [h.as_json() for h in self.hits],
            "episodes": self.episodes,
        }


def similar(index: Index, wanted: str, *, top: int = 10) -> SimilarResult:
    """Passages like the passage ``wanted`` (an id or unique prefix, as hits show them), or
    episodes like the episode ``wanted`` (an id, prefix or source file name).

    Raises InvalidRequestError for a bad ``top``, PassageNotFoundError when ``wanted`` names
    neither a passage nor an episode."""
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= MAX_TOP:
        raise InvalidRequestError("--top", f"must be a whole number from 1 to {MAX_TOP}")
    from ..cite.items import resolve_passage_ids

    try:
        row = resolve_passage_ids(index, [wanted])[0]
    except PassageNotFoundError as passage_error:
        try:
            episode_id = resolve_episode_id(index.episode_rows(), wanted.strip())
        except EpisodeNotFoundError:
            raise PassageNotFoundError(
                f"{wanted!r} is neither a passage id nor an episode: give a hit's id (as "
                "'podsearch ask' shows it) or an episode id (as 'podsearch episodes' lists it)"
            ) from passage_error
        return _similar_episodes(index, episode_id, top)
    return _similar_passages(index, row, top)


def _similar_passages(index: Index, row: int, top: int) -> SimilarResult:
    vector = index.vectors_for([row])[0]
    me = make_hits(index, [(row, 1.0)])[0]
    hits: list[Hit] = []
    depth = min(max(100, top * 10), index.vector_index.size)
    for h in make_hits(index, [(r, s) for r, s in index.nearest(vector, depth) if r != row]):
        if overlaps(h, me) or any(overlaps(h, k) for k in hits):
            continue  # the passage itself again, or a span already shown
        hits.append(h)
        if len(hits) == top:
            break
    for i, h in enumerate(hits, 1):
        h.rank = i
    return SimilarResult(of=me.passage_id, kind="passage", title=me.episode_title, hits=hits)


def _similar_episodes(index: Index, episode_id: str, top: int) -> SimilarResult:
    """Episodes ranked by the cosine of their mean passage vector to this episode's."""
    distinct, codes = index.passage_codes("episode_id")
    vectors = index.vectors().astype(np.float32, copy=False)
    centroids = np.zeros((len(distinct), vectors.shape[1]), dtype=np.float32)
    np.add.at(centroids, codes, vectors)  # sums suffice: the rows are normalised below
    norms = np.linalg.norm(centroids, axis=1, keepdims=True)
    centroids = centroids / np.where(norms == 0, 1.0, norms)
    scores = centroids @ centroids[distinct.index(episode_id)]
    rows = index.episode_rows()
    out = []
    for i in np.argsort(-scores, kind="stable"):
        other = distinct[int(i)]
        if other == episode_id or other not in rows:
            continue
        r = rows[other]
        out.append(
            {
                "rank": len(out) + 1,
                "score": round(float(scores[i]), 4),
                "episode_id": other,
                "title": episode_title(r),
                "podcast": r.get("podcast"),
                "published": r.get("published"),
            }
        )
        if len(out) == top:
            break
    return SimilarResult(
        of=episode_id, kind="episode", title=episode_title(rows[episode_id]), episodes=out
    )
