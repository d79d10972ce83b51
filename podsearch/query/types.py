"""The ask use case's typed request and result: one shape for every face (CLI, ``--server``,
the HTTP API, the Python API), validated here once.

The JSON of a hit (``Hit.as_json``) is documented once, in the README's "``--json`` fields".
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from ..core.errors import InvalidRequestError
from ..core.text import is_valid_unicode, valid_unicode

MODES = ("hybrid", "semantic", "lexical")
GROUPINGS = ("episode",)
MAX_TOP = 1000
MAX_CONTEXT = 20
# Why a hit is not a confident match (``Hit.weak_because``), each as a reader is told it
# ("weak match: ...", or "all weak: ..." when every hit shown is weak for that reason).
LOW_SCORE = "low_score"
OFF_TOPIC_EPISODE = "off_topic_episode"
OTHER_SCRIPT = "other_script"
FEW_WORDS = "few_words"
WEAK_REASONS = {
    LOW_SCORE: "only loosely like the question",
    OFF_TOPIC_EPISODE: "from an episode about something else",
    OTHER_SCRIPT: "the question is in a script the model does not read",
    FEW_WORDS: "holds few of the question's words",
}


@dataclass(frozen=True)
class Filters:
    """Which passages a question may return. Empty filters restrict nothing."""

    speakers: tuple[str, ...] = ()
    podcast: str | None = None  # words of the show's name
    episode: str | None = None  # episode id, or words of its title or source file name
    since: str | None = None  # a date, inclusive (``validated`` makes it ISO)
    until: str | None = None
    include_undated: bool = False  # a date filter keeps episodes without a date
    # A speaker named in the question also admits passages whose speaker is unknown: an
    # untimed, unlabelled transcript may hold that person's words. --speaker is strict.
    include_unknown_speaker: bool = False
    # Intros, outros and sponsor reads a show repeats rank with everything else; by default
    # they rank lower (``query.rank.BOILERPLATE_PENALTY``).
    include_boilerplate: bool = False

    def active(self) -> bool:
        return bool(self.speakers or self.podcast or self.episode or self.since or self.until)

    def with_speakers(self, speakers: list[str], *, include_unknown: bool = False) -> Filters:
        return replace(self, speakers=tuple(speakers), include_unknown_speaker=include_unknown)


def _valid_dates(filters: Filters) -> Filters:
    """The filters with ``since``/``until`` as ISO dates, or InvalidRequestError listing the
    accepted forms."""
    if filters.since is None and filters.until is None:
        return filters  # no date parsing (and no import of it) for most questions
    from ..core.dates import ACCEPTED_FORMS, bound_date

    bounds = {}
    for key in ("since", "until"):
        value = getattr(filters, key)
        if value is None:
            continue
        iso = bound_date(value, end=key == "until") if isinstance(value, str) else None
        if iso is None:
            raise InvalidRequestError(
                f"--{key}", f"{value!r} is not a date; accepted forms: {ACCEPTED_FORMS}"
            )
        bounds[key] = iso
    if "since" in bounds and "until" in bounds and bounds["since"] > bounds["until"]:
        raise InvalidRequestError(
            "--since", f"{bounds['since']} is after --until {bounds['until']}: nothing can match"
        )
    return replace(filters, **bounds) if bounds else filters


def _whole(value: object, lo: int, hi: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi


# The request's JSON names: filters flat beside the other fields, as the CLI options are.
FILTER_KEYS = (
    "speaker",
    "podcast",
    "episode",
    "since",
    "until",
    "include_undated",
    "include_boilerplate",
)


@dataclass(frozen=True)
class AskRequest:
    """A question and how to answer it."""

    question: str
    filters: Filters = field(default_factory=Filters)
    top: int = 10
    mode: str = "hybrid"
    context: int = 0  # turns before and after each hit
    group: str | None = None  # "episode": each episode's hits together
    cite: str | None = None  # a citation style for every hit (apa, mla, chicago, CSL name)
    model: str | None = None  # must be the index's model when given
    # The first hits ranked again by a cross-encoder (slower, better): True every time,
    # False never, None when the first stage is unsure (query.rank.RERANK_UNSURE).
    rerank: bool | None = None

    def validated(self) -> AskRequest:
        """This request, or InvalidRequestError naming the first bad field."""
        question = self.question
        if isinstance(question, (bytes, bytearray)):  # odd bytes (\xff) are replaced, not fatal
            question = bytes(question).decode("utf-8", "replace")
        if not isinstance(question, str) or not question.strip():
            raise InvalidRequestError("question", "give a question, e.g. 'what did Amit say'")
        if question is not self.question or not is_valid_unicode(question):
            return replace(self, question=valid_unicode(question)).validated()
        if not _whole(self.top, 1, MAX_TOP):
            raise InvalidRequestError("--top", f"must be a whole number from 1 to {MAX_TOP}")
        if self.mode not in MODES:
            raise InvalidRequestError("--mode", f"use one of {', '.join(MODES)}")
        if not _whole(self.context, 0, MAX_CONTEXT):
            raise InvalidRequestError(
                "--context", f"must be a whole number from 0 to {MAX_CONTEXT}"
            )
        if self.rerank is not None and not isinstance(self.rerank, bool):
            raise InvalidRequestError("--rerank", "must be true, false or left out")
        if self.group is not None and self.group not in GROUPINGS:
            raise InvalidRequestError("--group", "the only grouping is 'episode'")
        filters = _valid_dates(self.filters)
        return self if filters == self.filters else replace(self, filters=filters)

    def to_json(self) -> dict[str, Any]:
        """The request as the HTTP API takes it (``from_json`` reads it back)."""
        f = self.filters
        return {
            "question": self.question,
            "top": self.top,
            "mode": self.mode,
            "speaker": list(f.speakers),
            "podcast": f.podcast,
            "episode": f.episode,
            "since": f.since,
            "until": f.until,
            "include_undated": f.include_undated,
            "include_boilerplate": f.include_boilerplate,
            "context": self.context,
            "group": self.group,
            "cite": self.cite,
            "model": self.model,
            "rerank": self.rerank,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AskRequest:
        """A validated request from a JSON object or a query string's lists (the last value
        of a repeated key wins, except ``speaker``, which may repeat). ``q`` is accepted for
        ``question``; numbers may be strings, as in a query string."""

        def one(key: str) -> Any:
            v = data.get(key)
            if isinstance(v, list):
                return v[-1] if v else None
            return v

        def text(key: str) -> str | None:
            v = one(key)
            if v is None or v == "":
                return None
            if not isinstance(v, str):
                raise InvalidRequestError(key, "must be a string")
            return v

        def number(key: str, default: int) -> int:
            v = one(key)
            if v is None or v == "":
                return default
            if isinstance(v, bool) or not isinstance(v, int | str):
                raise InvalidRequestError(key, "must be a whole number")
            try:
                return int(v)
            except ValueError:
                raise InvalidRequestError(key, "must be a whole number") from None

        def flag(key: str) -> bool:
            return bool(maybe_flag(key))

        def maybe_flag(key: str) -> bool | None:
            v = one(key)
            if v is None or v == "" or isinstance(v, bool):
                return None if v == "" else v
            if isinstance(v, str) and v.lower() in ("1", "true", "yes", "0", "false", "no"):
                return v.lower() in ("1", "true", "yes")
            raise InvalidRequestError(key, "must be true or false")

        speakers = data.get("speaker")
        if isinstance(speakers, str):
            speakers = [speakers]
        if speakers is not None and (
            not isinstance(speakers, list) or not all(isinstance(s, str) for s in speakers)
        ):
            raise InvalidRequestError("speaker", "must be a string or a list of strings")
        question = text("question") or text("q") or ""
        request = cls(
            question=question,
            filters=Filters(
                speakers=tuple(s for s in speakers or [] if s),
                podcast=text("podcast"),
                episode=text("episode"),
                since=text("since"),
                until=text("until"),
                include_undated=flag("include_undated"),
                include_boilerplate=flag("include_boilerplate"),
            ),
            top=number("top", 10),
            mode=text("mode") or "hybrid",
            context=number("context", 0),
            group=text("group"),
            cite=text("cite"),
            model=text("model"),
            rerank=maybe_flag("rerank"),
        )
        try:
            return request.validated()
        except InvalidRequestError as e:  # name the JSON field, not the CLI option
            raise InvalidRequestError(e.option.removeprefix("--"), e.problem) from None


@dataclass
class Hit:
    """One quote: a passage, its episode's metadata, and how well it matched."""

    rank: int
    score: float
    passage_id: str
    episode_id: str
    episode_title: str
    podcast: str | None
    published: str | None
    speaker: str | None
    speaker_source: str | None
    start: float | None
    end: float | None
    time_precision: str
    text: str
    sources: list[str]
    url: str | None
    turn_index: int
    confident: bool = False
    # When not confident, why (a key of WEAK_REASONS); None for a confident match.
    weak_because: str | None = None
    chapter: str | None = None  # the feed's chapter title, when it gives chapters
    # Every passage the quote joins, in order: one, or more when adjacent hits of one turn
    # were merged (``passage_id`` is the first of them).
    passage_ids: list[str] = field(default_factory=list)
    # Turns around the quote, only when asked for (context > 0).
    context_before: list[dict[str, Any]] | None = None
    context_after: list[dict[str, Any]] | None = None
    # {style, in_text, reference}, only when a citation style was asked for.
    citation: dict[str, Any] | None = None
    # Text its show repeats across episodes (intro, outro, sponsor read): ranked lower unless
    # the request includes boilerplate.
    boilerplate: bool = False

    def weakness(self) -> str | None:
        """Why this is not a confident match, in words; None when it is one."""
        if self.confident:
            return None
        return WEAK_REASONS.get(self.weak_because or "", "a weak match")

    def as_json(self) -> dict[str, Any]:
        """The hit's JSON object (the README documents every field)."""
        # A shallow copy: asdict's deep copy of every list cost ~2 ms a query.
        data = dict(vars(self), sources=list(self.sources), passage_ids=list(self.passage_ids))
        for key in ("context_before", "context_after", "citation"):
            if data[key] is None:
                del data[key]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Hit:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


