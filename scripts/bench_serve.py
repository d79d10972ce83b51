#!/usr/bin/env python3
"""Measure warm questions: in one process, and from `podsearch serve` over HTTP.

Usage:
  python scripts/bench_serve.py --index DIR [--n 300] [--mixed 0] [--seed 1]
                                [--rerank default|true|false]

Questions are first-time ones: the first 9 words of random passages of the index (so none
repeats and every one has an answer somewhere). Printed, each as p50 / p95 in ms:

- ``in-process``: ``Library(DIR, long_lived=True).ask`` (what ``serve`` runs);
- ``kept-alive, http.client`` and ``kept-alive, raw socket``: ``GET /ask?q=...&top=10`` on one
  connection, with Python's client and with a bare socket (the server's own time, without a
  client library's);
- ``new connection, urllib`` and ``new connection, raw socket``: a connection per question;
- ``repeated``: 40 of the questions asked 7 times (the server keeps recent question vectors);
- the server's RSS when ready and at the end (``/proc``; Linux).

``--mixed N`` then asks N more questions as a varied client would (top 5 to 50, every 7th with
``context=2`` as the web page asks, every 11th lexical or semantic) and prints the RSS every
1,000. The server is started as ``podsearch serve --index DIR --port 0`` on 127.0.0.1 and
stopped at the end. Numbers drift with the machine's load: compare runs made minutes apart.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from podsearch.api import Library


def questions(index: str, n: int, seed: int) -> list[str]:
    idx = Library(index).open()
    total = int(idx.manifest["counts"]["passages"])
    rows = random.Random(seed).sample(range(total), min(n, total))
    return [" ".join(r["text"].split()[:9]) for r in idx.take(rows, columns=["text"])]


def report(label: str, calls: list[Callable[[], object]]) -> None:
    print(f"{label:30s} {timed(calls)}", flush=True)


def timed(calls: list[Callable[[], object]]) -> str:
    times = []
    for call in calls:
        started = time.perf_counter()
        call()
        times.append(1000 * (time.perf_counter() - started))
    times.sort()
    return f"p50 {statistics.median(times):.2f}  p95 {times[int(0.95 * len(times))]:.2f}"


@contextmanager
def server(index: str) -> Iterator[tuple[str, int, Callable[[], str]]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "podsearch", "serve", "--index", index, "--port", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        address = None
        while address is None:
            line = proc.stderr.readline() if proc.stderr else ""
            if not line and proc.poll() is not None:
                raise SystemExit(f"podsearch serve exited with {proc.returncode}")
            found = re.search(r"http://([\d.]+):(\d+)", line)
            address = (found.group(1), int(found.group(2))) if found else None

        def rss() -> str:
            status = Path(f"/proc/{proc.pid}/status").read_text()
            mb = {
                k: int(re.search(rf"{k}:\s+(\d+)", status).group(1)) // 1024
                for k in ("VmRSS", "VmHWM", "RssAnon", "RssFile")
            }
            # RssFile: pages of mapped index files, which the kernel can take back.
            return (
                f"RSS {mb['VmRSS']} MB (peak {mb['VmHWM']} MB; anonymous {mb['RssAnon']} MB, "
                f"mapped files {mb['RssFile']} MB)"
            )

        yield address[0], address[1], rss
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


def raw_get(sock: socket.socket, path: str) -> bytes:
    """One GET on a bare socket: the response's body (Content-Length framed)."""
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, body = data.split(b"\r\n\r\n", 1)
    length = int(re.search(rb"content-length: (\d+)", head, re.I).group(1))
    while len(body) < length:
        body += sock.recv(65536)
    return body


def connect(host: str, port: int) -> socket.socket:
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", required=True)
    parser.add_argument("--n", type=int, default=300, help="first-time questions per client")
    parser.add_argument("--mixed", type=int, default=0, help="questions of the mixed load")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--rerank",
        choices=["default", "true", "false"],
        default="default",
        help="every question's rerank: left out (when unsure), every time, never",
    )
    args = parser.parse_args()
    rerank = {"default": None, "true": True, "false": False}[args.rerank]
    extra = {} if rerank is None else {"rerank": args.rerank}
    qs = questions(args.index, 5 * args.n + args.mixed + 50, args.seed)
    warm, sets = qs[:50], [qs[50 + i * args.n : 50 + (i + 1) * args.n] for i in range(5)]
    paths = [
        [f"/ask?{urllib.parse.urlencode({'q': q, 'top': 10, **extra})}" for q in s] for s in sets
    ]

    lib = Library(args.index, long_lived=True)
    lib.open()
    for q in warm:
        lib.ask(q, top=10, rerank=rerank)
    report("in-process", [lambda q=q: lib.ask(q, top=10, rerank=rerank) for q in sets[0]])

    with server(args.index) as (host, port, rss):
        print("server ready:", rss())
        conn = http.client.HTTPConnection(host, port)

        def client_get(path: str) -> object:
            try:
                conn.request("GET", path)
                return json.loads(conn.getresponse().read())
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # Idle longer than the server keeps a connection (5 s) while the other
                # clients were measured, as a reranked question can make them: connect again.
                conn.close()
                conn.request("GET", path)
                return json.loads(conn.getresponse().read())

        for q in warm:
            client_get(f"/ask?{urllib.parse.urlencode({'q': q})}")
        report("kept-alive, http.client", [lambda p=p: client_get(p) for p in paths[1]])
        sock = connect(host, port)
        report("kept-alive, raw socket", [lambda p=p: raw_get(sock, p) for p in paths[2]])
        sock.close()

        def fresh_raw(path: str) -> bytes:
            with connect(host, port) as s:
                return raw_get(s, path)

        def fresh_urllib(path: str) -> object:
            with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=60) as r:
                return json.loads(r.read())

        report("new connection, urllib", [lambda p=p: fresh_urllib(p) for p in paths[3]])
        report("new connection, raw socket", [lambda p=p: fresh_raw(p) for p in paths[4]])
        again = paths[1][:40] * 7
        report("repeated (40 asked 7 times)", [lambda p=p: client_get(p) for p in again])
        print("server after:", rss())
        rng = random.Random(args.seed)
        for i, q in enumerate(qs[50 + 5 * args.n :], 1):
            params: dict[str, object] = {"q": q, "top": rng.choice([5, 10, 10, 20, 50]), **extra}
            if i % 7 == 0:
                params["context"] = 2
            if i % 11 == 0:
                params["mode"] = rng.choice(["lexical", "semantic"])
            client_get(f"/ask?{urllib.parse.urlencode(params)}")
            if i % 1000 == 0 or i == args.mixed:
                print(f"mixed load, {i} questions:", rss(), flush=True)


if __name__ == "__main__":
    main()
