#!/usr/bin/env python3
"""Run the reliability suite and print what it tried, per category, as a Markdown table.

Usage:
  python scripts/reliability_table.py [--from-json FILE]

Runs ``python -m pytest -q tests/reliability`` with ``$PODSEARCH_RELIABILITY_REPORT`` set to
a temporary file, where the suite's conftest writes each category's tries and passes (see
``tests/reliability/conftest.py``), then prints the table the README's "What podsearch
promises" section shows. ``--from-json`` prints the table of a report written before.
Exits with pytest's status.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def table(totals: dict[str, dict[str, int]]) -> str:
    """The Markdown table of a report: category, tries, passed, result."""
    lines = ["| What the suite tries | Tries | Passed | Result |", "|---|---:|---:|---|"]
    for category, t in sorted(totals.items()):
        result = "all pass" if t["passed"] == t["tried"] else f"{t['tried'] - t['passed']} FAIL"
        lines.append(f"| {category} | {t['tried']} | {t['passed']} | {result} |")
    tried = sum(t["tried"] for t in totals.values())
    passed = sum(t["passed"] for t in totals.values())
    lines.append(f"| **total** | **{tried}** | **{passed}** | |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--from-json", type=Path, help="print the table of this report")
    args = ap.parse_args()
    if args.from_json:
        print(table(json.loads(args.from_json.read_text())))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "reliability.json"
        env = {**os.environ, "PODSEARCH_RELIABILITY_REPORT": str(report)}
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "tests/reliability"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
        print(f"$ python -m pytest -q tests/reliability\n{summary}\n", file=sys.stderr)
        if not report.exists():
            print(run.stdout[-3000:], run.stderr[-3000:], file=sys.stderr)
            return run.returncode or 1
        print(table(json.loads(report.read_text())))
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
