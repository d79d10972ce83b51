#!/usr/bin/env python3
"""Time cold ``podsearch ask`` processes: by default (reranking when unsure), with
``--no-rerank`` and with ``--rerank``, each question asked the three ways in turn so that all
three see the same machine.

Usage:
  python scripts/bench_ask.py --index DIR QUERIES.jsonl [QUERIES.jsonl ...]

Each line of a queries file is a JSON object with a ``query`` (the eval sets' format). Prints,
for each way, the median, mean, 90th percentile and maximum wall time of a fresh process.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import podsearch_cmd, run_child

WAYS = {"default": [], "--no-rerank": ["--no-rerank"], "--rerank": ["--rerank"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--index", required=True)
    ap.add_argument("queries", nargs="+")
    a = ap.parse_args()
    questions = [json.loads(line)["query"] for f in a.queries for line in open(f) if line.strip()]
    times: dict[str, list[float]] = {way: [] for way in WAYS}
    for q in questions:
        for way, flags in WAYS.items():
            wall, _, out, _ = run_child(
                [*podsearch_cmd(), "ask", q, "--index", a.index, "--json", *flags]
            )
            json.loads(out)
            times[way].append(wall)
    for way, t in times.items():
        t.sort()
        p90 = t[max(0, round(0.9 * len(t)) - 1)]
        print(
            f"{way:<12} n={len(t)} median {statistics.median(t):.3f} s, mean "
            f"{statistics.mean(t):.3f} s, p90 {p90:.3f} s, max {t[-1]:.3f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
