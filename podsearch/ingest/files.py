"""Files on disk: walking folders for sources, opening them safely, content hashes, the
bundled sample library.

A folder handed to ``index`` may hold anything: a FIFO or a device (opening one blocks
forever, while the writer lock is held), a socket, a file named in no valid UTF-8, a huge
file. Everything here opens a source without blocking, checks that it is a regular file
before reading a byte, reads at most a bounded size, and renders any name printably.
"""

from __future__ import annotations

import hashlib
import os
import signal
import stat
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

_SKIP_NAMES = {".DS_Store", "Thumbs.db"}
MAX_SOURCE_BYTES = 64 * 1024 * 1024  # no transcript is this large; a bigger file is refused
SOURCE_SECONDS = 120.0  # reading and parsing one source; a file that takes longer is refused


class SourceTimeout(Exception):
    """Reading one source took longer than its time limit (``time_limit``)."""


class UnsafeFileError(OSError):
    """A source that is not a regular file, or larger than the limit: not opened or read."""


# Files a transcript folder often holds beside its transcripts. Found in a folder, they are
# listed as skipped, not failed; a file named on the command line is always read.
_DOC_STEMS = {
    "readme",
    "license",
    "licence",
    "copying",
    "notice",
    "changelog",
    "changes",
    "authors",
    "contributing",
    "code_of_conduct",
    "security",
}
_METADATA_NAMES = {"metadata", "meta", "episodes", "feed_metadata", "index", "manifest"}
_NOT_TRANSCRIPT_SUFFIXES = {
    **dict.fromkeys(
        (".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".bmp", ".tif", ".tiff", ".ico"),
        "image",
    ),
    **dict.fromkeys(
        (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".zst"), "archive"
    ),
    # Audio (.mp3, .wav, ...) is a source: transcribed with the audio extra (ingest.audio).
    ".mkv": "video",
    **dict.fromkeys((".pdf", ".doc", ".docx", ".odt", ".xls", ".xlsx"), "document"),
    **dict.fromkeys((".csv", ".tsv", ".jsonl", ".yaml", ".yml", ".toml", ".ini"), "data"),
    **dict.fromkeys((".py", ".sh", ".js", ".css", ".db", ".sqlite", ".pyc"), "code"),
}


def skip_reason(path: Path, siblings: set[str] | None = None) -> str | None:
    """Why a file found in a folder is not a transcript (README, LICENSE, metadata files and
    sidecars, images, archives, audio), or None to read it. ``siblings``: the names of the
    other files of its folder, to recognise a sidecar ``NAME.json`` of transcript ``NAME``."""
    name = path.name.lower()
    stem = name.split(".", 1)[0]
    if stem in _DOC_STEMS:
        return "documentation"
    if name.endswith(".meta.json") or (
        name.endswith(".json") and stem in _METADATA_NAMES and name.count(".") == 1
    ):
        return "metadata"
    if siblings and name.endswith(".json") and path.name[: -len(".json")] in siblings:
        return "metadata"
    return _NOT_TRANSCRIPT_SUFFIXES.get(path.suffix.lower())


def iter_files(
    paths: Iterable[str | os.PathLike[str]], skipped: list[tuple[Path, str]] | None = None
) -> Iterator[Path]:
    """Files named, and files below folders named (recursively, hidden ones skipped), sorted.
    Files of a folder that are not transcripts (``skip_reason``) are left out, and added to
    ``skipped`` with the reason when a list is given."""
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                names = {n for n in files if not n.startswith(".") and n not in _SKIP_NAMES}
                for name in sorted(names):
                    reason = skip_reason(Path(root) / name, names)
                    if reason is None:
                        yield Path(root) / name
                    elif skipped is not None:
                        skipped.append((Path(root) / name, reason))
        else:
            yield p


def safe_name(path: str | os.PathLike[str]) -> str:
    """``path`` as printable, storable text: bytes that are not UTF-8 (a Latin-1 file name
    on a UTF-8 system) shown as ``\\xNN`` escapes instead of breaking output or Parquet."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def name_problem(path: str | os.PathLike[str]) -> str | None:
    """Why a file name cannot be indexed (it is not valid UTF-8), or None."""
    try:
        os.fsencode(path).decode("utf-8")
    except UnicodeDecodeError:
        return "the file name is not valid UTF-8: rename the file to index it"
    return None


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a folder"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def file_problem(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` is not read as a source (not a regular file, a bad name), or None. Only
    ``stat`` is called: nothing is opened."""
    problem = name_problem(path)
    if problem:
        return problem
    try:
        mode = os.stat(path).st_mode
    except OSError as e:
        return f"cannot read file: {e.strerror or e}"
    if not stat.S_ISREG(mode):
        return f"skipped: {_kind(mode)}, not a regular file"
    return None


@contextmanager
def open_regular(path: str | os.PathLike[str], max_bytes: int = MAX_SOURCE_BYTES) -> Iterator:
    """A binary file object of ``path``, opened without blocking and checked (on the open
    descriptor, so a file swapped for a FIFO in between is caught) to be a regular file of
    at most ``max_bytes``; UnsafeFileError otherwise."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafeFileError(f"skipped: {_kind(st.st_mode)}, not a regular file")
        if st.st_size > max_bytes:
            raise UnsafeFileError(f"file is {st.st_size} bytes, larger than the {max_bytes} limit")
        fh = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with fh:
        yield fh


def read_bounded(path: str | os.PathLike[str], max_bytes: int = MAX_SOURCE_BYTES) -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` (a file growing while it is read
    is cut off there and refused); UnsafeFileError or OSError otherwise."""
    with open_regular(path, max_bytes) as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UnsafeFileError(f"file grew past the {max_bytes} byte limit while read")
    return data


def read_head(path: str | os.PathLike[str], size: int) -> bytes:
    """The first ``size`` bytes of a regular file (of any length), without blocking."""
    with open_regular(path, max_bytes=1 << 62) as fh:
        return fh.read(size)


def file_hash(path: Path) -> str:
    """A content hash of a file (SHA-256, 16 hex digits): an unchanged source is skipped.
    Raises OSError (UnsafeFileError) for anything but a regular file of bounded size."""
    h = hashlib.sha256()
    with open_regular(path) as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise SourceTimeout in the block once ``seconds`` have passed (a parser looping on a
    hostile file). Uses SIGALRM, so it applies in the main thread of a POSIX process only;
    elsewhere (a server's worker thread) the block runs unbounded."""
    usable = (
        seconds > 0
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def on_alarm(signum: int, frame: object) -> None:
        raise SourceTimeout(f"reading it took longer than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    started = time.monotonic()
    pending, interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if pending:  # the program's own timer, re-armed for what was left of it
            left = max(pending - (time.monotonic() - started), 1e-3)
            signal.setitimer(signal.ITIMER_REAL, left, interval)


def sample_paths() -> list[Path]:
    """The bundled sample library: the two source transcripts of one real episode."""
    folder = resources.files("podsearch") / "data" / "sample"
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".txt"))


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all: a temporary sibling, then one rename (a reader or
    a crash never sees half a file)."""
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
