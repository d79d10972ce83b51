#!/usr/bin/env python3
"""Evaluate retrieval modes on a query set in one process and print a table.

Usage:
  python scripts/eval.py QUERIES.jsonl --index DIR [--modes hybrid,hybrid-rrf,semantic,lexical]

Query lines are JSON objects with id, kind, query, episode (file basename or null for a
negative), start, end, speaker, must_contain: the format of ../shared/eval. A hit is correct
when one of its sources has the gold file name and either its text contains must_contain
(lower-cased, whitespace collapsed) or its [start, end] overlaps the gold window widened by
15 s, the rules of ../shared/eval/score.py.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from podsearch.core.text import fold
from podsearch.query.rank import search
from podsearch.query.types import MODES
from podsearch.store.index import Index

SLACK = 15.0


def _norm(s: str | None) -> str:
    return re.sub(r"\s+", " ", fold(s))


def is_correct(hit: dict, q: dict) -> bool:
    if q["episode"] not in {os.path.basename(s) for s in hit["sources"]}:
        return False
    if q.get("must_contain") and _norm(q["must_contain"]) in _norm(hit["text"]):
        return True
    if q.get("start") is None or hit["start"] is None:
        return False
    end = hit["end"] if hit["end"] is not None else hit["start"] + 30
    return hit["start"] <= q["end"] + SLACK and end >= q["start"] - SLACK


def evaluate(index: Index, queries: list[dict], mode: str, top: int) -> dict:
    ranks: dict[str, int | None] = {}
    kinds: dict[str, str] = {}
    negatives: list[tuple[float, bool]] = []
    positives_confident: list[bool] = []
    times = []
    for q in queries:
        t0 = time.perf_counter()
        # "hybrid-rrf": hybrid with reciprocal rank fusion instead of the weighted default.
        base, _, fusion = mode.partition("-")
        result = search(index, q["query"], top=top, mode=base, fusion=fusion or "weighted")
        times.append(time.perf_counter() - t0)
        hits = [h.as_json() for h in result.hits]
        if not q.get("episode"):
            top_hit = hits[0] if hits else {"score": 0.0, "confident": False}
            negatives.append((top_hit["score"], bool(top_hit.get("confident"))))
            continue
        rank = next((i + 1 for i, h in enumerate(hits) if is_correct(h, q)), None)
        ranks[q["id"]] = rank
        kinds[q["id"]] = q["kind"]
        if rank:
            positives_confident.append(bool(hits[rank - 1].get("confident")))
    n = len(ranks) or 1

    def recall(k: int, ids: list[str] | None = None) -> float:
        ids = ids if ids is not None else list(ranks)
        return sum(1 for i in ids if ranks[i] and ranks[i] <= k) / (len(ids) or 1)

    by_kind = {}
    for kind in sorted(set(kinds.values())):
        ids = [i for i, k in kinds.items() if k == kind]
        by_kind[kind] = f"{sum(1 for i in ids if ranks[i] and ranks[i] <= 5)}/{len(ids)}"
    return {
        "mode": mode,
        "r@1": recall(1),
        "r@5": recall(5),
        "r@10": recall(10),
        "mrr@10": sum(1 / r for r in ranks.values() if r and r <= 10) / n,
        "r@5 by kind": by_kind,
        "negatives confident": sum(c for _, c in negatives),
        "negatives": len(negatives),
        "negative top scores": [round(s, 3) for s, _ in negatives],
        "positives confident": (
            sum(positives_confident) / len(positives_confident) if positives_confident else 0.0
        ),
        "ms/query": 1000 * statistics.median(times) if times else 0.0,
        "ranks": ranks,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("queries")
    ap.add_argument("--index", required=True)
    ap.add_argument("--modes", default="hybrid,hybrid-rrf,semantic,lexical", help=f"of {MODES}")
    ap.add_argument("--top", type=int, default=10)
    ap.add_argument("--ranks", action="store_true", help="also print each query's rank")
    a = ap.parse_args()
    queries = [json.loads(line) for line in open(a.queries) if line.strip()]
    index = Index(a.index)
    search(index, "warm up", top=1, mode="hybrid")  # load the model once, outside the timings
    rows = [evaluate(index, queries, mode, a.top) for mode in a.modes.split(",")]
    head = f"{'mode':<10} {'R@1':>5} {'R@5':>5} {'R@10':>5} {'MRR@10':>6}  {'conf+':>5} {'neg!':>4}"
    head += f" {'ms/q':>6}  R@5 by kind"
    print(head)
    for r in rows:
        kinds = " ".join(f"{k}={v}" for k, v in r["r@5 by kind"].items())
        print(
            f"{r['mode']:<10} {r['r@1']:5.3f} {r['r@5']:5.3f} {r['r@10']:5.3f} {r['mrr@10']:6.3f}"
            f"  {r['positives confident']:5.2f} {r['negatives confident']:>2}/{r['negatives']}"
            f" {r['ms/query']:6.1f}  {kinds}"
        )
    print(
        "conf+ = share of first correct hits flagged confident; neg! = negatives flagged confident"
    )
    if a.ranks:
        for r in rows:
            print(
                r["mode"], json.dumps(r["ranks"]), "negative top scores", r["negative top scores"]
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
