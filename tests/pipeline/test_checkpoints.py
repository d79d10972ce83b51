"""Embedding checkpoints: an interrupted build (an exception, or kill -9 of a real process)
resumes without embedding finished passages again and ends with the vectors of an
uninterrupted build; damaged shards and another model's or precision's are never used."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from fakes import FakeEmbedder

from podsearch.api import Library
from podsearch.pipeline import commit as commit_module
from podsearch.pipeline.checkpoints import Checkpoints
from podsearch.store.layout import home_dir

LIBRARY = Path(__file__).parents[1] / "fixtures" / "library"
TESTS = Path(__file__).parents[1]


class Counting(FakeEmbedder):
    """The fake embedder, remembering every text it embedded; raises KeyboardInterrupt (as
    Ctrl-C would) on call number ``fail_on``."""

    def __init__(self, fail_on: int | None = None) -> None:
        super().__init__("fake")
        self.texts: list[str] = []
        self.calls = 0
        self.fail_on = fail_on

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        self.calls += 1
        if self.fail_on is not None and self.calls >= self.fail_on:
            raise KeyboardInterrupt
        self.texts.extend(texts)
        return super().encode(texts)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "shows"
    shutil.copytree(LIBRARY, folder)
    return folder


@pytest.fixture
def one_episode_a_group(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(commit_module, "CHECKPOINT_TEXTS", 1)


def vectors_by_text(index: Path) -> dict[str, np.ndarray]:
    idx = Library(index).open()
    texts = idx.passages.column("embed_text").to_pylist()
    return dict(zip(texts, idx.vectors(), strict=True))


def cache_dir(index: Path) -> Path:
    return home_dir(index) / commit_module.CHECKPOINT_DIR


def test_an_interrupted_build_resumes_without_embedding_again(
    tmp_path: Path, folder: Path, one_episode_a_group: None
) -> None:
    index = tmp_path / "idx"
    with pytest.raises(KeyboardInterrupt):
        Library(index, embedder=Counting(fail_on=3)).index([folder])
    assert not Library(index).exists  # nothing was committed
    shards = sorted(cache_dir(index).rglob("*.npz"))
    assert len(shards) == 2  # two episodes were embedded before the interruption

    again = Counting()
    report = Library(index, embedder=again).index([folder])
    clean = tmp_path / "clean"
    everything = Counting()
    Library(clean, embedder=everything).index([folder])

    assert report.passages_resumed > 0
    assert report.passages_resumed + report.passages_embedded == len(set(everything.texts))
    assert len(again.texts) == report.passages_embedded
    finished = set(everything.texts) - set(again.texts)
    assert len(finished) == report.passages_resumed  # none of them embedded again
    got, want = vectors_by_text(index), vectors_by_text(clean)
    assert got.keys() == want.keys()
    for text, vector in want.items():
        np.testing.assert_allclose(got[text], vector, atol=1e-6)
    assert not cache_dir(index).exists()  # the generation holds them now


def test_a_damaged_checkpoint_is_ignored(
    tmp_path: Path, folder: Path, one_episode_a_group: None
) -> None:
    index = tmp_path / "idx"
    with pytest.raises(KeyboardInterrupt):
        Library(index, embedder=Counting(fail_on=3)).index([folder])
    first, second = sorted(cache_dir(index).rglob("*.npz"))
    first.write_bytes(first.read_bytes()[: first.stat().st_size // 2])  # truncated
    with np.load(second) as z:  # a finite but wrong vector: not a unit vector
        np.savez(second.with_suffix(".tmp.npz"), hashes=z["hashes"], vectors=z["vectors"] * 3)
    os.replace(second.with_suffix(".tmp.npz"), second)
    report = Library(index, embedder=Counting()).index([folder])
    assert report.passages_resumed == 0
    clean = tmp_path / "clean"
    Library(clean, embedder=Counting()).index([folder])
    got, want = vectors_by_text(index), vectors_by_text(clean)
    for text, vector in want.items():
        np.testing.assert_allclose(got[text], vector, atol=1e-6)


def test_checkpoints_belong_to_one_model_and_precision(tmp_path: Path) -> None:
    vectors = FakeEmbedder().encode(["a b", "c d"])
    Checkpoints(tmp_path, "model-a", "fp32").save(["h1", "h2"], vectors)
    assert set(Checkpoints(tmp_path, "model-a", "fp32").load({"h1", "h2"})) == {"h1", "h2"}
    assert Checkpoints(tmp_path, "model-a", "int8").load({"h1", "h2"}) == {}
    assert Checkpoints(tmp_path, "model-b", "fp32").load({"h1", "h2"}) == {}
    assert Checkpoints(tmp_path, "model-a", "fp32", dim=128).load({"h1"}) == {}  # other size


def test_an_interrupted_rebuild_to_another_model_resumes(
    tmp_path: Path, folder: Path, one_episode_a_group: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The new model's checkpoints are of its own size, not the old generation's: a rebuild
    to another model that was stopped takes up where it stopped."""
    index = tmp_path / "idx"
    Library(index, embedder=FakeEmbedder("fake-64")).index([folder])
    texts: list[str] = []
    calls = {"n": 0, "fail_on": 3}  # Ctrl-C on the third group, two being checkpointed
    plain = FakeEmbedder.encode

    def encode(self: FakeEmbedder, batch: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        calls["n"] += 1
        if calls["n"] == calls["fail_on"]:
            raise KeyboardInterrupt
        texts.extend(batch)
        return plain(self, batch)

    monkeypatch.setattr(FakeEmbedder, "encode", encode)
    with pytest.raises(KeyboardInterrupt):
        Library(index).rebuild(model="fake-32")
    assert Library(index).open().dimension == 64  # the old generation still answers
    before = len(texts)
    texts.clear()
    report = Library(index).rebuild(model="fake-32")
    assert report.passages_resumed == before > 0
    assert report.passages_embedded == len(texts)
    rebuilt = Library(index).open()
    assert rebuilt.dimension == 32
    want = plain(FakeEmbedder("fake-32"), rebuilt.passages.column("embed_text").to_pylist())
    np.testing.assert_allclose(rebuilt.vectors(), want, atol=1e-6)


# Runs the real command line with a fake embedder slowed down, so that the test can kill it
# between two checkpoints.
SLOW_INDEX = """
import sys, time
sys.path.insert(0, {tests!r})
import fakes
from podsearch.embed.factory import register_backend
from podsearch.pipeline import commit
commit.CHECKPOINT_TEXTS = 1
class Slow(fakes.FakeEmbedder):
    def encode(self, texts, *, batch_size=32):
        time.sleep(1.0)
        return super().encode(texts)
register_backend("fake", lambda name, device, precision: Slow(name))
from podsearch.cli.entry import main
sys.argv = ["podsearch", "index", {folder!r}, "--index", {index!r}, "--model", "fake"]
main()
"""


def test_kill_9_during_embedding_then_resume(tmp_path: Path, folder: Path) -> None:
    index = tmp_path / "idx"
    script = SLOW_INDEX.format(tests=str(TESTS), folder=str(folder), index=str(index))
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=tmp_path)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if cache_dir(index).is_dir() and any(cache_dir(index).rglob("*.npz")):
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the build ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert not Library(index).exists
    again = Counting()
    report = Library(index, embedder=again).index([folder], model="fake")
    assert report.passages_resumed > 0
    assert len(again.texts) == report.passages_embedded
    clean = tmp_path / "clean"
    Library(clean, embedder=Counting()).index([folder], model="fake")
    got, want = vectors_by_text(index), vectors_by_text(clean)
    assert got.keys() == want.keys()
    for text, vector in want.items():
        np.testing.assert_allclose(got[text], vector, atol=1e-6)
