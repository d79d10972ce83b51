"""The client side of ``podsearch serve``: ``ask --server URL`` sends its AskRequest to a
running server and gets the same AskResult back as a local search would give."""

from __future__ import annotations

import json
from http import HTTPStatus

from ..core.errors import PodsearchError
from ..query.types import AskRequest, AskResult


class ServerUnavailable(Exception):
    """No usable server at the URL (not running, or serving another index)."""


def ask_server(
    url: str, request: AskRequest, *, index: str | None = None, timeout: float = 30.0
) -> AskResult:
    """POST a question to a running server and return its full result. ``index``: the
    client's index path, refused by a server that holds another one. Raises
    ServerUnavailable when no server answers or it holds another index, PodsearchError for
    a question it refused."""
    import urllib.error
    import urllib.request

    body = json.dumps({**request.to_json(), "index": index, "full": True}).encode("utf-8")
    req = urllib.request.Request(
        url.rstrip("/") + "/ask",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return AskResult.from_full_json(json.loads(resp.read()))
    except urllib.error.HTTPError as e:
        try:
            message = json.loads(e.read()).get("error", str(e))
        except (ValueError, AttributeError):
            message = str(e)
        if e.code in (HTTPStatus.CONFLICT, HTTPStatus.NOT_FOUND):
            raise ServerUnavailable(message) from None
        raise PodsearchError(f"server at {url}: {message}") from None
    except (urllib.error.URLError, OSError, ValueError, KeyError) as e:
        raise ServerUnavailable(f"no podsearch server at {url} ({e})") from None
