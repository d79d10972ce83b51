#!/usr/bin/env python3
"""Measure the page and the MCP server as a person and an agent meet them.

Usage:
  python scripts/measure_faces.py --index DIR [--questions QUERIES.jsonl] [--n 20]
                                  [--screenshot page.png] [--skip-page] [--skip-mcp]

The page: ``podsearch serve`` is started as a separate process on a free port of 127.0.0.1;
Debian's chromium (driven by Playwright, never a downloaded browser) opens ``/?q=QUESTION``
for each question and the time from the request until the first quote is in the page is
taken, by the wall clock of this script and by the browser's own navigation timing
(requestStart → domContentLoaded). The first request (which loads the model) is reported
apart. ``--screenshot`` saves the first results page as a PNG (viewport only).

MCP: ``podsearch mcp --index DIR`` is started over stdio by the official SDK's client, as an
MCP client (Claude Desktop, an IDE) would; the times to a ready session, to the first ``ask``
and of each later ``ask`` (top 5, APA citation) are printed, and the JSON of the first answer
with ``--show``.

Questions: the ``query`` field of a JSONL file (default: the dev set beside the repo), else a
few built-in ones.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

DEFAULT_QUESTIONS = Path(__file__).resolve().parents[2] / "shared/eval/dev/queries.jsonl"
FALLBACK = [
    "what did Clem say about distillation",
    "open source models from China",
    "why do people join a rebel cricket series",
]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def questions(path: Path | None, n: int) -> list[str]:
    if path and path.exists():
        qs = [json.loads(line)["query"] for line in path.read_text().splitlines() if line.strip()]
    else:
        qs = FALLBACK
    return (qs * (n // len(qs) + 1))[:n]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def summary(label: str, ms: list[float]) -> str:
    return (
        f"{label}: median {statistics.median(ms):.0f} ms, min {min(ms):.0f}, "
        f"max {max(ms):.0f} (n={len(ms)})"
    )


def measure_page(index: str, qs: list[str], screenshot: Path | None) -> None:
    from playwright.sync_api import sync_playwright

    port = free_port()
    t0 = time.perf_counter()
    server = subprocess.Popen(
        ["podsearch", "serve", "--index", index, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # bounded: 60 s
            try:
                urllib.request.urlopen(base + "/health", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        print(f"server ready: {time.perf_counter() - t0:.2f} s")
        wall: list[float] = []
        browser_ms: list[float] = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            page = browser.new_page(viewport={"width": 1000, "height": 820})
            for i, q in enumerate(qs):
                url = f"{base}/?q={urllib.parse.quote_plus(q)}"
                start = time.perf_counter()
                page.goto(url, wait_until="commit")
                page.locator(".hit .quote").first.wait_for(state="attached", timeout=60_000)
                took = (time.perf_counter() - start) * 1000
                nav = page.evaluate(
                    "() => { const t = performance.getEntriesByType('navigation')[0];"
                    " return t.domContentLoadedEventEnd - t.requestStart; }"
                )
                if i == 0:
                    print(f"first request (loads the model): {took:.0f} ms")
                    if screenshot:
                        page.screenshot(path=str(screenshot))
                        print(f"screenshot: {screenshot} ({screenshot.stat().st_size} bytes)")
                    continue
                wall.append(took)
                browser_ms.append(nav)
            browser.close()
        print(summary("page, request to first quote in the page (wall)", wall))
        print(summary("page, browser requestStart to DOMContentLoaded", browser_ms))
    finally:
        server.terminate()
        server.wait(timeout=10)


async def measure_mcp(index: str, qs: list[str], show: bool) -> None:
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    params = StdioServerParameters(command="podsearch", args=["mcp", "--index", index])
    t0 = time.perf_counter()
    async with Client(params, read_timeout_seconds=120) as client:
        ready = time.perf_counter() - t0
        print(f"MCP session ready: {ready:.2f} s")
        times: list[float] = []
        for i, q in enumerate(qs):
            start = time.perf_counter()
            result = await client.call_tool("ask", {"question": q, "top": 5, "style": "apa"})
            took = (time.perf_counter() - start) * 1000
            if result.is_error:
                sys.exit(f"MCP ask failed: {result.content}")
            if i == 0:
                print(f"MCP first ask (loads the model): {took:.0f} ms")
                if show:
                    data = result.structured_content or json.loads(result.content[0].text)
                    print(json.dumps(data, ensure_ascii=False, indent=1))
                continue
            times.append(took)
        print(summary("MCP ask, top 5 with APA citation", times))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", required=True)
    ap.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    ap.add_argument("--n", type=int, default=20, help="requests after the first (default 20)")
    ap.add_argument("--screenshot", type=Path)
    ap.add_argument("--skip-page", action="store_true")
    ap.add_argument("--skip-mcp", action="store_true")
    ap.add_argument("--show", action="store_true", help="print the first MCP answer")
    args = ap.parse_args(argv)
    if not Path(args.index).exists():
        sys.exit(f"error: no index at {args.index}: build one with 'podsearch index PATH'")
    qs = questions(args.questions, args.n + 1)
    if not args.skip_page:
        if not Path(CHROMIUM).exists():
            sys.exit("error: no chromium: apt-get install -y chromium")
        measure_page(args.index, qs, args.screenshot)
    if not args.skip_mcp:
        asyncio.run(measure_mcp(args.index, qs, args.show))


if __name__ == "__main__":
    main()
