"""Library exceptions. Each message says what is wrong and what to do about it."""

from __future__ import annotations


class Notice(UserWarning):
    """A one-line notice from the library (a slower fallback, an answer from the previous
    generation of a damaged index). The library warns with it; the CLI prints it on stderr."""


class DamagedIndexNotice(Notice):
    """The current generation is damaged: the answer comes from the previous one."""


class PodsearchError(Exception):
    """Base of every error podsearch raises on purpose; the CLI prints it as one line."""


class ReaderError(PodsearchError):
    """A transcript file could not be read: names the file and the problem."""

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class UnknownFormatError(ReaderError):
    """No reader recognises the file's content."""


class FeedError(ReaderError):
    """A podcast feed could not be read at all: names the feed and the problem."""


class IndexNotFoundError(PodsearchError):
    """The index directory does not exist or holds no index."""


class IndexFormatError(PodsearchError):
    """The index exists but was written by an incompatible version or is damaged."""


class ModelMismatchError(PodsearchError):
    """The query model differs from the model the index was built with."""


class ModelLoadError(PodsearchError):
    """The embedding model could not be loaded."""


class PassageNotFoundError(PodsearchError):
    """A passage id given by the user is not in the index."""


class CitationError(PodsearchError):
    """An unknown citation style or format, or a style file that cannot be loaded."""


class IndexLockedError(PodsearchError):
    """Another process is writing the index and the caller chose not to wait."""


class EpisodeNotFoundError(PodsearchError):
    """An episode given by the user is not in the index (or the prefix is ambiguous)."""


class InvalidRequestError(PodsearchError):
    """A question or option that cannot be answered as given (a bad mode, a top of 0).

    ``option`` names the field as the CLI spells it (``--mode``), so each face can point at
    it: the CLI as a usage error (exit 2), the HTTP API as a 4xx, MCP as a tool error."""

    def __init__(self, option: str, problem: str) -> None:
        self.option = option
        self.problem = problem
        super().__init__(f"{option}: {problem}")
