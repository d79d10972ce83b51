#!/usr/bin/env python
"""Write the seenunseen corpus as a Podcasting 2.0 RSS feed whose transcripts are the local VTTs.

    python scripts/make_feed.py --episodes 41-80 -o seenunseen-41-80.xml
    podsearch index seenunseen-41-80.xml

Each item has the episode's title, link, guid (its permalink), pubDate, itunes:episode,
description and a ``<podcast:transcript type="text/vtt">``. With ``-o FILE`` transcript URLs
are paths relative to the feed file (the feed moves with the tree); when writing to standard
output, or with ``--absolute``, they are ``file://`` URLs. Episodes without a VTT file (episode
310 in the copy of the corpus) are left out and listed on standard error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "seenunseen"
ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST = "https://podcastindex.org/namespace/1.0"
SHOW = "The Seen and the Unseen"
HOST = "Amit Varma"
IST = timezone(timedelta(hours=5, minutes=30))


def parse_range(spec: str) -> set[int]:
    """Episode numbers from "41-80", "7" or "1-3,7,10-12"."""
    numbers: set[int] = set()
    for part in spec.split(","):
        lo, _, hi = part.strip().partition("-")
        try:
            first, last = int(lo), int(hi or lo)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"bad episode range {spec!r}: use e.g. 41-80"
            ) from None
        if first > last:
            raise argparse.ArgumentTypeError(f"bad episode range {part!r}: start after end")
        numbers.update(range(first, last + 1))
    return numbers


def rss_date(value: str) -> str | None:
    """ "16 Jan 2017" as an RFC 822 date at midnight India time; None if unparsable."""
    try:
        day = datetime.strptime(" ".join(value.split()), "%d %b %Y")
    except (ValueError, AttributeError):
        return None
    return format_datetime(day.replace(tzinfo=IST))


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    el.text = text
    return el


def build_feed(
    episodes: list[dict[str, Any]], transcripts: Path, link_for: Callable[[Path], str]
) -> tuple[ET.ElementTree, list[int], list[int]]:
    """The RSS tree, the episode numbers written and those skipped for lack of a transcript."""
    ET.register_namespace("itunes", ITUNES)
    ET.register_namespace("podcast", PODCAST)
    rss = ET.Element("rss", {"version": "2.0"})
    channel = _sub(rss, "channel")
    _sub(channel, "title", SHOW)
    _sub(channel, "link", "https://seenunseen.in/")
    _sub(channel, "language", "en")
    _sub(
        channel, "description", f"{HOST}'s podcast on economics, politics and behavioural science."
    )
    _sub(channel, f"{{{ITUNES}}}author", HOST)
    _sub(channel, f"{{{PODCAST}}}person", HOST, role="host", group="cast")
    written, skipped = [], []
    for meta in sorted(episodes, key=lambda m: int(m["epnum"])):
        num = int(meta["epnum"])
        names = (f"E{num}.mp3.vtt", f"E{num:02d}.mp3.vtt")  # E01 ... E09, E10 ...
        vtt = next((transcripts / n for n in names if (transcripts / n).is_file()), None)
        if vtt is None:
            skipped.append(num)
            continue
        item = _sub(channel, "item")
        _sub(item, "title", str(meta.get("title") or f"Episode {num}"))
        url = meta.get("url")
        if isinstance(url, str) and url:
            _sub(item, "link", url)
            _sub(item, "guid", url, isPermaLink="true")
        else:
            _sub(item, "guid", f"seenunseen-episode-{num}", isPermaLink="false")
        date = rss_date(str(meta.get("date_published") or ""))
        if date:
            _sub(item, "pubDate", date)
        _sub(item, f"{{{ITUNES}}}episode", str(num))
        _sub(item, f"{{{ITUNES}}}episodeType", "full")
        if meta.get("description"):
            _sub(item, "description", str(meta["description"]))
        _sub(item, f"{{{PODCAST}}}transcript", url=link_for(vtt), type="text/vtt", language="en")
        written.append(num)
    ET.indent(rss)
    return ET.ElementTree(rss), written, skipped


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--episodes", type=parse_range, help="episode numbers, e.g. 41-80 (default all)"
    )
    ap.add_argument("-o", "--output", type=Path, help="feed file to write (default stdout)")
    ap.add_argument("--metadata", type=Path, default=CORPUS / "metadata.json")
    ap.add_argument("--transcripts", type=Path, help="VTT folder (default beside the metadata)")
    ap.add_argument("--absolute", action="store_true", help="file:// URLs even with -o")
    args = ap.parse_args(argv)

    try:
        metadata = json.loads(args.metadata.read_text("utf-8"))
    except (OSError, ValueError) as e:
        ap.error(f"cannot read {args.metadata}: {e}")
    if not isinstance(metadata, list):
        ap.error(f"{args.metadata}: expected a JSON list of episodes")
    transcripts = (args.transcripts or args.metadata.parent / "transcripts_vtt").resolve()
    chosen = [
        m
        for m in metadata
        if isinstance(m, dict)
        and isinstance(m.get("epnum"), int)
        and (args.episodes is None or m["epnum"] in args.episodes)
    ]
    out: Path | None = args.output.resolve() if args.output else None

    def link_for(vtt: Path) -> str:
        if out is None or args.absolute:
            return vtt.as_uri()
        return quote(Path(os.path.relpath(vtt, out.parent)).as_posix())

    tree, written, skipped = build_feed(chosen, transcripts, link_for)
    if out is None:
        tree.write(sys.stdout.buffer, encoding="utf-8", xml_declaration=True)
        sys.stdout.buffer.write(b"\n")
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".feed-")
        with os.fdopen(fd, "wb") as fh:
            tree.write(fh, encoding="utf-8", xml_declaration=True)
        os.replace(tmp, out)
    where = out or "standard output"
    print(f"wrote {len(written)} episodes to {where}", file=sys.stderr)
    if skipped:
        print(f"skipped (no transcript): {', '.join(map(str, skipped))}", file=sys.stderr)
    return 0 if written else 1


if __name__ == "__main__":
    sys.exit(main())
