"""store.verify, store.writer's garbage collection and store.recovery, on hand-built
generations: checksums recorded and checked, temporaries of dead writers removed at the next
write, folders podsearch did not make kept, the previous good generation found."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from builders import hand_contents

from podsearch.core.errors import IndexFormatError
from podsearch.store.index import Index
from podsearch.store.layout import home_dir
from podsearch.store.recovery import previous_good, verify_index
from podsearch.store.verify import verify_generation
from podsearch.store.writer import write_index


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_every_file_is_recorded_and_verified(tmp_path: Path) -> None:
    gen = write_index(tmp_path / "idx", hand_contents(seed=1))
    report = verify_generation(gen)
    assert report.ok and report.files_checked >= 10
    (gen / "turns.parquet").write_bytes((gen / "turns.parquet").read_bytes()[::-1])
    report = verify_generation(gen)
    assert [d.file for d in report.damage] == ["turns.parquet"]
    assert report.damage[0].of_data


def test_size_change_is_caught_on_open_by_stat(tmp_path: Path) -> None:
    gen = write_index(tmp_path / "idx", hand_contents(seed=1))
    with open(gen / "lookup" / "text.bin", "ab") as fh:
        fh.write(b"!")
    with pytest.raises(IndexFormatError, match=r"lookup/text\.bin.*rollback"):
        Index(tmp_path / "idx")


def test_dead_writers_temporaries_go_live_ones_stay(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    write_index(index, hand_contents(seed=1))
    gens = home_dir(index) / "generations"
    dead = gens / f".tmp-20260101T000000.000000000-{_dead_pid()}"
    live = gens / f".tmp-20260101T000000.000000001-{os.getppid()}"
    for d in (dead, live):
        d.mkdir()
        (d / "passages.parquet").write_bytes(b"half")
    write_index(index, hand_contents(seed=2))
    assert not dead.exists() and live.exists()


def test_only_generations_podsearch_made_are_collected(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    first = write_index(index, hand_contents(seed=1))
    gens = first.parent
    foreign = gens / "20000101T000000.000000000-1"  # sorts oldest; no manifest naming it
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    made = [write_index(index, hand_contents(seed=s)) for s in (2, 3, 4)]
    assert (foreign / "notes.txt").read_text() == "mine"
    assert not first.exists() and not made[0].exists()  # ours, older than the kept one
    assert made[1].exists() and made[2].exists()  # current and the previous good one


def test_previous_good_skips_a_damaged_one(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    good = write_index(index, hand_contents(seed=1))
    current = write_index(index, hand_contents(seed=2))
    assert previous_good(index) == good
    (good / "passages.faiss").write_bytes(b"")
    assert previous_good(index) is None
    (current / "episodes.parquet").unlink()
    report, previous = verify_index(index)
    assert not report.ok and report.damage[0].file == "episodes.parquet" and previous is None


def test_a_generation_from_before_checksums_is_checked_for_its_invariants(tmp_path: Path) -> None:
    import json

    gen = write_index(tmp_path / "idx", hand_contents(seed=1))
    manifest = json.loads((gen / "manifest.json").read_text())
    for key in ("files", "generation"):
        del manifest[key]
    (gen / "manifest.json").write_text(json.dumps(manifest))
    (gen / "manifest.sha256").unlink()
    report = verify_generation(gen)
    assert report.ok and report.notes and not report.files_checked
    manifest["counts"]["passages"] += 1  # a lie is still caught by the invariants
    (gen / "manifest.json").write_text(json.dumps(manifest))
    assert [d.file for d in verify_generation(gen).damage] == ["passages.parquet"]
    manifest["counts"]["passages"] -= 1
    (gen / "manifest.json").write_text(json.dumps(manifest))
    # The turns' lookup must hold every turn, and its texts all their bytes.
    import numpy as np

    turns = gen / "lookup" / "turns"
    codes = np.load(turns / "codes.npy")
    np.save(turns / "codes.npy", codes[:-1])
    with open(turns / "text.bin", "ab") as fh:
        fh.write(b"more")
    damage = {d.file for d in verify_generation(gen).damage}
    assert damage == {"lookup/turns/codes.npy", "lookup/turns/text.bin"}


def test_a_write_hashes_each_file_once_and_still_keeps_only_a_sound_way_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Garbage collection checks sizes and invariants, not every byte again; a previous
    generation whose file lost bytes is not kept as the way back, the one before it is."""
    from podsearch.store import verify
    from podsearch.store.writer import generations_in

    index = tmp_path / "idx"
    first = write_index(index, hand_contents(seed=1))
    second = write_index(index, hand_contents(seed=2))
    hashed: list[str] = []
    real = verify.sha256_file
    monkeypatch.setattr(verify, "sha256_file", lambda p: hashed.append(p.name) or real(p))
    (second / "turns.parquet").write_bytes((second / "turns.parquet").read_bytes()[:-7])
    third = write_index(index, hand_contents(seed=3))
    data = [f for f in third.rglob("*") if f.is_file() and not f.name.startswith("manifest.")]
    # Each data file once (file_digests); only manifests are hashed again (their sums).
    assert len([n for n in hashed if n != "manifest.json"]) == len(data)
    assert generations_in(home_dir(index) / "generations") == [third, first]
