"""Downloads for feeds: timeouts and a total deadline, a size limit, only http(s), no
private addresses, and a cache revalidated with ETag/Last-Modified.

``fetch(url, ...)`` reads ``http(s)://`` URLs with ``requests`` and ``file://`` URLs from
disk (regular files only). A download:

- connects and reads with ``timeout`` each, and ends within ``timeout * TOTAL_TIME_FACTOR``
  in all, enforced by a watchdog that closes the connection (a server dripping one byte
  per second never trips a read timeout);
- stops as soon as it passes ``max_bytes``, and is refused when the body is shorter than
  its Content-Length (a connection cut mid-way);
- goes only to http and https URLs whose host resolves to public addresses: loopback,
  private, link-local and other special addresses are refused (server-side request
  forgery) unless ``allow_private_network``, checked again on every redirect.

Each downloaded body is kept under ``cache_dir`` with its validators; the next fetch of the
same URL sends If-None-Match / If-Modified-Since and a 304 answer reuses the cached body.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlparse
from urllib.request import url2pathname

from ..core.version import __version__
from .files import read_bounded, write_atomic

USER_AGENT = f"podsearch/{__version__} (+transcript indexer)"
TOTAL_TIME_FACTOR = 6  # a whole download must end within this many timeouts
MAX_REDIRECTS = 5
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


def fetch(
    url: str,
    *,
    cache_dir: Path,
    timeout: float,
    max_bytes: int,
    allow_private_network: bool = False,
) -> Fetched:
    """The body at ``url`` (http, https or file), or FetchError saying what went wrong.
    ``allow_private_network``: let http(s) URLs reach loopback and private addresses (a
    server on your own network; tests)."""
    scheme = urlparse(url).scheme
    if scheme == "file":
        return _read_local(local_path(url), url, max_bytes)
    if scheme not in ("http", "https"):
        raise FetchError(f"unsupported URL scheme {scheme!r}")
    return _download(url, cache_dir, timeout, max_bytes, allow_private_network)


def _special_address(ip: str) -> bool:
    addr = ipaddress.ip_address(ip.split("%")[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return not addr.is_global or addr.is_multicast


def resolve(host: str, port: int) -> list[str]:
    """The IP addresses ``host`` resolves to (the system resolver)."""
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


def check_public(url: str, allow_private_network: bool) -> None:
    """FetchError unless ``url`` is http(s) and its host resolves only to public addresses
    (or ``allow_private_network``)."""
    parts = urlparse(url)
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"refused: only http and https URLs are fetched ({url})")
    host = parts.hostname
    if not host:
        raise FetchError(f"no host in {url}")
    if allow_private_network:
        return
    try:
        addresses = resolve(host, parts.port or (443 if parts.scheme == "https" else 80))
    except (OSError, UnicodeError) as e:
        raise FetchError(f"cannot resolve {host}: {e}") from None
    for ip in addresses:
        if _special_address(ip):
            raise FetchError(
                f"refused: {host} is a private, loopback or link-local address ({ip}); "
                "pass --allow-private-network to fetch from your own network"
            )


def _too_big(size: int, max_bytes: int) -> FetchError:
    return FetchError(f"is {size} bytes, over the {max_bytes} byte limit")


def _read_local(path: Path, url: str, max_bytes: int) -> Fetched:
    try:
        data = read_bounded(path, max_bytes)  # a FIFO or a device is refused, never opened
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


def _download(
    url: str, cache_dir: Path, timeout: float, max_bytes: int, allow_private: bool
) -> Fetched:
    import requests

    body_path, meta_path = _cache_files(cache_dir, url)
    meta = _load_meta(meta_path, body_path)
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if meta.get("etag"):
        headers["If-None-Match"] = meta["etag"]
    if meta.get("last_modified"):
        headers["If-Modified-Since"] = meta["last_modified"]
    total = timeout * TOTAL_TIME_FACTOR
    deadline = time.monotonic() + total
    with requests.Session() as session:
        session.trust_env = False  # no proxy or .netrc from the environment: what is named
        where = url
        for _hop in range(MAX_REDIRECTS + 1):
            check_public(where, allow_private)  # every hop: a redirect may point inward
            resp = _get(session, where, headers, timeout, deadline)
            if resp.is_redirect:
                location = resp.headers.get("Location") or ""
                resp.close()
                where = urljoin(where, location)
                continue
            break
        else:
            raise FetchError(f"more than {MAX_REDIRECTS} redirects")
        with resp:
            if resp.status_code == 304 and meta:
                try:
                    return Fetched(url, body_path.read_bytes(), body_path, "not modified")
                except OSError as err:
                    raise FetchError(f"cached copy unreadable: {err.strerror or err}") from None
            if resp.status_code >= 400 or resp.status_code == 304:
                raise FetchError(f"HTTP {resp.status_code} {resp.reason}")
            data = _read_body(resp, timeout, max_bytes, deadline, total)
            validators = {
                "etag": resp.headers.get("ETag") or "",
                "last_modified": resp.headers.get("Last-Modified") or "",
            }
    try:
        write_atomic(body_path, data)
        meta_path.write_text(json.dumps({"url": url, **validators}), "utf-8")
    except OSError as e:
        raise FetchError(f"cannot write the cache in {cache_dir}: {e.strerror or e}") from None
    return Fetched(url, data, body_path, "downloaded")


def _get(session: Any, url: str, headers: dict[str, str], timeout: float, deadline: float) -> Any:
    import requests

    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchError("took longer than the total time allowed")
    try:
        return session.get(
            url,
            headers=headers,
            timeout=(min(timeout, left), min(timeout, left)),
            stream=True,
            allow_redirects=False,
        )
    except requests.Timeout:
        raise FetchError(f"timed out after {timeout:g} s") from None
    except requests.RequestException as e:
        raise FetchError(f"cannot connect: {_reason(e)}") from None


def _reason(e: BaseException) -> str:
    """The innermost reason of a requests/urllib3 error, in one short line."""
    while e.__context__ is not None and str(e.__context__):
        e = e.__context__
    return str(e).splitlines()[0][:200] if str(e) else type(e).__name__


def _read_body(resp: Any, timeout: float, max_bytes: int, deadline: float, total: float) -> bytes:
    """The body, read as it arrives, within the size limit and the total deadline."""
    length = resp.headers.get("Content-Length")
    expected = int(length) if length and length.isdigit() else None
    if expected is not None and expected > max_bytes:
        raise _too_big(expected, max_bytes)
    expired = threading.Event()

    def watchdog() -> None:  # closes the connection: a blocked read returns or raises
        expired.set()
        resp.close()

    timer = threading.Timer(max(0.0, deadline - time.monotonic()), watchdog)
    timer.daemon = True
    timer.start()
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            chunk = resp.raw.read1(_CHUNK)  # what has arrived, not a full chunk
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                raise FetchError(f"is over the {max_bytes} byte limit (stopped reading)")
            chunks.append(chunk)
    except FetchError:
        raise
    except Exception as e:  # a read timeout, a reset, the watchdog's close
        if expired.is_set():
            raise FetchError(f"took longer than {total:g} s in all") from None
        if "timed out" in str(e).lower() or isinstance(e, TimeoutError):
            raise FetchError(f"timed out after {timeout:g} s") from None
        raise FetchError(f"download failed: {_reason(e)}") from None
    finally:
        timer.cancel()
    if expired.is_set():
        raise FetchError(f"took longer than {total:g} s in all")
    if expected is not None and size != expected:
        raise FetchError(f"the body is {size} bytes, its Content-Length says {expected}")
    return b"".join(chunks)
