"""Guests are people per episode: an anonymous label ("Guest", "Guest 1", "SPEAKER_02") is
scoped to its episode ("Guest (unnamed, E41)"), never pooled with the same label elsewhere;
where the episode's metadata names exactly one guest and the episode has one guest label,
that name replaces the label."""

from __future__ import annotations

import os

from ..core.models import Episode
from .labels import is_anonymous_label, role_of_label, scoped_label

MAX_TAG = 16  # a file stem longer than this is not a handy episode tag


def episode_tag(ep: Episode) -> str:
    """How labels name their episode: the first source's file stem ("E41" of
    "E41.mp3.vtt"), else "E" and the episode number, else the start of the episode id."""
    for src in ep.sources[:1]:
        stem = os.path.basename(src.rstrip("/")).split(".", 1)[0]
        if 0 < len(stem) <= MAX_TAG:
            return stem
    if ep.episode_number is not None:
        return f"E{ep.episode_number}"
    return ep.id[:8]


def scope_episode_speakers(ep: Episode) -> Episode:
    """Name the single guest label after the one guest the metadata names, and scope the
    remaining anonymous labels to the episode. Changes ``ep`` in place and returns it."""
    labels = list(dict.fromkeys(t.speaker for t in ep.turns if is_anonymous_label(t.speaker)))
    if not labels:
        return ep
    guests = [p.name for p in ep.people if (p.role or "").lower() == "guest"]
    guest_labels = [label for label in labels if role_of_label(label) == "guest"]
    named = {}
    if len(guests) == 1 and len(guest_labels) == 1:
        named[guest_labels[0]] = guests[0]
    tag = episode_tag(ep)
    for t in ep.turns:
        if t.speaker in labels:
            t.speaker = named.get(t.speaker) or scoped_label(t.speaker, tag)
    return ep
