"""Where the library lives (store.location, Library.find): the rules, the sample standing in
only when nothing exists, and a user's path (a typo, a dangling symlink) never replaced."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fakes import FakeEmbedder
from typer.testing import CliRunner

from podsearch.api import Library
from podsearch.cli.app import app
from podsearch.core.errors import InvalidRequestError, PodsearchError
from podsearch.store.location import (
    ENVIRONMENT,
    GIVEN,
    LOCAL,
    SAMPLE,
    USER,
    resolve_location,
)

LIBRARY = Path(__file__).parents[1] / "fixtures" / "library"
runner = CliRunner()


def invoke(*args: str | Path) -> object:
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_the_rules_in_order(
    tmp_path: Path, user_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    user = resolve_location()
    assert user.rule == USER and user.path == user_data / "podsearch" / "default"
    (tmp_path / "indexes" / "default").mkdir(parents=True)
    assert resolve_location().rule == LOCAL
    monkeypatch.setenv("PODSEARCH_INDEX", str(tmp_path / "env"))
    env = resolve_location()
    assert env.rule == ENVIRONMENT and env.explicit and "PODSEARCH_INDEX" in env.reason
    given = resolve_location(tmp_path / "mine")
    assert given.rule == GIVEN and given.path == tmp_path / "mine"


def test_sample_only_when_nothing_exists_and_no_path_given(
    tmp_path: Path, user_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    fake = FakeEmbedder("fake")
    lib = Library.find(embedder=fake)
    assert lib.is_sample and not lib.exists and lib.location.rule == SAMPLE
    lib.install_sample()
    assert Library.find(embedder=fake).ask("open source", top=1).hits
    # Once the user has a library (here the per-user default), the sample never answers.
    Library(embedder=fake).index([LIBRARY])
    mine = Library.find(embedder=fake)
    assert mine.location.rule == USER and not mine.is_sample
    assert all("sample" not in s for ep in mine.episodes() for s in ep["sources"])
    assert list(tmp_path.iterdir()) == []  # nothing written where the program ran


@pytest.mark.parametrize("env", [False, True])
def test_a_named_missing_library_is_refused(
    tmp_path: Path, user_data: Path, monkeypatch: pytest.MonkeyPatch, env: bool
) -> None:
    missing = tmp_path / "typo"
    if env:
        monkeypatch.setenv("PODSEARCH_INDEX", str(missing))
    with pytest.raises(InvalidRequestError) as e:
        Library.find(None if env else missing)
    assert e.value.option == ("PODSEARCH_INDEX" if env else "--index")
    assert str(missing) in e.value.problem and "podsearch index" in e.value.problem
    assert not missing.exists() and list(user_data.iterdir()) == []


def _dangling(tmp_path: Path) -> Path:
    link = tmp_path / "idx"
    os.symlink(tmp_path / "gone" / "generation", link)
    return link


@pytest.mark.parametrize(
    "command",
    [("ask", "anything"), ("episodes",), ("status",), ("index", str(LIBRARY), "--model", "fake")],
)
def test_a_dangling_symlink_is_left_untouched(tmp_path: Path, command: tuple[str, ...]) -> None:
    link = _dangling(tmp_path)
    target = os.readlink(link)
    result = invoke(*command, "--index", link)
    assert result.exit_code == 2, result.output
    assert "symlink" in result.stderr and "does not exist" in result.stderr
    assert os.path.islink(link) and os.readlink(link) == target
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx"]


def test_a_dangling_local_default_is_reported_not_replaced(
    tmp_path: Path, user_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "indexes").mkdir()
    link = _dangling(tmp_path / "indexes")
    os.rename(link, tmp_path / "indexes" / "default")
    with pytest.raises(PodsearchError, match="symlink"):
        Library.find()
    result = invoke("ask", "anything")
    assert result.exit_code == 1 and "symlink" in result.stderr
    assert os.path.islink(tmp_path / "indexes" / "default")
    assert list(user_data.iterdir()) == []  # no sample installed instead


def test_status_says_which_library_and_why(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    assert invoke("index", LIBRARY, "--index", index, "--model", "fake").exit_code == 0
    st = json.loads(invoke("status", "--index", index, "--json").stdout)
    assert st["location"] == {"path": str(index), "rule": GIVEN, "reason": "given with --index"}
    human = invoke("status", "--index", index).stdout
    assert "library: given with --index" in human


def test_status_without_any_library_points_at_the_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("status")
    assert result.exit_code == 0
    assert "not installed yet" in result.stdout and "podsearch sample" in result.stdout
