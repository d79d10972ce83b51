"""The speakers a question can name: the index's speaker names and host/guest roles (kept in
the manifest by the writer) and the user's speaker book."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..store.index import Index
from ..store.layout import PASSAGES, speaker_file

if TYPE_CHECKING:
    from ..speakers.book import SpeakerBook


def speaker_book(index: Index) -> SpeakerBook | None:
    """The user's speaker names kept beside the index, if any were recorded."""
    path = speaker_file(index.path)
    if not path.exists():
        return None
    from ..speakers.book import SpeakerBook

    return SpeakerBook.load(path)


def known_speakers(index: Index) -> list[str]:
    """Every speaker name of the index, sorted (kept in the manifest by the writer)."""
    cached = index.manifest.get("speakers")
    if cached is not None:
        return list(cached["names"])
    col = index.read_table(PASSAGES, columns=["speaker"]).column("speaker")
    return sorted({s for s in col.to_pylist() if s})


def speaker_roles(index: Index) -> dict[str, list[str]]:
    """Who "the host" and "the guest" are (see ``compute_roles``)."""
    cached = index.manifest.get("speakers")
    if cached is not None:
        return {k: list(v) for k, v in cached["roles"].items()}
    table = index.read_table(PASSAGES, columns=["speaker", "episode_id"])
    pairs = zip(
        table.column("speaker").to_pylist(), table.column("episode_id").to_pylist(), strict=True
    )
    from ..speakers.roles import compute_roles

    return compute_roles(pairs, index.episodes.to_pylist())
