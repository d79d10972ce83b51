"""Citation export: CSL styles, file formats, missing metadata, and the cite/export commands.

Golden files live in tests/fixtures/citations/; regenerate them with
``PODSEARCH_REGEN_GOLDEN=1 python -m pytest tests/test_citations.py`` and review the diff.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import replace
from pathlib import Path

import bibtexparser
import jsonschema
import pytest
import rispy
from bibtexparser.middlewares import LatexDecodingMiddleware
from typer.testing import CliRunner

from podsearch.cite.formats import FORMATS, check_format, export, to_bibtex
from podsearch.cite.items import (
    Citable,
    citable_from_index,
    citables_from_index,
    citation_keys,
    csl_name,
    person_name,
    to_csl_item,
)
from podsearch.cite.styles import STYLE_ALIASES, render_style, resolve_style
from podsearch.cli.app import app
from podsearch.core.errors import CitationError, PassageNotFoundError
from podsearch.store.index import Index

FIXTURES = Path(__file__).parents[1] / "fixtures"
GOLDEN = FIXTURES / "citations"
SCHEMA = json.loads((GOLDEN / "csl-data.schema.json").read_text())
REGEN = os.environ.get("PODSEARCH_REGEN_GOLDEN") == "1"
TITLE = "Hugging Face's Clem Delangue on Open Source AI and the LLM Bubble | MTS Live"

# The distillation passage with full metadata (the sample library has no URL).
FULL = Citable(
    passage_id="5e1d0c3b9a",
    quote=(
        "There's going to be some conversations about distillation, about collaborations "
        "between two countries."
    ),
    speaker="Clément Delangue",
    start=461.0,
    end=478.5,
    time_precision="exact",
    episode_id="77ac46a1ff",
    episode_title=TITLE,
    podcast="The a16z Show",
    published="2026-05-22",
    url="https://example.com/ep",
)
# Another episode (export writes one entry per episode, so each case has its own).
HOSTED = replace(
    FULL, episode_id="ab12", hosts=("Theo Jaffee", "Sofia Puccini"), guests=("Clément Delangue",)
)
MISSING = {
    "no date": replace(FULL, published=None),
    "no speaker": replace(FULL, speaker=None),
    "diarization label": replace(FULL, speaker="SPEAKER_2"),
    "untimed": replace(FULL, start=None, end=None, time_precision="none"),
    "no url": replace(FULL, url=None),
    "no show": replace(FULL, podcast=None),
    "no title": replace(FULL, episode_title=None, source="episode.vtt"),
    "nothing": Citable(passage_id="0000000000", quote="Just words."),
}
MISSING = {
    k: replace(c, episode_id=c.episode_id and f"ep-{i}") for i, (k, c) in enumerate(MISSING.items())
}
STYLES = ("apa", "mla", "chicago")
BAD_BITS = ("None", "null", "()", "[]", "“”", "{}", "( )", "[ ]")


def golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if REGEN:
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from the golden file"


def styled(c: Citable, style: str) -> tuple[str, str]:
    s = render_style([c], style)[0]
    return s.in_text, s.reference


# Styles


@pytest.mark.parametrize("style", STYLES)
def test_style_golden(style: str) -> None:
    in_text, reference = styled(FULL, style)
    golden(f"{style}.txt", f"{in_text}\n{reference}\n")


@pytest.mark.parametrize("style", [*STYLES, "ieee", "harvard-cite-them-right", "nature"])
def test_passages_of_one_episode_keep_their_own_times(style: str) -> None:
    """Renderings are memoised per episode: each passage still gets its own timestamp."""
    later = replace(FULL, passage_id="1111111111", start=3725.0, end=3730.0)
    first, second = render_style([FULL, later], style)
    assert first.reference == second.reference
    if first.in_text != second.in_text:  # a style may cite without a locator (numbered)
        assert ("1:02:05" in second.in_text) or ("01:02:05" in second.in_text)
    assert "\ue002" not in first.in_text + second.in_text
    assert (first.in_text, first.reference) == styled(FULL, style)


def test_markdown_golden() -> None:
    golden("markdown.md", export([FULL], "markdown"))


def test_apa_in_text_has_timestamp_locator() -> None:
    in_text, reference = styled(FULL, "apa")
    assert in_text == "(Delangue, 2026, 7:41)"
    assert reference.startswith("Delangue, C. (2026, May 22). Hugging Face's")
    assert "[Audio podcast episode]. In The a16z Show. https://example.com/ep" in reference


def test_untimed_passage_has_no_locator() -> None:
    untimed = MISSING["untimed"]
    assert styled(untimed, "apa")[0] == "(Delangue, 2026)"
    assert styled(untimed, "mla")[0] == "(Delangue)"
    assert styled(untimed, "chicago")[0] == "(Delangue 2026)"


def test_approximate_time_is_still_a_locator_and_marked_in_markdown() -> None:
    approx = replace(FULL, time_precision="interpolated")
    assert styled(approx, "apa")[0] == "(Delangue, 2026, 7:41)"
    md = export([approx], "markdown")
    assert "[≈7:41](https://example.com/ep#t=461) (approximate)" in md
    assert "≈" not in export([FULL], "markdown")


def test_hosts_are_the_authors_as_apa_asks() -> None:
    in_text, reference = styled(HOSTED, "apa")
    assert in_text == "(Jaffee & Puccini, 2026, 7:41)"
    assert reference.startswith("Jaffee, T., & Puccini, S. (Hosts). (2026, May 22).")
    assert "hosted by Theo Jaffee and Sofia Puccini" in styled(HOSTED, "mla")[1]
    item = to_csl_item(HOSTED)
    assert item["author"] == [
        {"family": "Jaffee", "given": "Theo"},
        {"family": "Puccini", "given": "Sofia"},
    ]
    assert item["contributor"] == [{"family": "Delangue", "given": "Clément"}]


def test_citeproc_quirks_are_worked_around() -> None:
    mla_in_text, mla_ref = styled(FULL, "mla")
    assert mla_in_text == "(Delangue 00:07:41)"  # no title (disambiguate), MLA hh:mm:ss
    assert mla_ref.startswith("Delangue, Clément. “Hugging")  # initialize="false"
    assert "Live.”" in mla_ref and "”." not in mla_ref  # punctuation-in-quote
    assert "The a16z Show" in mla_ref  # title case does not make it "A16z"
    assert "7:41" not in styled(FULL, "chicago")[1]  # no locator in the bibliography
    for style in STYLES:  # a title standing in for the author is not printed twice
        reference = styled(MISSING["no speaker"], style)[1]
        assert reference.count("Hugging Face") == 1, (style, reference)


def test_no_author_and_no_date_follow_apa() -> None:
    c = replace(FULL, speaker=None, published=None)
    in_text, reference = styled(c, "apa")
    assert in_text == f"(“{TITLE},” n.d., 7:41)"
    assert reference.startswith(f"{TITLE}. (n.d.). [Audio podcast episode]. In The a16z Show.")


@pytest.mark.parametrize("case", sorted(MISSING))
@pytest.mark.parametrize("style", STYLES)
def test_missing_metadata_in_styles(case: str, style: str) -> None:
    for text in styled(MISSING[case], style):
        assert text.strip()
        assert not any(bit in text for bit in BAD_BITS), (case, style, text)
        assert "  " not in text and ".." not in text


@pytest.mark.parametrize("case", sorted(MISSING))
@pytest.mark.parametrize("fmt", FORMATS)
def test_missing_metadata_in_formats(case: str, fmt: str) -> None:
    text = export([MISSING[case]], fmt)
    assert not any(bit in text for bit in BAD_BITS), (case, fmt, text)


def test_any_csl_style_name_and_unknown_style() -> None:
    assert resolve_style("MLA") == "modern-language-association"
    assert STYLE_ALIASES["chicago"] == "chicago-author-date"
    in_text, reference = styled(FULL, "ieee")
    assert in_text == "[1, 7:41]" and reference.startswith("[1] C. Delangue, “Hugging")
    with pytest.raises(CitationError, match=r"apa, mla, chicago.*Did you mean apa"):
        resolve_style("apaa")
    with pytest.raises(CitationError):
        resolve_style("../../etc/passwd")
    with pytest.raises(CitationError, match="bibtex, biblatex, ris, csl-json, markdown"):
        check_format("docx")


# Formats


def test_bibtex_parses_with_the_right_fields() -> None:
    other = replace(FULL, episode_id="cd34")  # a third episode, key clashing with the first
    lib = bibtexparser.parse_string(export([FULL, HOSTED, other], "bibtex"))
    assert not lib.failed_blocks
    keys = [e.key for e in lib.entries]
    assert keys == ["delangue2026hugging", "jaffee2026hugging", "delangue2026huggingb"]
    entry = lib.entries[0]
    assert entry.entry_type == "misc"
    assert entry["author"] == "Delangue, Clément"
    assert entry["title"] == "{" + TITLE + "}"
    assert entry["howpublished"] == "Audio podcast episode, The a16z Show"
    assert entry["year"] == "2026" and entry["month"] == "may"
    assert entry["url"] == "https://example.com/ep"
    assert entry["note"] == "Quoted from Clément Delangue at 7:41"
    assert lib.entries[1]["author"] == "Jaffee, Theo and Puccini, Sofia"


def test_bibtex_escapes_special_characters() -> None:
    quote = r"R&D: 50% of {models} #1 _fast_ $5 ~ \ done, “Zoë” — ok"
    c = replace(FULL, quote=quote, episode_title="Tips & Tricks_{2}")
    text = to_bibtex([c])
    lib = bibtexparser.parse_string(text, append_middleware=[LatexDecodingMiddleware()])
    assert not lib.failed_blocks
    assert lib.entries[0]["annote"] == quote
    assert lib.entries[0]["title"] == "Tips & Tricks_{2}"
    assert r"R\&D: 50\% of \{models\} \#1 \_fast\_ \$5" in text


def test_biblatex_parses_as_audio() -> None:
    lib = bibtexparser.parse_string(export([FULL, MISSING["nothing"]], "biblatex"))
    assert not lib.failed_blocks and len(lib.entries) == 2
    entry = lib.entries[0]
    assert entry.entry_type == "audio"
    assert entry["maintitle"] == "{The a16z Show}"
    assert entry["date"] == "2026-05-22"
    assert entry["entrysubtype"] == "podcastepisode"
    assert entry["url"] == "https://example.com/ep"


def test_ris_reads_back_with_rispy() -> None:
    text = export([FULL, HOSTED], "ris")
    assert text.startswith("TY  - SOUND\n")  # no "1." record header
    records = rispy.loads(text)
    assert len(records) == 2
    rec = records[0]
    assert rec["type_of_reference"] == "SOUND"
    assert rec["authors"] == ["Delangue, Clément"]
    assert rec["title"] == TITLE and rec["secondary_title"] == "The a16z Show"
    assert rec["year"] == "2026" and rec["date"] == "2026/05/22"
    assert rec["urls"] == ["https://example.com/ep"]
    assert "https://example.com/ep#t=461" in rec["notes"][0]
    assert records[1]["authors"] == ["Jaffee, Theo", "Puccini, Sofia"]


def test_csl_json_validates_against_the_schema() -> None:
    citables = [FULL, HOSTED, *MISSING.values()]
    items = json.loads(export(citables, "csl-json"))
    jsonschema.validate(items, SCHEMA)
    assert items[0]["type"] == "broadcast" and items[0]["genre"] == "Audio podcast episode"
    assert items[0]["issued"] == {"date-parts": [[2026, 5, 22]]}
    assert items[0]["container-title"] == "The a16z Show"
    assert len({i["id"] for i in items}) == len(items)
    with pytest.raises(jsonschema.ValidationError):  # the schema is strict
        jsonschema.validate([{**items[0], "quote": "x"}], SCHEMA)


def test_json_and_csv() -> None:
    records = json.loads(export([FULL, MISSING["untimed"]], "json"))
    assert records[0]["in_text"] == "(Delangue, 2026, 7:41)"
    assert records[0]["deep_link"] == "https://example.com/ep#t=461"
    assert "timestamp" not in records[1] and "deep_link" not in records[1]
    rows = list(csv.DictReader(io.StringIO(export([FULL, HOSTED], "csv", style="mla"))))
    assert rows[0]["key"] == "delangue2026hugging" and rows[0]["timestamp"] == "7:41"
    assert rows[1]["in_text"] == f"(“{TITLE}” 00:07:41)"


def test_keys_deep_links_and_names() -> None:
    assert citation_keys([FULL, FULL, FULL]) == [
        "delangue2026hugging",
        "delangue2026huggingb",
        "delangue2026huggingc",
    ]
    assert citation_keys([MISSING["nothing"]]) == ["podcastndepisode"]
    assert replace(FULL, url="https://youtu.be/abc").deep_link == "https://youtu.be/abc?t=461s"
    assert replace(FULL, audio_url="https://a.b/x.mp3").deep_link == "https://a.b/x.mp3#t=461"
    assert MISSING["untimed"].deep_link == "https://example.com/ep"
    assert csl_name("Ludwig van Beethoven") == {
        "family": "Beethoven",
        "given": "Ludwig",
        "non-dropping-particle": "van",
    }
    assert csl_name("Martin Luther King Jr.")["suffix"] == "Jr."
    assert csl_name("Cher") == {"literal": "Cher"}
    assert person_name("SPEAKER_2") is None and person_name(" Ada  Chen ") == "Ada Chen"


# From an index, and the command line

runner = CliRunner()


def invoke(*args: str | Path) -> object:
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def library_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    index = tmp_path_factory.mktemp("cite") / "idx"
    result = invoke("index", FIXTURES / "library", "--index", index, "--model", "fake")
    assert result.exit_code == 0, result.output
    return index


def _top_hit(index: Path, question: str = "heap turns slimy, smells of ammonia") -> dict:
    hits = json.loads(invoke("ask", question, "--index", index, "--json").stdout)
    return hits[0]


def test_citables_from_index_by_id_and_prefix(library_index: Path) -> None:
    hit = _top_hit(library_index)
    idx = Index(library_index)
    c = citable_from_index(idx, hit["passage_id"])
    assert (c.speaker, c.start, c.quote) == (hit["speaker"], hit["start"], hit["text"])
    assert c.source == "gardening.vtt"
    assert citables_from_index(idx, [hit["passage_id"][:6].upper()]) == [c]
    with pytest.raises(PassageNotFoundError, match="podsearch ask"):
        citable_from_index(idx, "ffffffffff")
    ids = idx.passages.column("passage_id").to_pylist()
    shared = next(i[0] for i in ids if sum(j[0] == i[0] for j in ids) > 1)
    with pytest.raises(PassageNotFoundError, match="more characters"):
        citable_from_index(idx, shared)


def test_cli_cite_style_and_format(library_index: Path) -> None:
    hit = _top_hit(library_index)
    result = invoke("cite", hit["passage_id"], "--style", "apa", "--index", library_index)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "(Ferreira, n.d., 0:18)"
    assert lines[1] == "Ferreira, T. (n.d.). [Audio podcast episode]."
    assert lines[2] == f"“{hit['text']}”"
    bib = invoke("cite", hit["passage_id"], "--format", "bibtex", "--index", library_index)
    assert bib.exit_code == 0
    lib = bibtexparser.parse_string(bib.stdout)
    assert not lib.failed_blocks and lib.entries[0]["author"] == "Ferreira, Tomás"


def test_cli_ask_cite(library_index: Path) -> None:
    human = invoke("ask", "heap turns slimy", "--index", library_index, "--cite", "apa")
    assert human.exit_code == 0
    assert "Cite: (Ferreira, n.d., 0:18)" in human.stdout
    assert "Reference: Ferreira, T. (n.d.)." in human.stdout
    plain = json.loads(invoke("ask", "heap", "--index", library_index, "--json").stdout)
    cited = json.loads(
        invoke("ask", "heap", "--index", library_index, "--json", "--cite", "mla").stdout
    )
    for before, after in zip(plain, cited, strict=True):
        assert {k: v for k, v in after.items() if k != "citation"} == before
        assert after["citation"]["style"] == "modern-language-association"
        assert after["citation"]["in_text"].startswith("(")


def test_cli_export_ris_to_file(library_index: Path, tmp_path: Path) -> None:
    out = tmp_path / "hits.ris"
    result = invoke(
        "export", "compost", "--format", "ris", "-o", out, "--top", "3", "--index", library_index
    )
    assert result.exit_code == 0, result.output
    hits = json.loads(
        invoke("ask", "compost", "--json", "--top", "3", "--index", library_index).stdout
    )
    episodes = len({h["episode_id"] for h in hits})
    assert result.stdout == ""
    assert f"Wrote {episodes} reference(s) for 3 hit(s)" in result.stderr
    records = rispy.loads(out.read_text(encoding="utf-8"))
    # One record per episode, one N1 note per hit.
    assert len(records) == episodes and all(r["type_of_reference"] == "SOUND" for r in records)
    assert sum(len(r["notes"]) for r in records) == 3
    stdout = invoke("export", "compost", "-f", "csl-json", "--index", library_index, "-k", "2")
    jsonschema.validate(json.loads(stdout.stdout), SCHEMA)


def test_cli_errors_are_one_line(library_index: Path) -> None:
    hit = _top_hit(library_index)
    bad_style = invoke("cite", hit["passage_id"], "--style", "apx", "--index", library_index)
    assert bad_style.exit_code == 1
    assert len(bad_style.stderr.strip().splitlines()) == 1
    assert "apa, mla, chicago" in bad_style.stderr and "Traceback" not in bad_style.output
    bad_fmt = invoke("export", "compost", "--format", "docx", "--index", library_index)
    assert bad_fmt.exit_code == 1 and "bibtex, biblatex, ris" in bad_fmt.stderr
    ask_bad = invoke("ask", "compost", "--index", library_index, "--cite", "nope")
    assert ask_bad.exit_code == 1 and "unknown citation style" in ask_bad.stderr
    missing = invoke("cite", "abcdef1234", "--index", library_index)
    assert missing.exit_code == 1 and "ids are shown with every hit" in missing.stderr
    both = runner.invoke(app, ["cite", "x", "--style", "apa", "--format", "ris"])
    assert both.exit_code == 2


# One reference per episode


def _five_quotes() -> list[Citable]:
    """Five hits of one episode (two speakers, one time approximate), then another episode."""
    times = [(461.0, 478.5), (600.0, 630.0), (700.0, 720.0), (900.0, 915.0), (1000.0, 1010.0)]
    quotes = [
        replace(FULL, passage_id=f"p{i}", quote=f"Quote {i}.", start=s, end=e)
        for i, (s, e) in enumerate(times)
    ]
    quotes[2] = replace(quotes[2], speaker="Theo Jaffee")
    quotes[3] = replace(quotes[3], time_precision="interpolated")
    return [*quotes, HOSTED]


NOTE = (
    "Quoted from Clément Delangue at 7:41, 10:00, about 15:00 and 16:40; from Theo Jaffee at 11:40"
)


def test_bibtex_writes_one_entry_per_episode_with_every_time() -> None:
    lib = bibtexparser.parse_string(export(_five_quotes(), "bibtex"))
    assert not lib.failed_blocks
    assert [e.key for e in lib.entries] == ["delangue2026hugging", "jaffee2026hugging"]
    entry = lib.entries[0]
    assert entry["note"] == NOTE
    # Quotes are listed in the order they were said, whatever order the hits came in.
    shuffled = bibtexparser.parse_string(export(_five_quotes()[::-1], "bibtex"))
    assert shuffled.entries[1]["note"] == NOTE
    assert entry["annote"] == " [...] ".join(f"Quote {i}." for i in range(5))
    # Without hosts, the people quoted are the authors, in the order quoted.
    assert entry["author"] == "Delangue, Clément and Jaffee, Theo"
    biblatex = bibtexparser.parse_string(export(_five_quotes(), "biblatex"))
    assert len(biblatex.entries) == 2 and biblatex.entries[0]["addendum"] == NOTE


def test_ris_and_csl_json_write_one_record_per_episode() -> None:
    records = rispy.loads(export(_five_quotes(), "ris"))
    assert len(records) == 2
    assert [n.split(": “")[0] for n in records[0]["notes"]] == [
        "Quoted from Clément Delangue at 7:41",
        "Quoted from Clément Delangue at 10:00",
        "Quoted from Theo Jaffee at 11:40",
        "Quoted from Clément Delangue at about 15:00",
        "Quoted from Clément Delangue at 16:40",
    ]
    items = json.loads(export(_five_quotes(), "csl-json"))
    jsonschema.validate(items, SCHEMA)
    assert len(items) == 2 and items[0]["note"] == NOTE
    assert [q["passage_id"] for q in items[0]["custom"]["quotes"]] == [f"p{i}" for i in range(5)]


def test_quote_formats_keep_one_quote_per_hit_under_the_episode_key() -> None:
    records = json.loads(export(_five_quotes(), "json"))
    assert len(records) == 6
    assert {r["key"] for r in records[:5]} == {"delangue2026hugging"}
    assert records[5]["key"] == "jaffee2026hugging"
    assert export(_five_quotes(), "markdown").count("> —") == 6


def test_touching_quotes_of_one_speaker_become_one() -> None:
    """The passages of one merged hit: one ends where the next starts."""
    a = replace(FULL, passage_id="a", quote="First part.", start=10.0, end=20.0)
    b = replace(FULL, passage_id="b", quote="Second part.", start=20.0, end=31.0)
    c = replace(FULL, passage_id="c", quote="Later.", start=40.0, end=45.0)
    lib = bibtexparser.parse_string(export([a, b, c], "bibtex"))
    assert lib.entries[0]["note"] == "Quoted from Clément Delangue at 0:10 and 0:40"
    assert lib.entries[0]["annote"] == "First part. Second part. [...] Later."
    records = json.loads(export([a, b, c], "json"))
    assert [(r["quote"], r["start"], r["end"]) for r in records] == [
        ("First part. Second part.", 10.0, 31.0),
        ("Later.", 40.0, 45.0),
    ]
    # Another speaker, or a gap, is not joined.
    other = replace(b, speaker="Theo Jaffee")
    assert len(json.loads(export([a, other], "json"))) == 2


def test_cli_export_of_five_hits_in_one_episode_writes_one_entry(library_index: Path) -> None:
    """Issue 13: a query hitting one episode five times gave five copies of it in a .bib."""
    args = ("compost heap", "--episode", "gardening", "--top", "5", "--index", library_index)
    hits = json.loads(invoke("ask", *args, "--json").stdout)
    assert len(hits) == 5 and len({h["episode_id"] for h in hits}) == 1
    result = invoke("export", *args, "--format", "bibtex")
    assert result.exit_code == 0, result.output
    lib = bibtexparser.parse_string(result.stdout)
    assert not lib.failed_blocks and len(lib.entries) == 1
    note = lib.entries[0]["note"]
    # Every hit's time is in the note (grouped by speaker: "Quoted from A at ...; from B at").
    stamps = [f"{int(h['start']) // 60}:{int(h['start']) % 60:02d}" for h in hits]
    assert all(s in note for s in stamps), note
    assert note.startswith("Quoted from ") and note.count("; from ") == 1
