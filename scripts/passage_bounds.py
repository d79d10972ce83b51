"""How many passages of an index start or end mid-sentence.

    python scripts/passage_bounds.py --index DIR [--examples N]

A passage *starts mid-sentence* when the text just before it (the end of the previous
passage of its turn, or of the previous turn of the episode, whoever spoke it) does not end a
sentence: its last word does not end in . ! ? or … (closing quotes and brackets allowed), or
that word is a common abbreviation ("Mr.", "Dr.", "U.S.", "vs.", "e.g.") or a lone initial
("J."). It *ends mid-sentence* when its own last word does not end a sentence by the same
test. The first passage of an episode starts a sentence by definition. Both are counted
split by where the passage starts: inside a turn (the chunker chose the cut) or at a turn
start (the source's speaker change chose it); cuts inside a turn that fall at a clause
boundary (after , ; : or a dash, or before "and", "but", "so", ...) are counted too.

The test is punctuation-based and independent of the segmenter podsearch uses, so it
measures both the old regex splitter and a real one the same way.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq

_END = re.compile(r"[.!?…][\"'”’)\]]*$")
_ABBREV = {
    "mr.", "mrs.", "ms.", "dr.", "st.", "prof.", "vs.", "etc.", "e.g.", "i.e.", "u.s.",
    "u.k.", "jr.", "sr.", "no.", "mt.", "gen.", "col.", "sgt.", "capt.", "lt.", "inc.",
    "co.", "corp.", "ltd.", "approx.", "dept.", "fig.", "vol.", "ca.", "p.m.", "a.m.",
}  # fmt: skip


def ends_sentence(word: str | None) -> bool:
    """True when text ending in ``word`` ends a sentence."""
    if not word:
        return True
    w = word.lower().strip("\"'“”‘’()[]")
    if w in _ABBREV or re.fullmatch(r"[a-z]\.", w):
        return False
    return bool(_END.search(word))


_OPENERS = {"and", "but", "so", "because", "or", "which", "where", "when", "while", "then"}


def at_clause(before: str | None, first: str) -> bool:
    """True when a cut falls after a comma, semicolon, colon or dash, or before a word that
    opens a clause: the best place to cut a sentence too long for one passage."""
    return bool(before and re.search(r"[,;:—–-][\"'”’)\]]*$", before)) or (
        first.lower() in _OPENERS
    )


def measure(index: Path, examples: int = 0) -> dict[str, object]:
    """Counts over one index directory (a generation or the symlink to one)."""
    passages = pq.read_table(
        index / "passages.parquet", columns=["episode_id", "turn_index", "word_offset", "text"]
    ).to_pylist()
    turns = pq.read_table(index / "turns.parquet").to_pylist()
    turn_text: dict[tuple[str, int], str] = {}
    for t in turns:
        turn_text[(t["episode_id"], t["turn_index"])] = t["text"]
    counts: Counter[str] = Counter()
    shown: list[str] = []
    for p in passages:
        ep, ti, off = p["episode_id"], p["turn_index"], p["word_offset"]
        words = p["text"].split()
        if off > 0:
            before = turn_text[(ep, ti)].split()[off - 1]
            where = "inside_turn"
        else:
            prev = turn_text.get((ep, ti - 1))
            before = prev.split()[-1] if prev and prev.split() else None
            where = "turn_start"
        counts[f"passages_{where}"] += 1
        if not ends_sentence(before):
            counts[f"start_mid_{where}"] += 1
            if where == "inside_turn" and at_clause(before, words[0]):
                counts["start_mid_inside_turn_at_clause"] += 1
            if len(shown) < examples and where == "inside_turn":
                shown.append(f"…{before} | {' '.join(words[:8])}")
        own = turn_text[(ep, ti)].split()
        at_turn_end = off + len(words) >= len(own)
        if not ends_sentence(words[-1] if words else None):
            counts["end_mid_" + ("turn_end" if at_turn_end else "inside_turn")] += 1
    n = len(passages)
    start_mid = counts["start_mid_inside_turn"] + counts["start_mid_turn_start"]
    out: dict[str, object] = {"passages": n, "start_mid": start_mid, **dict(sorted(counts.items()))}
    if shown:
        out["examples"] = shown
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", required=True, type=Path)
    ap.add_argument("--examples", type=int, default=0)
    args = ap.parse_args()
    print(json.dumps(measure(args.index.resolve(), args.examples), ensure_ascii=False))


if __name__ == "__main__":
    main()
