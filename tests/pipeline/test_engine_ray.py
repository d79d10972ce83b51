"""The Ray engine against the local one: a local Ray instance (2 CPUs, 127.0.0.1, no
dashboard) indexes the same episodes to the same passages, the same vectors and the same top
hits; the command line's --engine and its errors."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fakes import FakeEmbedder
from typer.testing import CliRunner

from podsearch.api import Library
from podsearch.cli.app import app

ray = pytest.importorskip("ray", reason="the ray extra is not installed")

TESTS = Path(__file__).parents[1]
LIBRARY = TESTS / "fixtures" / "library"
SHARED = TESTS.parents[1] / "shared" / "corpora" / "seenunseen" / "transcripts_vtt"
QUESTIONS = ["rockets that land again", "bread and yeast", "compost for the garden"]


@pytest.fixture(scope="module")
def local_ray(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        _node_ip_address="127.0.0.1",
        # Ray's own files stay inside the test's temporary folder; the workers import the
        # fake embedder from tests/.
        _temp_dir=str(tmp_path_factory.mktemp("ray")),
        runtime_env={"env_vars": {"PYTHONPATH": str(TESTS), "RAY_USAGE_STATS_ENABLED": "0"}},
    )
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture
def shows(tmp_path: Path) -> Path:
    folder = tmp_path / "shows"
    shutil.copytree(LIBRARY, folder)
    if SHARED.is_dir():  # two real episodes too, when the shared corpus is beside the repo
        for name in ("E41.mp3.vtt", "E42.mp3.vtt"):
            (folder / name).symlink_to(SHARED / name)
    return folder


def test_the_ray_engine_builds_the_local_engines_index(
    local_ray: None, shows: Path, tmp_path: Path
) -> None:
    on_ray = Library(tmp_path / "ray", embedder=FakeEmbedder())
    report = on_ray.index([shows], engine="ray")
    local = Library(tmp_path / "local", embedder=FakeEmbedder())
    local.index([shows])
    a, b = on_ray.open(), local.open()
    assert report.passages_embedded == b.manifest["counts"]["passages"]
    columns = ["passage_id", "episode_id", "speaker", "start", "end", "text", "embed_text"]
    for column in columns:
        assert a.passages.column(column).to_pylist() == b.passages.column(column).to_pylist()
    assert a.turns.to_pylist() == b.turns.to_pylist()
    np.testing.assert_allclose(a.vectors(), b.vectors(), atol=1e-6)
    for q in QUESTIONS:
        got = [h.passage_id for h in on_ray.ask(q, top=5).hits]
        assert got == [h.passage_id for h in local.ask(q, top=5).hits]
    # Its shards are gone once the generation is written.
    home = next(tmp_path.glob(".ray.podsearch"))
    assert not list(home.glob("ray-shards-*"))


@pytest.mark.slow
def test_the_command_line_with_the_real_model(local_ray: None, tmp_path: Path) -> None:
    """The default model, loaded by each Ray actor: the same vectors as the local engine."""
    runner = CliRunner()
    for engine in ("ray", "local"):
        args = ["index", str(LIBRARY), "--index", str(tmp_path / engine), "--engine", engine]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    a, b = Library(tmp_path / "ray").open(), Library(tmp_path / "local").open()
    np.testing.assert_allclose(a.vectors(), b.vectors(), atol=1e-5)
    got = Library(tmp_path / "ray").ask(QUESTIONS[0], top=3).hits
    assert [h.passage_id for h in got] == [
        h.passage_id for h in Library(tmp_path / "local").ask(QUESTIONS[0], top=3).hits
    ]


def test_an_unknown_engine_is_a_usage_error(shows: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    index = tmp_path / "idx"
    bad = runner.invoke(app, ["index", str(shows), "--index", str(index), "--engine", "spark"])
    assert bad.exit_code == 2 and "--engine" in bad.stderr and "local or ray" in bad.stderr
