"""The Host-header check against DNS rebinding: a web page on another site whose name was
made to resolve to 127.0.0.1 could otherwise read the library through the visitor's
browser. Only requests that name this server (loopback names, the address it was bound to,
names the user allowed) are answered."""

from __future__ import annotations

import json
from typing import Any

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def host_name(header: str) -> str:
    """The name part of a Host header: ``[::1]:8765`` -> ``::1``, ``a.b:80`` -> ``a.b``."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else ""
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class HostCheck:
    """ASGI middleware: 400 for a request whose Host header is not an allowed name.
    ``allowed``: names besides the loopback ones; ``*`` turns the check off."""

    def __init__(self, app: Any, allowed: list[str] | None = None) -> None:
        self.app = app
        names = {host_name(a) if a != "*" else "*" for a in allowed or []}
        self.any = "*" in names
        self.allowed = LOOPBACK | names

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not self.any:
            headers = dict(scope.get("headers") or [])
            host = headers.get(b"host", b"").decode("latin-1")
            if host_name(host) not in self.allowed:
                body = json.dumps({"error": "unexpected Host header"}).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 400,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
