"""Speaker identity: anonymous diarization labels, canonical names with aliases, user names.

Three sources of names meet here:
- the transcripts' labels, which may be diarization labels (``SPEAKER_2``, ``Guest 1``),
  first names, names with or without accents, or ASR misspellings ("Clem DeLong");
- the better source of the same show (a header's "Speakers:" line), whose spelling wins;
- the user's speaker book (``speakers.json``): names for anonymous labels of one episode and
  extra aliases, kept beside the index so that it survives rebuilds.

``resolve`` maps a name to the known name it designates, or None when it designates none or
several; it never guesses between two candidates.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz

from .models import Episode, Person
from .text import fold

_ROLE_WORDS = (
    r"speaker|guest|host|co-?host|voice|participant|person|interviewer|interviewee|narrator|"
    r"announcer|moderator|caller|audience(?:\s+member)?|male|female|man|woman|"
    r"unknown|unidentified|unnamed|unknown\s+speaker|unidentified\s+speaker"
)
# "Speaker A", "SPEAKER_00", "Guest 1", "Host", "Unknown": a role word and an optional number
# or single letter. "S1", "Spk0", "spkr_2", "SP 3": the short forms always carry a number.
_ANONYMOUS = re.compile(
    rf"^(?:(?:{_ROLE_WORDS})(?:[\s_#.-]*\d+|[\s_#.-]+[a-z])?|(?:s|sp|spk|spkr)[\s_#.-]*\d+|\d+)$"
)

# Common English nicknames: a nickname matches a first name that is not its prefix.
NICKNAMES: dict[str, tuple[str, ...]] = {
    "bob": ("robert",),
    "rob": ("robert",),
    "bobby": ("robert",),
    "bill": ("william",),
    "will": ("william",),
    "liam": ("william",),
    "mike": ("michael",),
    "jim": ("james",),
    "jimmy": ("james",),
    "dick": ("richard",),
    "rick": ("richard",),
    "tony": ("anthony", "antonio"),
    "joe": ("joseph",),
    "steve": ("steven", "stephen"),
    "ted": ("edward", "theodore"),
    "ned": ("edward",),
    "peggy": ("margaret",),
    "maggie": ("margaret",),
    "meg": ("margaret",),
    "kate": ("katherine", "catherine", "kathryn"),
    "katie": ("katherine", "catherine", "kathryn"),
    "liz": ("elizabeth",),
    "beth": ("elizabeth",),
    "betty": ("elizabeth",),
    "jack": ("john",),
    "johnny": ("john", "jonathan"),
    "chuck": ("charles",),
    "charlie": ("charles",),
    "larry": ("lawrence", "laurence"),
    "harry": ("henry", "harold"),
    "hank": ("henry",),
    "sandy": ("alexandra", "sandra"),
    "sasha": ("alexander", "alexandra", "aleksandr"),
    "xander": ("alexander",),
    "zach": ("zachary",),
    "greg": ("gregory",),
    "jen": ("jennifer",),
    "jenny": ("jennifer",),
    "peg": ("margaret",),
    "ray": ("raymond",),
}


def is_anonymous_label(name: str | None) -> bool:
    """True for diarization labels and bare roles ("SPEAKER_00", "Guest 1", "Speaker A",
    "Host", "Unknown", "Spk0", "S1"): placeholders, never names of people."""
    if not name:
        return False
    return bool(_ANONYMOUS.match(fold(name).strip(" :[]()")))


def display_name(name: str | None) -> str:
    """The name as shown to the user: anonymous labels are marked "(unnamed)"."""
    if not name:
        return "unknown speaker"
    return f"{name} (unnamed)" if is_anonymous_label(name) else name


def name_tokens(name: str | None) -> list[str]:
    """Folded word tokens of a name; hyphens and apostrophes join ("O'Neil" -> "oneil")."""
    return re.findall(r"[^\W_]+", fold(name).replace("'", "").replace("’", "").replace("-", ""))


def _sound(word: str) -> str:
    """A Soundex-like key of a folded word: first letter and consonant classes, vowels
    dropped, repeats merged ("delong" and "delangue" both give "d452")."""
    codes = {
        **dict.fromkeys("bfpv", "1"),
        **dict.fromkeys("cgjkqsxz", "2"),
        **dict.fromkeys("dt", "3"),
        "l": "4",
        **dict.fromkeys("mn", "5"),
        "r": "6",
    }
    if not word:
        return ""
    out, last = [word[0]], codes.get(word[0], "")
    for c in word[1:]:
        code = codes.get(c, "")
        if code and code != last:
            out.append(code)
        if c not in "hw":
            last = code
    return "".join(out)[:4]


def _first_name_score(a: str, b: str) -> float:
    """How well first name ``a`` (as written) designates first name ``b`` (0..1)."""
    if a == b:
        return 1.0
    if len(a) >= 3 and b.startswith(a):  # "clem" for "clement"
        return 0.95
    if b in NICKNAMES.get(a, ()):
        return 0.9
    r = fuzz.ratio(a, b) / 100
    return r if r >= 0.8 else 0.0


def _surname_score(a: str, b: str) -> float:
    """How well surname ``a`` matches surname ``b`` allowing ASR misspellings (0..1).

    An edit-similarity of 0.7 or more is kept as it is ("porcini"/"puccini" 0.71,
    "jaffe"/"jaffee" 0.91); below that a surname that sounds the same ("delong"/"delangue")
    still counts, at 0.75, provided it starts with the same letter."""
    if a == b:
        return 1.0
    r = fuzz.ratio(a, b) / 100
    if r >= 0.7:
        return r
    if len(a) >= 3 and len(b) >= 3 and _sound(a) == _sound(b):
        return 0.75
    return 0.0


def name_similarity(written: str, known: str) -> float:
    """How well ``written`` designates the person ``known`` (0..1), on folded tokens.

    Full names compare first name and surname separately (first names: equal, prefix of
    three letters or more, nickname, or close spelling; surnames: close spelling or sound).
    A single word compares with the known name's first name and its surname."""
    w, k = name_tokens(written), name_tokens(known)
    if not w or not k:
        return 0.0
    if w == k:
        return 1.0
    if len(w) == 1:
        word = w[0]
        scores = [_first_name_score(word, k[0])]
        if len(k) > 1:  # a surname alone must be spelt nearly right: "Jaffe" for "Jaffee"
            r = fuzz.ratio(word, k[-1]) / 100
            scores.append(r if r >= 0.85 else 0.0)
        return 0.9 * max(scores)
    if len(k) == 1:
        return 0.0  # "Clem Delangue" says more than a known "Clem": not this one for sure
    first = _first_name_score(w[0], k[0])
    last = _surname_score(w[-1], k[-1])
    if not first or not last:
        return 0.0
    return (first + last) / 2


