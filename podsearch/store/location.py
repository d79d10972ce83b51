"""Where the library lives when a command is not told, and why.

The rules, first that applies:

1. a path given by the caller (``--index DIR``, ``Library(path)``);
2. ``$PODSEARCH_INDEX``;
3. ``./indexes/default`` when it already exists (a library made here before);
4. the per-user data directory (``platformdirs``: ``~/.local/share/podsearch/default`` on
   Linux).

A path given by rules 1 and 2 is the user's: when nothing is there, reading commands fail
and say how to create it; nothing is ever substituted for it. The bundled sample library
has its own folder (``sample`` beside the per-user default) and answers only when no path
was given and no library exists at all.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import InvalidRequestError, PodsearchError
from .layout import index_exists, is_own_link, resolve_index_dir

ENV_VAR = "PODSEARCH_INDEX"
LOCAL_DEFAULT = Path("indexes") / "default"

GIVEN = "given"  # rule 1
ENVIRONMENT = "environment"  # rule 2
LOCAL = "local"  # rule 3
USER = "user"  # rule 4
SAMPLE = "sample"  # the bundled sample, when nothing else exists


@dataclass(frozen=True)
class Location:
    """A library's path, which rule chose it, and that rule in words."""

    path: Path
    rule: str
    reason: str

    @property
    def explicit(self) -> bool:
        """Whether the user named this path (``--index`` or ``$PODSEARCH_INDEX``)."""
        return self.rule in (GIVEN, ENVIRONMENT)

    def as_dict(self) -> dict[str, str]:
        return {"path": str(self.path), "rule": self.rule, "reason": self.reason}


def user_data_dir() -> Path:
    """podsearch's per-user data folder (XDG_DATA_HOME is honoured on Linux)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("podsearch", appauthor=False))


def resolve_location(path: str | os.PathLike[str] | None = None) -> Location:
    """The library a command works on (the module docstring gives the rules)."""
    if path is not None:
        return Location(Path(path), GIVEN, "given with --index")
    env = os.environ.get(ENV_VAR)
    if env:
        return Location(Path(env), ENVIRONMENT, f"set by ${ENV_VAR}")
    if os.path.lexists(LOCAL_DEFAULT):  # a dangling symlink too: reported, never replaced
        return Location(LOCAL_DEFAULT, LOCAL, f"{LOCAL_DEFAULT} exists in this directory")
    return Location(
        user_data_dir() / "default",
        USER,
        "the per-user default (no --index, no $PODSEARCH_INDEX, no ./indexes/default)",
    )


def sample_location() -> Location:
    """Where the bundled sample library is installed."""
    return Location(
        user_data_dir() / "sample",
        SAMPLE,
        "the bundled sample library (no library exists yet; 'podsearch index PATH' makes one)",
    )


def dangling_target(path: Path) -> str | None:
    """The target of ``path`` when it is a symlink to nothing, else None."""
    if os.path.islink(path) and not os.path.exists(path):
        return os.readlink(path)
    return None


def check_readable(location: Location) -> None:
    """Refuse a library that is not there, naming the path and how to create it.

    A path the user named is a usage error (InvalidRequestError: exit 2 on the command
    line); a dangling symlink is never treated as "no library yet"."""
    path = location.path
    if index_exists(path) or is_own_link(resolve_index_dir(path)):
        return  # a library (damaged or not: opening it falls back to a good generation)
    target = dangling_target(path)
    option = {GIVEN: "--index", ENVIRONMENT: ENV_VAR}.get(location.rule)
    if target is not None:
        problem = (
            f"{path} is a symlink to {target}, which does not exist; restore it or point "
            f"{option or '--index'} elsewhere (podsearch leaves it as it is)"
        )
    elif os.path.exists(path):
        problem = (
            f"{path} exists but holds no podsearch library; build one elsewhere with "
            f"'podsearch index PATH --index NEW_DIR'"
        )
    else:
        problem = (
            f"no library at {path}; create it with 'podsearch index PATH --index {path}' "
            "(PATH: your transcripts)"
        )
    if option is not None:
        raise InvalidRequestError(option, problem)
    raise PodsearchError(f"{location.reason}: {problem}")


def check_writable(path: Path) -> None:
    """Refuse to write through a dangling symlink: the user's link is never replaced."""
    target = dangling_target(path)
    if target is not None:
        raise InvalidRequestError(
            "--index",
            f"{path} is a symlink to {target}, which does not exist; restore the target or "
            "give another --index (podsearch will not replace the link)",
        )
