"""Speaker roles: who "the host" and "the guest" of a library are. Computed when an index is
written and kept in its manifest, so that a question needs no scan of the passages."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ..core.text import fold
from .labels import is_anonymous_label, role_of_label


def _tokens(name: str) -> list[str]:
    return re.findall(r"\w+", fold(name))


def match_speaker(name: str, known: list[str]) -> list[str]:
    """Known speakers that ``name`` designates: full name, first name, surname or a prefix
    of the first name of three letters or more ("Clem" for "Clément"), case- and
    accent-folded. Exact full-name matches win over partial ones."""
    wanted = _tokens(name)
    if not wanted:
        return []
    exact = [k for k in known if _tokens(k) == wanted]
    if exact:
        return exact
    out = []
    for k in known:
        have = _tokens(k)
        if not have:
            continue
        if len(wanted) == 1:
            w = wanted[0]
            if w in have or (len(w) >= 3 and have[0].startswith(w)):
                out.append(k)
        elif all(w in have for w in wanted) or (
            have[0].startswith(wanted[0]) and len(wanted[0]) >= 3 and wanted[1:] == have[1:]
        ):
            out.append(k)
    return out


def compute_roles(
    speaker_episodes: Iterable[tuple[str | None, str]], episodes: list[dict[str, Any]]
) -> dict[str, list[str]]:
    """Hosts named by the feed, else the one speaker heard in at least half of the episodes
    (2 or more) of the library; guests are the others. From (speaker, episode id) pairs of
    the passages and the episode rows."""
    episodes_of: dict[str, set[str]] = {}
    for spk, eid in speaker_episodes:
        if spk:
            episodes_of.setdefault(spk, set()).add(eid)
    known = sorted(episodes_of)
    hosts: set[str] = set()
    for row in episodes:
        for person in row.get("people") or []:
            if (person.get("role") or "").lower() == "host":
                hosts.update(match_speaker(person["name"], known))
    n_episodes = len(episodes)
    if not hosts and episodes_of and n_episodes >= 2:
        top = max(known, key=lambda k: len(episodes_of[k]))
        if len(episodes_of[top]) >= max(2, n_episodes / 2):
            hosts.add(top)
    # Unnamed labels that say their role ("Host", "Guest (unnamed, E41)") are that role.
    labelled = {k: role_of_label(k) for k in known if is_anonymous_label(k)}
    hosts |= {k for k, role in labelled.items() if role == "host"}
    guests = [k for k in known if k not in hosts] if hosts else []
    guests += [k for k, role in labelled.items() if role == "guest" and k not in guests]
    return {"host": sorted(hosts), "guest": sorted(guests)}
