"""Downloads for feeds: timeouts, a size limit, and a cache revalidated with ETag/Last-Modified.

``fetch(url, ...)`` reads ``http(s)://`` URLs with ``urllib.request`` and ``file://`` URLs from
disk. A download streams into memory and stops as soon as it passes ``max_bytes``. Each
downloaded body is kept under ``cache_dir`` with its validators; the next fetch of the same
URL sends If-None-Match / If-Modified-Since and a 304 answer reuses the cached body.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urlparse
from urllib.request import Request, url2pathname, urlopen

from ..core.version import __version__

USER_AGENT = f"podsearch/{__version__} (+transcript indexer)"
TOTAL_TIME_FACTOR = 6  # a whole download must end within this many timeouts
_CHUNK = 64 * 1024


class FetchError(Exception):
    """A download or local read failed; the message says why (HTTP status, timeout, size)."""


@dataclass
class Fetched:
    url: str
    data: bytes
    path: Path  # a file holding the data: the local file itself, or the cached copy
    status: str  # "local", "downloaded" or "not modified"


def is_remote(url: str) -> bool:
    return urlparse(url).scheme in ("http", "https")


def local_path(url: str) -> Path:
    """The file a ``file://`` URL names."""
    parts = urlparse(url)
    if parts.netloc not in ("", "localhost"):
        raise FetchError(f"file URL on another host ({parts.netloc}) is not supported")
    return Path(url2pathname(parts.path))


def fetch(url: str, *, cache_dir: Path, timeout: float, max_bytes: int) -> Fetched:
    """The body at ``url`` (http, https or file), or FetchError saying what went wrong."""
    scheme = urlparse(url).scheme
    if scheme == "file":
        return _read_local(local_path(url), url, max_bytes)
    if scheme not in ("http", "https"):
        raise FetchError(f"unsupported URL scheme {scheme!r}")
    return _download(url, cache_dir, timeout, max_bytes)


def _too_big(size: int, max_bytes: int) -> FetchError:
    return FetchError(f"is {size} bytes, over the {max_bytes} byte limit")


def _read_local(path: Path, url: str, max_bytes: int) -> Fetched:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise _too_big(size, max_bytes)
        data = path.read_bytes()
    except OSError as e:
        raise FetchError(f"cannot read {path}: {e.strerror or e}") from None
    return Fetched(url, data, path, "local")


def _cache_files(cache_dir: Path, url: str) -> tuple[Path, Path]:
    key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]
    return cache_dir / f"{key}.body", cache_dir / f"{key}.json"


def _load_meta(meta_path: Path, body_path: Path) -> dict[str, str]:
    if not body_path.exists():
        return {}
    try:
        meta = json.loads(meta_path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _download(url: str, cache_dir: Path, timeout: float, max_bytes: int) -> Fetched:
    body_path, meta_path = _cache_files(cache_dir, url)
    meta = _load_meta(meta_path, body_path)
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if meta.get("etag"):
        headers["If-None-Match"] = meta["etag"]
    if meta.get("last_modified"):
        headers["If-Modified-Since"] = meta["last_modified"]
    deadline = time.monotonic() + timeout * TOTAL_TIME_FACTOR
    try:
        with urlopen(Request(url, headers=headers), timeout=timeout) as resp:
            length = resp.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise _too_big(int(length), max_bytes)
            chunks: list[bytes] = []
            size = 0
            while chunk := resp.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise FetchError(f"is over the {max_bytes} byte limit (stopped reading)")
                if time.monotonic() > deadline:
                    raise FetchError(f"took longer than {timeout * TOTAL_TIME_FACTOR:g} s in all")
                chunks.append(chunk)
            validators = {
                "etag": resp.headers.get("ETag") or "",
                "last_modified": resp.headers.get("Last-Modified") or "",
            }
    except HTTPError as e:
        e.close()
        if e.code == 304 and meta:
            try:
                return Fetched(url, body_path.read_bytes(), body_path, "not modified")
            except OSError as err:
                raise FetchError(f"cached copy unreadable: {err.strerror or err}") from None
        raise FetchError(f"HTTP {e.code} {e.reason}") from None
    except TimeoutError:
        raise FetchError(f"timed out after {timeout:g} s") from None
    except URLError as e:
        if isinstance(e.reason, TimeoutError):
            raise FetchError(f"timed out after {timeout:g} s") from None
        raise FetchError(f"cannot connect: {e.reason}") from None
    except (http.client.HTTPException, OSError) as e:
        raise FetchError(f"download failed: {e}") from None
    data = b"".join(chunks)
    try:
        _write_atomic(body_path, data)
        meta_path.write_text(json.dumps({"url": url, **validators}), "utf-8")
    except OSError as e:
        raise FetchError(f"cannot write the cache in {cache_dir}: {e.strerror or e}") from None
    return Fetched(url, data, body_path, "downloaded")
