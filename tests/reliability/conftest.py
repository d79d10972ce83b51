"""The reliability suite's tally: every test says what it tried (``tally(category, n)``), and
the session's counts per category, with how many tries passed, are written as JSON to
``$PODSEARCH_RELIABILITY_REPORT`` when that is set (``scripts/reliability_table.py`` sets it
and prints the README's table). Without it nothing is written."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

Tally = Callable[..., None]
_PENDING: dict[str, dict[str, int]] = {}  # test id -> category -> tries
_TOTALS: dict[str, dict[str, int]] = {}  # category -> {"tried", "passed"}


@pytest.fixture
def tally(request: pytest.FixtureRequest) -> Iterator[Tally]:
    """``tally(category, n=1)``: this test tried ``n`` more cases of ``category``. They count
    as passed if the test passes."""
    counts = _PENDING.setdefault(request.node.nodeid, {})

    def add(category: str, n: int = 1) -> None:
        counts[category] = counts.get(category, 0) + n

    yield add


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    counts = _PENDING.get(item.nodeid)
    if counts is None or report.when != "teardown":
        if counts is not None and report.when == "call" and report.failed:
            item.stash[_FAILED] = True
        return
    failed = item.stash.get(_FAILED, False) or report.failed
    for category, n in counts.items():
        total = _TOTALS.setdefault(category, {"tried": 0, "passed": 0})
        total["tried"] += n
        total["passed"] += 0 if failed else n
    _PENDING.pop(item.nodeid, None)


_FAILED = pytest.StashKey[bool]()


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get("PODSEARCH_RELIABILITY_REPORT")
    if target and _TOTALS:
        Path(target).write_text(json.dumps(_TOTALS, indent=1, sort_keys=True) + "\n")
