"""The page in a real browser: Debian's chromium driven by Playwright (never a downloaded
browser). A search opened from its URL, a typed question, context, a copied citation,
playing at a quote, an episode opened at ``#t=``, and a phone-sized screen."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serving import TALK, invoke, running, write_talk, write_tone

from podsearch.api import Library
from podsearch.ingest.files import sample_paths
from podsearch.serve.server import make_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="no chromium (.ci/run installs Debian's)"
)
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    "--mute-audio",
]
TIMEOUT = 20_000  # ms, for every wait: a stuck page fails instead of hanging CI
QUESTION = "what did Clem say about distillation"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any, tmp_path: Path) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    context.set_default_timeout(TIMEOUT)
    pg = context.new_page()
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Library]]:
    """The bundled sample library (fake embedder), served."""
    index = tmp_path_factory.mktemp("sample") / "idx"
    result = invoke("index", *sample_paths(), "--index", index, "--model", "fake")
    assert result.exit_code == 0, result.output
    with running(make_server(index, "127.0.0.1", 0)) as url:
        yield url, Library(index)


def shot(page: Any, path: Path) -> None:
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 1000


def test_a_search_url_shows_its_results(
    page: Any, sample: tuple[str, Library], tmp_path: Path
) -> None:
    url, lib = sample
    expected = lib.ask(QUESTION).hits[0]
    page.goto(f"{url}/?q={QUESTION.replace(' ', '+')}")
    first = page.locator(".hit").first
    assert first.get_attribute("data-id") == expected.passage_id
    assert first.locator(".quote").inner_text() == f"“{expected.text}”"
    assert first.locator(".speaker").inner_text().startswith("Clément Delangue")
    assert first.locator("mark").first.inner_text().lower() == "distillation"
    assert page.input_value("#q") == QUESTION
    shot(page, tmp_path / "search.png")


def test_typing_a_question(page: Any, sample: tuple[str, Library], tmp_path: Path) -> None:
    url, lib = sample
    page.goto(url + "/")
    assert page.locator(".hit").count() == 0
    page.fill("#q", "open source models from China")
    page.press("#q", "Enter")
    page.wait_for_url("**/?q=open+source+models+from+China*")
    assert "speaker=" not in page.url and "since=" not in page.url  # empty fields left out
    expected = lib.ask("open source models from China").hits[0]
    assert page.locator(".hit").first.get_attribute("data-id") == expected.passage_id
    shot(page, tmp_path / "typed.png")


def test_read_the_first_quotes_closely(page: Any, sample: tuple[str, Library]) -> None:
    """Ticking the box asks with the reranker: its state is in the link, and the page's
    hits are the library's with rerank=True."""
    url, lib = sample
    page.goto(url + "/")
    assert not page.is_checked("input[name=rerank]")
    page.check("input[name=rerank]")
    page.fill("#q", "why are Chinese labs releasing open models")
    page.press("#q", "Enter")
    page.wait_for_url("**rerank=true*")
    assert page.is_checked("input[name=rerank]")  # the state stays in the form
    expected = lib.ask("why are Chinese labs releasing open models", rerank=True).hits
    ids = [page.locator(".hit").nth(i).get_attribute("data-id") for i in range(3)]
    assert ids == [h.passage_id for h in expected[:3]]


def test_filters_are_filled_from_the_library(page: Any, sample: tuple[str, Library]) -> None:
    url, lib = sample
    page.goto(url + "/")
    options = page.locator("select[name=speaker] option").all_text_contents()
    named = [s["speaker"] for s in lib.speakers() if not s["anonymous"]]
    assert options[1:] == named
    page.locator("details.filters summary").click()
    page.select_option("select[name=speaker]", "Theo Jaffee")
    page.fill("#q", "robots")
    page.press("#q", "Enter")
    page.wait_for_url("**speaker=Theo+Jaffee*")
    speakers = page.locator(".hit .speaker").all_inner_texts()
    assert speakers and all(s.startswith("Theo Jaffee") for s in speakers)