# Below this similarity a written name designates nobody; between two candidates closer
# than RESOLVE_MARGIN the name is ambiguous and designates nobody either.
RESOLVE_MIN = 0.78
RESOLVE_MARGIN = 0.05


def resolve(name: str | None, known_names: Iterable[str]) -> str | None:
    """The known name that ``name`` designates, or None when none or several do.

    Exact folded matches win; then first names, prefixes and nicknames ("Clem" ->
    "Clément Delangue"), then ASR variants ("Clem DeLong" -> "Clément Delangue", "Sofia
    Porcini" -> "Sofia Puccini", "Theo Jaffe" -> "Theo Jaffee"). Anonymous labels only
    resolve to themselves."""
    if not name or not name.strip():
        return None
    known = list(dict.fromkeys(k for k in known_names if k))
    f = fold(name)
    exact = [k for k in known if fold(k) == f]
    if exact:
        return exact[0]
    if is_anonymous_label(name):
        return None
    scored = sorted(
        ((name_similarity(name, k), k) for k in known if not is_anonymous_label(k)),
        key=lambda x: -x[0],
    )
    if not scored or scored[0][0] < RESOLVE_MIN:
        return None
    best, best_name = scored[0]
    rivals = [k for s, k in scored[1:] if best - s < RESOLVE_MARGIN and fold(k) != fold(best_name)]
    return None if rivals else best_name


