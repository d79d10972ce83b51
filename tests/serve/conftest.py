"""Fixtures of the serve tests: an index of the test library and a server answering it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from serving import LIBRARY, invoke, running

from podsearch.serve.server import make_server


@pytest.fixture
def library_index(tmp_path: Path) -> Path:
    index = tmp_path / "idx"
    result = invoke("index", LIBRARY, "--index", index, "--model", "fake")
    assert result.exit_code == 0, result.output
    return index


@pytest.fixture
def server_url(library_index: Path) -> Iterator[str]:
    with running(make_server(library_index, "127.0.0.1", 0)) as url:
        yield url
