"""A tamper matrix over every file of an index generation: each file truncated, bit-flipped
or deleted, and the manifest made to lie. For each: ``verify`` names the damage, ``ask``
answers as before (the damage did not touch it, or the previous generation answered) or
fails in one line, and ``rebuild`` repairs the index. Also: ``rollback``, a dangling user
symlink, and temporaries of dead writers."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podsearch.cli.app import app
from podsearch.store.layout import home_dir

runner = CliRunner()
LIBRARY = Path(__file__).parents[1] / "fixtures" / "library"
QUESTIONS = (("compost", "lexical"), ("rocket launch orbit", "hybrid"))


def _cli(*args: str | Path) -> object:
    return runner.invoke(app, [str(a) for a in args])


def _answers(index: Path) -> tuple[list[tuple[list[str], list[float]]] | None, str]:
    """Each question's (passage ids, scores), or None and the one-line error."""
    out = []
    for question, mode in QUESTIONS:
        result = _cli("ask", question, "--index", index, "--mode", mode, "--json")
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            f"traceback: {result.exception!r}"
        )
        if result.exit_code != 0:
            assert result.exit_code == 1, result.output
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("Error:"), result.stderr
            return None, lines[0]
        hits = json.loads(result.stdout)
        out.append(([h["passage_id"] for h in hits], [h["score"] for h in hits]))
    return out, result.stderr


def _same(a: list, b: list) -> bool:
    return all(
        ids_a == ids_b and all(abs(x - y) < 0.01 for x, y in zip(sa, sb, strict=True))
        for (ids_a, sa), (ids_b, sb) in zip(a, b, strict=True)
    )


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    """An index of the fixture library with two generations of the same content."""
    base = tmp_path_factory.mktemp("pristine")
    index = base / "idx"
    assert _cli("index", LIBRARY, "--index", index, "--model", "fake").exit_code == 0
    assert _cli("rebuild", "--index", index).exit_code == 0
    answers, _ = _answers(index)
    assert answers and all(ids for ids, _ in answers)
    return index, answers


def _copy(pristine: Path, dest: Path) -> Path:
    shutil.copytree(home_dir(pristine), dest / f".{pristine.name}.podsearch", symlinks=True)
    os.symlink(os.readlink(pristine), dest / pristine.name)
    return dest / pristine.name


def _files(index: Path) -> list[str]:
    root = index.resolve()
    return sorted(f.relative_to(root).as_posix() for f in root.rglob("*") if f.is_file())


def _tamper(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "delete":
        path.unlink()
    elif how == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif how == "flip":
        i = len(data) // 2
        path.write_bytes(data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1 :])


def _cases() -> list[tuple[str, str]]:
    """(file, how) for every file of a generation of the fixture library. Listed from a
    throwaway build at collection time would cost a build: the layout is fixed instead,
    and ``test_the_matrix_covers_every_file`` checks it is complete."""
    return [(f, how) for f in MATRIX_FILES for how in ("truncate", "flip", "delete")]


MATRIX_FILES = [
    "episode_means.npz",
    "episodes.parquet",
    "lexical/.managed.json",
    "lexical/meta.json",
    "lexical/SEGMENT.fast",
    "lexical/SEGMENT.fieldnorm",
    "lexical/SEGMENT.idx",
    "lexical/SEGMENT.pos",
    "lexical/SEGMENT.store",
    "lexical/SEGMENT.term",
    "lexical/term_offsets.npy",
    "lexical/terms.npy",
    "lookup/codes.npy",
    "lookup/episodes.json",
    "lookup/meta.json",
    "lookup/numbers.npy",
    "lookup/text.bin",
    "lookup/text_offsets.npy",
    "lookup/turns/codes.npy",
    "lookup/turns/meta.json",
    "lookup/turns/numbers.npy",
    "lookup/turns/text.bin",
    "lookup/turns/text_offsets.npy",
    "manifest.json",
    "manifest.sha256",
    "passages.faiss",
    "passages.parquet",
    "turns.parquet",
]