def _richness(name: str) -> tuple[int, int, int]:
    """Prefer as canonical: more words, accents kept, longer."""
    return (len(name_tokens(name)), int(fold(name) != name.casefold()), len(name))


def canonical_names(names: Mapping[str, int] | Iterable[str]) -> dict[str, str]:
    """Map each name of one show to its canonical form.

    Names that resolve to one another ("Clem", "Clem Delangue", "Clément Delangue") become
    one person, named by the richest form (most words, with accents), ties broken by turn
    count when ``names`` maps names to counts. Anonymous labels map to themselves."""
    counts = dict(names) if isinstance(names, Mapping) else dict.fromkeys(names, 1)
    order = sorted(counts, key=lambda n: (*_richness(n), counts[n]), reverse=True)
    canon: dict[str, str] = {}
    heads: list[str] = []
    for n in order:
        if is_anonymous_label(n):
            canon[n] = n
            continue
        target = resolve(n, heads)
        if target is None:
            heads.append(n)
            target = n
        canon[n] = target
    return canon


def canonicalize_episodes(episodes: Iterable[Episode]) -> None:
    """Give each person one name per show, in place: turn speakers and people of episodes
    of the same show (folded name; episodes without one form one group) are mapped with
    ``canonical_names`` over all their names, weighted by turn counts."""
    by_show: dict[str, list[Episode]] = {}
    for ep in episodes:
        by_show.setdefault(fold(ep.podcast), []).append(ep)
    for eps in by_show.values():
        counts: dict[str, int] = {}
        for ep in eps:
            for p in ep.people:
                counts[p.name] = counts.get(p.name, 0)
            for t in ep.turns:
                if t.speaker:
                    counts[t.speaker] = counts.get(t.speaker, 0) + 1
        canon = canonical_names(counts)
        for ep in eps:
            for t in ep.turns:
                if t.speaker:
                    t.speaker = canon.get(t.speaker, t.speaker)
            people: list[Person] = []
            for p in ep.people:
                name = canon.get(p.name, p.name)
                if all(q.name != name for q in people):
                    people.append(Person(name, p.role))
            ep.people = people


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


def expand_query_name(
    name: str, known: Iterable[str], book: SpeakerBook | None = None
) -> list[str]:
    """The known speakers a name in a question designates, through the user's aliases.

    "Clem", "clement", "Delangue", "Clem DeLong" and any alias the user recorded all give
    "Clément Delangue" when it is a known speaker. Exact and alias matches win over partial
    ones; a first name shared by several speakers gives them all, as the question is
    ambiguous and the filter should not drop any of them."""
    known = list(dict.fromkeys(k for k in known if k))
    if not name.strip():
        return []
    f = fold(name)
    if book is not None:
        real = book.canonical(name)
        if fold(real) != f:
            hits = [k for k in known if fold(k) == fold(real)]
            return hits or [real]
    exact = [k for k in known if fold(k) == f]
    if exact:
        return exact
    if book is not None:  # an alias recorded for a known name, compared loosely
        hits = [k for k in known for a in book.aliases_of(k) if name_similarity(name, a) >= 0.95]
        if hits:
            return list(dict.fromkeys(hits))
    w = name_tokens(name)
    if len(w) == 1:  # a first name, surname or prefix may designate several people
        hits = [k for k in known if not is_anonymous_label(k) and name_similarity(name, k) >= 0.85]
        if hits:
            return hits
    one = resolve(name, known)
    return [one] if one else []
