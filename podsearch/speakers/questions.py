"""Names in questions: which known speakers "Clem", "Delangue" or an alias designate."""

from __future__ import annotations

from collections.abc import Iterable

from ..core.text import fold
from .book import SpeakerBook
from .labels import is_anonymous_label
from .names import name_similarity, name_tokens, resolve


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
