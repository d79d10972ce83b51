"""The user's speaker book: names for anonymous labels of one episode, and aliases. Kept beside
the index (``store.layout.speaker_file``) so that it survives re-indexing and rebuilds."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..core.models import Episode, Person
from ..core.text import fold


class SpeakerBook:
    """The user's speaker file: names for anonymous labels and aliases, as JSON.

    ``{"version": 1, "renames": {episode_id: {label: name}}, "aliases": {name: [alias]}}``.
    Every change is written at once, atomically (a temporary file replaced over the old).
    """

    VERSION = 1

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.renames: dict[str, dict[str, str]] = {}
        self.aliases: dict[str, list[str]] = {}

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SpeakerBook:
        """The book stored at ``path``; an empty one if the file does not exist yet."""
        book = cls(path)
        p = Path(path)
        if p.exists():
            data = json.loads(p.read_text(encoding="utf-8") or "{}")
            book.renames = {
                str(e): {str(k): str(v) for k, v in m.items()}
                for e, m in (data.get("renames") or {}).items()
            }
            book.aliases = {
                str(k): [str(a) for a in v] for k, v in (data.get("aliases") or {}).items()
            }
        return book

    def as_dict(self) -> dict[str, Any]:
        return {"version": self.VERSION, "renames": self.renames, "aliases": self.aliases}

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".speakers-", suffix=".json", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(self.as_dict(), fh, ensure_ascii=False, indent=2, sort_keys=True)
                fh.write("\n")
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def rename(self, episode_id: str, label: str, real_name: str) -> None:
        """Name the speaker ``label`` of one episode (usually an anonymous label)."""
        label, real_name = label.strip(), real_name.strip()
        if not label or not real_name:
            raise ValueError("label and name must not be empty")
        self.renames.setdefault(episode_id, {})[label] = real_name
        self.save()

    def alias(self, real_name: str, alias: str) -> None:
        """Record that ``alias`` designates ``real_name`` everywhere."""
        real_name, alias = real_name.strip(), alias.strip()
        if not real_name or not alias:
            raise ValueError("name and alias must not be empty")
        if fold(alias) == fold(real_name):
            return
        # An alias designates one person: drop it from anyone else first.
        for name, aliases in self.aliases.items():
            if name != real_name:
                aliases[:] = [a for a in aliases if fold(a) != fold(alias)]
        mine = self.aliases.setdefault(real_name, [])
        if all(fold(a) != fold(alias) for a in mine):
            mine.append(alias)
        self.aliases = {k: v for k, v in self.aliases.items() if v}
        self.save()

    def aliases_of(self, name: str) -> list[str]:
        """The aliases recorded for ``name`` (folded comparison), in the order added."""
        f = fold(name)
        return [a for k, v in self.aliases.items() if fold(k) == f for a in v]

    def canonical(self, name: str) -> str:
        """The real name an alias stands for, or ``name`` itself."""
        f = fold(name)
        for real, aliases in self.aliases.items():
            if any(fold(a) == f for a in aliases):
                return real
        return name

    def renamed(self, episode_id: str, label: str | None) -> str | None:
        """The user's name for ``label`` in that episode, if any."""
        if not label:
            return None
        mapping = self.renames.get(episode_id) or {}
        f = fold(label)
        return next((v for k, v in mapping.items() if fold(k) == f), None)

    def speaker_name(self, episode_id: str, speaker: str | None) -> str | None:
        """A turn's speaker after the episode's renames and then the aliases."""
        if not speaker:
            return speaker
        return self.canonical(self.renamed(episode_id, speaker) or speaker)

    def apply(self, episode: Episode) -> Episode:
        """A copy of the episode whose turn speakers and people follow renames and aliases."""
        turns = [
            replace(t, speaker=self.speaker_name(episode.id, t.speaker)) for t in episode.turns
        ]
        people: list[Person] = []
        for p in episode.people:
            name = self.speaker_name(episode.id, p.name) or p.name
            if all(fold(q.name) != fold(name) for q in people):
                people.append(Person(name, p.role))
        return replace(episode, turns=turns, people=people)
