"""Speaker names: one canonical name per person per show, tolerant of first names, nicknames,
accents and ASR misspellings.

Names meet here from the transcripts' labels (diarization labels such as ``SPEAKER_2``, first
names, names with or without accents, "Clem DeLong") and from the better source of the same
show (a header's "Speakers:" line), whose spelling wins. The user's own names live in
``book``; anonymous labels in ``labels``.

``resolve`` maps a name to the known name it designates, or None when it designates none or
several; it never guesses between two candidates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from rapidfuzz import fuzz

from ..core.models import Episode, Person
from ..core.text import fold
from .labels import is_anonymous_label

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
