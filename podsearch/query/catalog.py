"""What a library holds: its episodes, its speakers, and its status (counts, model, vector
index, whether the sources changed since the build)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..core.models import LIKELY
from ..core.text import fold
from ..ingest.files import file_hash
from ..speakers.labels import base_label, is_anonymous_label
from ..store.index import Index
from ..store.layout import EPISODES, PASSAGES, TURNS
from ..store.vectors.factory import manifest_entry
from .names import speaker_book
from .types import episode_title


def list_episodes(index: Index) -> list[dict[str, Any]]:
    """Every episode, oldest first: id, title, show, date, passage count, sources, formats,
    URL, and whether its source is truncated."""
    counts: dict[str, int] = {}
    for eid in index.read_table(PASSAGES, columns=["episode_id"]).column(0).to_pylist():
        counts[eid] = counts.get(eid, 0) + 1
    items = [
        {
            "episode_id": r["episode_id"],
            "title": episode_title(r),
            "podcast": r["podcast"],
            "published": r["published"],
            "passages": counts.get(r["episode_id"], 0),
            "truncated": r["truncated"],
            "sources": r["sources"],
            "formats": r["formats"],
            "url": r["url"],
        }
        for r in index.read_table(EPISODES).to_pylist()
    ]
    items.sort(key=lambda r: (r["published"] or "", r["title"]))
    return items


def list_speakers(index: Index) -> list[dict[str, Any]]:
    """Every speaker of the index, most turns first: name, whether it is an anonymous
    label, aliases (other labels the sources used for them, and the user's), turn, passage
    and episode counts (``guessed``: the passages only guessed to be theirs, ``likely``) and a
    sample line (never a guessed one)."""
    book = speaker_book(index)
    present = set(index.columns(TURNS))
    cols = ["episode_id", "speaker", "speaker_source", "text"]
    turns = index.read_table(TURNS, columns=cols + ["label"] * ("label" in present)).to_pydict()
    labels = turns.get("label") or turns["speaker"]
    stats: dict[str, dict[str, Any]] = {}
    for eid, spk, source, label, text in zip(
        turns["episode_id"],
        turns["speaker"],
        turns["speaker_source"],
        labels,
        turns["text"],
        strict=True,
    ):
        if not spk:
            continue
        s = stats.setdefault(
            spk,
            {
                "turns": 0,
                "episodes": set(),
                "labels": {},
                "sample": "",
                "passages": 0,
                "guessed": 0,
            },
        )
        s["turns"] += 1
        s["episodes"].add(eid)
        if label and fold(label) not in (fold(spk), fold(base_label(spk))):
            s["labels"][label] = None
        short = len(s["sample"].split()) < 12
        if source != LIKELY and len(text.split()) > len(s["sample"].split()) and short:
            s["sample"] = text if len(text) <= 160 else text[:160].rsplit(" ", 1)[0] + "…"
    rows = index.read_table(PASSAGES, columns=["speaker", "speaker_source"]).to_pydict()
    for spk, source in zip(rows["speaker"], rows["speaker_source"], strict=True):
        if spk in stats:
            stats[spk]["passages"] += 1
            stats[spk]["guessed"] += source == LIKELY
    items = []
    for name, s in stats.items():
        recorded = book.aliases_of(name) if book else []
        aliases = list(s["labels"]) + [a for a in recorded if a not in s["labels"]]
        items.append(
            {
                "speaker": name,
                "anonymous": is_anonymous_label(name),
                "aliases": aliases,
                "turns": s["turns"],
                "passages": s["passages"],
                "guessed": s["guessed"],
                "episodes": len(s["episodes"]),
                "sample": s["sample"],
            }
        )
    items.sort(key=lambda x: (-x["turns"], x["speaker"]))
    return items


def index_status(index: Index) -> dict[str, Any]:
    """What an index holds and whether its sources changed since it was built."""
    changed, missing = [], []
    for row in index.episode_rows().values():
        for src, h in zip(row["sources"], row["source_hashes"] or [], strict=False):
            if src.startswith(("http://", "https://")):
                continue
            path = Path(src)
            if not path.exists():
                missing.append(src)
            elif file_hash(path) != h.partition("+")[0]:  # audio: CONTENT+MODEL
                changed.append(src)
    size = sum(f.stat().st_size for f in index.root.rglob("*") if f.is_file())
    vectors = manifest_entry(index.manifest)
    return {
        "index": str(index.path),
        "generation": index.root.name,
        "model": index.manifest["model"],
        "vectors": vectors,
        "faiss": vectors,  # the same entry under its name before the vector-index seam
        "counts": index.manifest.get("counts", {}),
        "chunking": index.manifest.get("chunking", {}),
        "built_at": index.manifest.get("built_at"),
        "tool_version": index.manifest.get("tool_version"),
        "size_bytes": size,
        "sources_changed": changed,
        "sources_missing": missing,
    }