def _real(index: Path, name: str) -> str:
    if "SEGMENT" not in name:
        return name
    suffix = name.rpartition(".")[2]
    return next(f for f in _files(index) if f.startswith("lexical/") and f.endswith("." + suffix))


def test_the_matrix_covers_every_file(pristine: tuple[Path, list]) -> None:
    index, _ = pristine
    covered = {_real(index, f) for f in MATRIX_FILES}
    nonempty = {f for f in _files(index) if (index.resolve() / f).stat().st_size}
    assert nonempty == covered  # the empty tantivy lock files hold nothing to damage


@pytest.mark.parametrize(("name", "how"), _cases())
def test_tampered_file(name: str, how: str, pristine: tuple[Path, list], tmp_path: Path, tally):
    source, before = pristine
    index = _copy(source, tmp_path)
    rel = _real(index, name)
    _tamper(index.resolve() / rel, how)

    verified = _cli("verify", "--index", index, "--json")
    assert verified.exit_code == 1, verified.output
    report = json.loads(verified.stdout)
    named = {d["file"] for d in report["damage"]}
    manifest_files = {"manifest.json", "manifest.sha256"}
    assert rel in named or (rel in manifest_files and named & manifest_files), report
    assert report["previous_good"]  # the way back is there

    answers, said = _answers(index)
    if answers is not None:
        assert _same(answers, before), f"silently wrong answer after {how} of {rel}: {said}"
        outcome = "fallback" if "previous generation" in said else "unaffected"
    else:
        outcome = "one-line error"
    tally(f"tampered index files: ask {outcome}")

    if how == "flip":  # one rebuild per file: repaired from intact rows, verified, answers
        rebuilt = _cli("rebuild", "--index", index, "--json")
        assert rebuilt.exit_code == 0, rebuilt.output
        assert _cli("verify", "--index", index).exit_code == 0
        answers, _ = _answers(index)
        assert answers is not None and _same(answers, before)
        tally("tampered index files: rebuild repaired")


def _rewrite_manifest(index: Path, change) -> None:
    """A manifest that lies but is internally consistent (its checksum file agrees)."""
    root = index.resolve()
    manifest = json.loads((root / "manifest.json").read_text())
    change(manifest)
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    (root / "manifest.json").write_text(text)
    digest = hashlib.sha256(text.encode()).hexdigest()
    (root / "manifest.sha256").write_text(f"{digest}  manifest.json\n")


LIES = {
    "passage count": lambda m: m["counts"].update(passages=m["counts"]["passages"] + 1),
    "episode count": lambda m: m["counts"].update(episodes=m["counts"]["episodes"] + 3),
    "dimension": lambda m: m["model"].update(dimension=m["model"]["dimension"] * 2),
    "file size": lambda m: m["files"]["passages.parquet"].update(size=1),
    "file checksum": lambda m: m["files"]["turns.parquet"].update(sha256="0" * 64),
    "vector file": lambda m: m["vectors"].update(file="elsewhere.faiss"),
}


@pytest.mark.parametrize("lie", sorted(LIES))
def test_a_manifest_that_lies(lie: str, pristine: tuple[Path, list], tmp_path: Path, tally):
    source, before = pristine
    index = _copy(source, tmp_path)
    _rewrite_manifest(index, LIES[lie])
    verified = _cli("verify", "--index", index, "--json")
    assert verified.exit_code == 1, verified.output
    assert json.loads(verified.stdout)["damage"]
    answers, said = _answers(index)
    assert answers is None or _same(answers, before), said
    rebuilt = _cli("rebuild", "--index", index)
    assert rebuilt.exit_code == 0, rebuilt.output
    assert _cli("verify", "--index", index).exit_code == 0
    answers, _ = _answers(index)
    assert answers is not None and _same(answers, before)
    tally("manifests that lie")


