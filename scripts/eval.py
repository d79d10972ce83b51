#!/usr/bin/env python3
"""Evaluate retrieval modes on a query set in one process and print a table.

Usage:
  python scripts/eval.py QUERIES.jsonl --index DIR [--modes hybrid,hybrid-rrf,semantic,lexical]

With ``--also QUERIES=INDEX`` (repeatable) it also scores other query sets over their own
indexes with the first mode and prints one row per set and one for all their questions pooled:
a change is kept only if it helps on the whole, not on the set it was tuned on.

With ``--kinds`` (or ``--save FILE`` / ``--compare FILE``) it also prints, for the first
mode, a table per kind of question (paraphrase, speaker, keyword, cross-source, negative, and
all): n, recall@1/5/10, MRR@10, speaker accuracy, and for negatives how many were flagged "no
confident match". ``--save`` writes that table as JSON; ``--compare`` prints a saved one
beside it, so "before" and "after" a change are one table.

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
from podsearch.embed.rerank import installed_reranker
from podsearch.query.rank import search
from podsearch.query.types import MODES, Filters
from podsearch.store.index import Index

SLACK = 15.0


# A mode's suffix -> search's rerank: when unsure (the default), every time, never.
RERANK = {"": None, "rerank": True, "first": False}


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


def same_speaker(hit: dict, q: dict) -> bool:
    """score.py's rule: the hit's speaker is the gold one or an alias (folded, a trailing
    note in parentheses ignored)."""

    def name(s: str | None) -> str:
        return re.sub(r"\s*\(.*\)\s*$", "", _norm(s or "")).strip()

    gold = {name(q["speaker"]), *(name(a) for a in q.get("speaker_aliases") or [])}
    return name(hit.get("speaker")) in gold


def evaluate(
    index: Index, queries: list[dict], mode: str, top: int, boilerplate: bool = False
) -> dict:
    ranks: dict[str, int | None] = {}
    speakers: dict[str, bool] = {}  # query id -> first correct hit has the gold speaker
    flagged: dict[str, bool] = {}  # negative query id -> flagged "no confident match"
    kinds: dict[str, str] = {}
    negatives: list[tuple[float, bool]] = []
    positives_confident: list[bool] = []
    times = []
    for q in queries:
        t0 = time.perf_counter()
        # "hybrid-rrf": hybrid with reciprocal rank fusion instead of the weighted default;
        # after a mode, "+rerank": its first hits ranked again by the cross-encoder every
        # time, "+first": never (without either: when unsure, as ask does by default).
        plain, _, then = mode.partition("+")
        base, _, fusion = plain.partition("-")
        result = search(
            index,
            q["query"],
            top=top,
            mode=base,
            fusion=fusion or "weighted",
            filters=Filters(include_boilerplate=boilerplate),
            rerank=RERANK[then],
        )
        times.append(time.perf_counter() - t0)
        hits = [h.as_json() for h in result.hits]
        if not q.get("episode"):
            top_hit = hits[0] if hits else {"score": 0.0, "confident": False}
            negatives.append((top_hit["score"], bool(top_hit.get("confident"))))
            flagged[q["id"]] = not any(h.get("confident") for h in hits)
            kinds[q["id"]] = q["kind"]
            continue
        rank = next((i + 1 for i, h in enumerate(hits) if is_correct(h, q)), None)
        ranks[q["id"]] = rank
        kinds[q["id"]] = q["kind"]
        if rank:
            positives_confident.append(bool(hits[rank - 1].get("confident")))
            if q.get("speaker"):
                speakers[q["id"]] = same_speaker(hits[rank - 1], q)
    n = len(ranks) or 1

    def recall(k: int, ids: list[str] | None = None) -> float:
        ids = ids if ids is not None else list(ranks)
        return sum(1 for i in ids if ranks[i] and ranks[i] <= k) / (len(ids) or 1)

    by_kind = {}
    for kind in sorted({kinds[i] for i in ranks}):
        ids = [i for i in ranks if kinds[i] == kind]
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
        "per kind": per_kind(ranks, speakers, flagged, kinds),
    }


def per_kind(
    ranks: dict[str, int | None],
    speakers: dict[str, bool],
    flagged: dict[str, bool],
    kinds: dict[str, str],
) -> dict[str, dict[str, float | int | None]]:
    """The table of --kinds: one row per kind of question, and one for all."""
    table: dict[str, dict[str, float | int | None]] = {}
    for kind in [*sorted(set(kinds.values())), "all"]:
        ids = [i for i in kinds if kind in ("all", kinds[i])]
        answerable = [i for i in ids if i in ranks]
        negatives = [i for i in ids if i in flagged]
        judged = [i for i in answerable if i in speakers]
        n = len(answerable)

        def within(k: int, ids: list[str] = answerable) -> float | None:
            return sum(1 for i in ids if (ranks[i] or 99) <= k) / len(ids) if ids else None

        table[kind] = {
            "n": len(ids),
            "r@1": within(1),
            "r@5": within(5),
            "r@10": within(10),
            "mrr@10": sum(1 / ranks[i] for i in answerable if (ranks[i] or 99) <= 10) / n
            if n
            else None,
            "speaker": sum(speakers[i] for i in judged) / len(judged) if judged else None,
            "flagged": sum(flagged[i] for i in negatives) if negatives else None,
        }
    return table


def print_kinds(table: dict, before: dict | None) -> None:
    """Per kind: each figure as it is now, with ``was`` beside it when comparing."""
    keys = ["r@1", "r@5", "r@10", "mrr@10", "speaker", "flagged"]

    def cell(row: dict, old: dict | None, key: str) -> str:
        def show(v: float | int | None) -> str:
            return "-" if v is None else (str(v) if isinstance(v, int) else f"{v:.3f}")

        now = show(row.get(key))
        if old is None:
            return f"{now:>13}"
        return f"{show(old.get(key)) + ' > ' + now:>13}"

    print(f"\n{'kind':<12} {'n':>3} " + " ".join(f"{k:>13}" for k in keys))
    for kind, row in table.items():
        old = (before or {}).get(kind) if before is not None else None
        print(f"{kind:<12} {row['n']:>3} " + " ".join(cell(row, old, k) for k in keys))
    if before is not None:
        print("(before > after; flagged: negatives flagged 'no confident match')")


def print_sets(sets: list[tuple[str, dict]]) -> None:
    """One row per query set and one for all their answerable questions pooled."""
    print(f"\n{'set':<24} {'n':>3} {'R@1':>5} {'R@5':>5} {'R@10':>5} {'MRR@10':>6}")
    pooled: list[int | None] = []
    for name, r in sets:
        ranks = list(r["ranks"].values())
        pooled += ranks
        print(f"{name:<24} {len(ranks):>3} " + _rank_figures(ranks))
    print(f"{'all sets':<24} {len(pooled):>3} " + _rank_figures(pooled))


def _set_name(queries_file: str) -> str:
    path = Path(queries_file)
    return f"{path.parent.name}/{path.stem}"  # "dev/queries", "data/heldout_queries"


def _rank_figures(ranks: list[int | None]) -> str:
    n = len(ranks) or 1
    within = [sum(1 for r in ranks if r and r <= k) / n for k in (1, 5, 10)]
    mrr = sum(1 / r for r in ranks if r and r <= 10) / n
    return " ".join(f"{v:5.3f}" for v in within) + f" {mrr:6.3f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("queries")
    ap.add_argument("--index", required=True)
    ap.add_argument(
        "--modes",
        default="hybrid,hybrid-rrf,semantic,lexical",
        help=f"of {MODES}, each optionally with +rerank (every time) or +first (never)",
    )
    ap.add_argument("--top", type=int, default=10)
    ap.add_argument("--ranks", action="store_true", help="also print each query's rank")
    ap.add_argument("--kinds", action="store_true", help="the per-kind table (first mode)")
    ap.add_argument(
        "--include-boilerplate", action="store_true", help="rank boilerplate as other text"
    )
    ap.add_argument(
        "--also",
        action="append",
        default=[],
        metavar="QUERIES=INDEX",
        help="another query set and its index, scored with the first mode (repeatable)",
    )
    ap.add_argument("--save", help="write the per-kind table to this JSON file")
    ap.add_argument("--compare", help="a saved per-kind table to print beside this one")
    a = ap.parse_args()
    also = [spec.partition("=") for spec in a.also]
    for spec, (_, sep, _) in zip(a.also, also, strict=True):
        if not sep:
            ap.error(f"--also takes QUERIES=INDEX, not {spec!r}")
    queries = [json.loads(line) for line in open(a.queries) if line.strip()]
    index = Index(a.index)
    # Load the models once, outside the timings.
    search(index, "warm up", top=1, mode="hybrid", rerank=False)
    installed_reranker()  # its model loads in the background meanwhile
    for mode in a.modes.split(","):
        if mode.partition("+")[2] not in RERANK:
            ap.error(f"--modes: {mode!r}: after '+' use rerank or first")
    rows = [
        evaluate(index, queries, mode, a.top, a.include_boilerplate) for mode in a.modes.split(",")
    ]
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
    if a.kinds or a.save or a.compare:
        table = rows[0]["per kind"]
        before = json.loads(Path(a.compare).read_text()) if a.compare else None
        print(f"\nper kind ({rows[0]['mode']}):", end="")
        print_kinds(table, before)
        if a.save:
            Path(a.save).write_text(json.dumps(table, indent=1) + "\n")
    if also:
        sets = [(_set_name(a.queries), rows[0])]
        for queries_file, _, index_dir in also:
            more = [json.loads(line) for line in open(queries_file) if line.strip()]
            sets.append(
                (
                    _set_name(queries_file),
                    evaluate(Index(index_dir), more, rows[0]["mode"], a.top, a.include_boilerplate),
                )
            )
        print_sets(sets)
    if a.ranks:
        for r in rows:
            print(
                r["mode"], json.dumps(r["ranks"]), "negative top scores", r["negative top scores"]
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
