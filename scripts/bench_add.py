#!/usr/bin/env python3
"""Time adding one episode to a library against indexing that episode alone.

Usage:
  python scripts/bench_add.py --library DIR --folder TRANSCRIPTS [--runs 4]
                              [--metadata FILE] [--show NAME] [--keep-cache]

``--library``: a library of every file of ``--folder`` but one (build it once with
``podsearch index``; the file it lacks is found by comparing the library's sources with the
folder). Each run copies the library (with its side folder of caches) to a temporary
directory and times, as fresh processes, ``podsearch index FOLDER`` into the copy (the one
new file is read, embedded and added; the rest are unchanged) and ``podsearch index FILE``
into an empty library, alternately, so that both see the same machine. Prints each run and
the medians and their ratio. The issue's bar: adding takes at most 1.5 times as long.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _missing_file(library: Path, folder: Path) -> Path:
    from podsearch.api import Library

    index = Library(library).open()
    have = {os.path.basename(s) for e in index.episode_rows().values() for s in e["sources"]}
    missing = sorted(p for p in folder.iterdir() if p.is_file() and p.name not in have)
    if len(missing) != 1:
        sys.exit(f"the library should lack exactly one file of {folder}; it lacks {len(missing)}")
    return missing[0]


def _timed(args: list[str]) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True)
    took = time.perf_counter() - t0
    if done.returncode:
        sys.exit(f"{' '.join(args)} failed:\n{done.stderr}")
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--library", type=Path, required=True)
    ap.add_argument("--folder", type=Path, required=True)
    ap.add_argument("--runs", type=int, default=4)
    ap.add_argument("--metadata", type=Path)
    ap.add_argument("--show")
    args = ap.parse_args()
    library = args.library.absolute()  # the link itself, not the generation it points to
    new = _missing_file(library, args.folder)
    extra = (["--metadata", str(args.metadata)] if args.metadata else []) + (
        ["--show", args.show] if args.show else []
    )
    side = library.parent / f".{library.name}.podsearch"  # the library's own folder of caches
    adds, alones = [], []
    for run in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory(dir=library.parent) as tmp:
            copy = Path(tmp) / "lib"
            shutil.copytree(side, Path(tmp) / f".{copy.name}.podsearch", symlinks=True)
            # The library is a symlink into its side folder: the same relative link.
            os.symlink(os.readlink(library), copy)
            add = _timed(["podsearch", "index", str(args.folder), "--index", str(copy), *extra])
            alone = _timed(["podsearch", "index", str(new), "--index", f"{tmp}/alone", *extra])
        adds.append(add)
        alones.append(alone)
        print(f"run {run}: add {new.name} to the library {add:.2f} s, alone {alone:.2f} s")
    a, b = statistics.median(adds), statistics.median(alones)
    print(f"median: add {a:.2f} s, alone {b:.2f} s, ratio {a / b:.2f}")


if __name__ == "__main__":
    main()