def test_rollback_returns_to_the_previous_generation(
    pristine: tuple[Path, list], tmp_path: Path, tally
) -> None:
    source, before = pristine
    index = _copy(source, tmp_path)
    damaged = index.resolve()
    _tamper(damaged / "passages.faiss", "flip")
    result = _cli("rollback", "--index", index)
    assert result.exit_code == 0, result.output
    assert index.resolve() != damaged
    assert _cli("verify", "--index", index).exit_code == 0
    answers, said = _answers(index)
    assert answers is not None and _same(answers, before) and "previous" not in said
    # Nothing earlier verifies now: a one-line error, the index untouched.
    for gen in (home_dir(index) / "generations").iterdir():
        if gen != index.resolve():
            shutil.rmtree(gen)
    again = _cli("rollback", "--index", index)
    assert again.exit_code == 1 and "no earlier generation" in again.stderr
    tally("rollback")


def test_a_dangling_user_symlink_survives_and_nothing_foreign_is_deleted(
    tmp_path: Path, tally
) -> None:
    """The user's link is followed, never replaced; folders podsearch did not make stay. A
    dangling link is refused (its target may be an unmounted drive); once the target
    folder exists, the index goes there."""
    target = tmp_path / "data" / "podcasts"
    link = tmp_path / "indexes" / "default"
    link.parent.mkdir()
    os.symlink(target, link)  # dangling: data/ does not exist yet
    refused = _cli("index", LIBRARY, "--index", link, "--model", "fake")
    assert refused.exit_code == 2 and "does not exist" in refused.output
    assert link.is_symlink() and not target.exists()
    target.mkdir(parents=True)
    for _ in range(4):  # several writes: garbage collection runs each time
        result = _cli("index", LIBRARY, "--index", link, "--model", "fake")
        assert result.exit_code == 0, result.output
        _cli("rebuild", "--index", link)
        foreign = home_dir(target) / "generations" / "my-notes"
        foreign.mkdir(exist_ok=True)
        (foreign / "keep.txt").write_text("mine")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert (foreign / "keep.txt").read_text() == "mine"
    assert _answers(link)[0]
    tally("never delete what podsearch did not make", 2)


KILL_SCRIPT = """
import sys
import fakes
fakes.register()
from podsearch.api import Library
lib = Library(sys.argv[2])
lib.index([sys.argv[1]]) if sys.argv[3] == "index" else lib.rebuild(vector_index="flat")
"""


@pytest.mark.parametrize("op", ["index", "rebuild"])
def test_a_writer_killed_at_random_points(
    op: str, pristine: tuple[Path, list], tmp_path: Path, tally
) -> None:
    """A writer killed with SIGKILL at random points of its run (drawn over the time a whole
    run takes): the index answers afterwards, as before unless the run had swapped in its
    generation, and the dead writer's temporary folder is gone after the next write (not an
    hour later), which verifies."""
    import random
    import signal
    import time

    source, before = pristine
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    args = [sys.executable, "-c", KILL_SCRIPT, str(LIBRARY.parent / "readers")]

    def start(index: Path) -> subprocess.Popen:
        return subprocess.Popen([*args, str(index), op], env=env)

    t0 = time.monotonic()
    assert start(_copy(source, _fresh(tmp_path, "whole"))).wait(timeout=120) == 0
    whole = time.monotonic() - t0
    rng = random.Random(14)
    for attempt in range(3):  # bounded
        index = _copy(source, _fresh(tmp_path, f"kill{attempt}"))
        proc = start(index)
        time.sleep(rng.uniform(0.05, whole))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        answers, said = _answers(index)
        assert answers is not None, said
        if op == "rebuild":
            assert _same(answers, before)  # a rebuild never changes what is found
        tally(f"kill -9 during {op}")
        assert _cli("rebuild", "--index", index).exit_code == 0  # the next write
        assert not list((home_dir(index) / "generations").glob(".tmp-*"))
        assert _cli("verify", "--index", index).exit_code == 0


def _fresh(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    return folder