GROUP_KEYS = ("episode_id", "episode_title", "podcast", "published", "sources")


@dataclass
class AskResult:
    """The answer to an AskRequest: the hits, best first (or by episode when grouped)."""

    question: str
    query: str  # what was searched: the question, or its topic once a speaker was taken out
    speakers: list[str]  # the speaker filter applied (from the question or the request)
    hits: list[Hit]
    index: str = ""  # the index directory that answered
    group: str | None = None
    # Episodes without a date that a --since/--until filter left out (--include-undated).
    undated_left_out: int = 0
    reranked: bool = False  # the first hits were ranked again by the cross-encoder

    @property
    def confident(self) -> bool:
        """False when no hit is a confident match: the library may not answer this."""
        return any(h.confident for h in self.hits)

    def groups(self) -> list[list[Hit]]:
        """Consecutive hits of one episode (hits ordered by episode when grouped)."""
        groups: list[list[Hit]] = []
        for h in self.hits:
            if groups and groups[-1][0].episode_id == h.episode_id:
                groups[-1].append(h)
            else:
                groups.append([h])
        return groups

    def to_json(self) -> list[dict[str, Any]]:
        """What ``ask --json`` prints: the hits, or with ``group`` one object per episode
        (``episode_id``, ``episode_title``, ``podcast``, ``published``, ``sources``, ``hits``)."""
        if not self.group:
            return [h.as_json() for h in self.hits]
        out = []
        for g in self.groups():
            first = g[0].as_json()
            out.append({**{k: first[k] for k in GROUP_KEYS}, "hits": [h.as_json() for h in g]})
        return out

    def to_full_json(self) -> dict[str, Any]:
        """Everything, for clients that render it themselves (``ask --server``)."""
        return {
            "question": self.question,
            "query": self.query,
            "speakers": list(self.speakers),
            "index": self.index,
            "group": self.group,
            "undated_left_out": self.undated_left_out,
            "reranked": self.reranked,
            "hits": [h.as_json() for h in self.hits],
        }

    @classmethod
    def from_full_json(cls, data: Mapping[str, Any]) -> AskResult:
        return cls(
            question=str(data["question"]),
            query=str(data["query"]),
            speakers=list(data.get("speakers") or []),
            hits=[Hit.from_json(h) for h in data.get("hits") or []],
            index=str(data.get("index") or ""),
            group=data.get("group"),
            undated_left_out=int(data.get("undated_left_out") or 0),
            reranked=bool(data.get("reranked")),
        )


def episode_title(row: Mapping[str, Any]) -> str:
    """The episode's title, or its first source's file name when the source has none."""
    if row.get("title"):
        return str(row["title"])
    sources = row.get("sources") or []
    return os.path.basename(sources[0]) if sources else str(row["episode_id"])