def test_context_on_demand(page: Any, sample: tuple[str, Library], tmp_path: Path) -> None:
    url, _ = sample
    page.goto(f"{url}/?q={QUESTION.replace(' ', '+')}")
    details = page.locator(".hit").first.locator("details.context")
    turns = details.locator("p.turn")
    assert not turns.first.is_visible()
    details.locator("summary").click()
    assert turns.first.is_visible() and turns.count() >= 2
    shot(page, tmp_path / "context.png")


def test_copy_a_citation(browser: Any, sample: tuple[str, Library], tmp_path: Path) -> None:
    url, lib = sample
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
    page = context.new_page()
    try:
        page.goto(f"{url}/?q={QUESTION.replace(' ', '+')}")
        page.select_option("#style", "mla")
        assert "cite=mla" in page.url  # the chosen style is part of the page's state
        first = page.locator(".hit").first
        first.locator("button.cite").click()
        cited = first.locator(".cited")
        cited.wait_for(state="visible")
        expected = lib.cite(first.get_attribute("data-id"), "mla")[0].reference
        assert cited.inner_text() == expected
        assert page.evaluate("navigator.clipboard.readText()") == expected
        assert first.locator("button.cite").inner_text() == "Copied"
        shot(page, tmp_path / "cited.png")
    finally:
        context.close()


def test_more_like_this(page: Any, sample: tuple[str, Library]) -> None:
    url, lib = sample
    page.goto(f"{url}/?q={QUESTION.replace(' ', '+')}")
    first_id = page.locator(".hit").first.get_attribute("data-id")
    page.locator(".hit").first.locator("a.more").click()
    page.wait_for_url(f"**/?similar={first_id}")
    ids = [h.get_attribute("data-id") for h in page.locator(".hit").all()]
    assert ids == [h.passage_id for h in lib.similar(first_id).hits]


def test_phone_screen(browser: Any, sample: tuple[str, Library], tmp_path: Path) -> None:
    url, _ = sample
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    try:
        page.goto(f"{url}/?q={QUESTION.replace(' ', '+')}", timeout=TIMEOUT)
        # Nothing wider than the screen: no sideways scrolling to read a quote.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        shot(page, tmp_path / "phone.png")
    finally:
        context.close()


@pytest.fixture(scope="module")
def talk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A served library of one talk whose audio is a local WAV; (url, episode id)."""
    folder = tmp_path_factory.mktemp("talk")
    transcript = write_talk(folder)
    write_tone(folder / "talk.wav")
    index = folder / "idx"
    assert invoke("index", transcript, "--index", index, "--model", "fake").exit_code == 0
    with running(make_server(index, "127.0.0.1", 0)) as url:
        yield url, Library(index).episodes()[0]["episode_id"]


def test_play_at_the_quote(page: Any, talk: tuple[str, str], tmp_path: Path) -> None:
    url, _ = talk
    start = TALK[1][0]
    page.goto(url + "/?q=keeper+climbed+the+tower")
    hit = page.locator(f".hit[data-start='{start}']")
    hit.locator("button.play").click()
    audio = hit.locator("audio.player")
    audio.wait_for(state="visible")
    # Seeked to the quote's start and playing from there (a little of it may have played).
    handle = audio.element_handle()
    page.wait_for_function(
        "a => a.readyState >= 1 && !a.seeking && a.currentTime >= " + str(start - 0.01),
        arg=handle,
        timeout=TIMEOUT,
    )
    now = audio.evaluate("a => a.currentTime")
    assert start <= now < start + 2.0
    shot(page, tmp_path / "playing.png")


def test_episode_page_opens_at_a_time(page: Any, talk: tuple[str, str], tmp_path: Path) -> None:
    url, episode = talk
    start = TALK[2][0]
    page.goto(f"{url}/episodes/{episode}#t={int(start)}")
    current = page.locator("#transcript .turn.current")
    current.wait_for()
    assert current.get_attribute("data-start") == str(start)
    page.wait_for_function(
        "a => a.readyState >= 1 && Math.abs(a.currentTime - " + str(start) + ") < 0.01",
        arg=page.locator("#episode-audio").element_handle(),
        timeout=TIMEOUT,
    )
    shot(page, tmp_path / "episode.png")
