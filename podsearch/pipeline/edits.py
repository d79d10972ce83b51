"""The user's fixes to episode metadata (``podsearch episodes edit``), kept beside the index
like the speaker book, so that they survive re-indexing and rebuilds: every write applies
them to the episode rows."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ..core.dates import ACCEPTED_FORMS, normalize_date
from ..core.errors import InvalidRequestError
from ..store.layout import home_dir

EDITABLE = ("title", "published", "podcast", "url")
OPTION = {"title": "--title", "published": "--date", "podcast": "--show", "url": "--url"}


def edits_file(index_dir: Path) -> Path:
    return home_dir(index_dir) / "episode-edits.json"


def load_edits(index_dir: Path) -> dict[str, dict[str, str]]:
    """{episode id: {field: value}} as the user set them; empty when none were."""
    path = edits_file(index_dir)
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8") or "{}")
    return {str(e): {str(k): str(v) for k, v in m.items()} for e, m in data.items()}


def record_edit(index_dir: Path, episode_id: str, changes: dict[str, str | None]) -> dict[str, str]:
    """Record the user's values for an episode (an empty string clears a field's fix) and
    return that episode's fixes. Dates are checked and made ISO."""
    clean: dict[str, str | None] = {}
    for key, value in changes.items():
        if key not in EDITABLE:
            raise InvalidRequestError(key, f"only {', '.join(EDITABLE)} can be edited")
        if value is None:
            continue
        value = " ".join(value.split())
        if key == "published" and value:
            iso = normalize_date(value)
            if iso is None:
                raise InvalidRequestError(
                    "--date", f"{value!r} is not a date; accepted forms: {ACCEPTED_FORMS}"
                )
            value = iso
        clean[key] = value
    if not clean:
        raise InvalidRequestError("--title", "give at least one of --title, --date, --show, --url")
    edits = load_edits(index_dir)
    mine = edits.setdefault(episode_id, {})
    for key, value in clean.items():
        if value:
            mine[key] = value
        else:
            mine.pop(key, None)
    if not mine:
        del edits[episode_id]
    _save(edits_file(index_dir), edits)
    return mine


def apply_edits(
    rows: list[dict[str, Any]], edits: dict[str, dict[str, str]]
) -> list[dict[str, Any]]:
    """Episode rows with the user's fixes applied (copies of the rows that change)."""
    if not edits:
        return rows
    return [{**r, **edits[r["episode_id"]]} if r["episode_id"] in edits else r for r in rows]


def _save(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".edits-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=2, sort_keys=True)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
