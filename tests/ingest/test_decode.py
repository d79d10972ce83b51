"""How transcript bytes become text: byte-order marks, declared charsets, strict UTF-8, a few
bad bytes, legacy encodings guessed with a warning (issue 19 defect 6, issue 14 item 3)."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from podsearch.core.errors import ReaderError
from podsearch.ingest.readers import read_file

SRT = (
    "1\n00:00:01,000 --> 00:00:02,500\nJosé: ¿Qué tal? Ça va très bien, naïve café.\n\n"
    "2\n00:00:03,000 --> 00:00:04,000\nMaría: Sí, señor.\n\n"
    "3\n00:00:05,000 --> 00:00:06,000\nJosé: Adiós.\n"
)


def turns(path: Path) -> list[tuple[str | None, float | None, str]]:
    return [(t.speaker, t.start, t.text) for t in read_file(path).episode.turns]


EXPECTED = [
    ("José", 1.0, "¿Qué tal? Ça va très bien, naïve café."),
    ("María", 3.0, "Sí, señor."),
    ("José", 5.0, "Adiós."),
]


@pytest.mark.parametrize(
    "data",
    [
        codecs.BOM_UTF8 + SRT.encode("utf-8"),
        SRT.encode("utf-8"),
        codecs.BOM_UTF16_LE + SRT.encode("utf-16-le"),
        codecs.BOM_UTF16_BE + SRT.encode("utf-16-be"),
        codecs.BOM_UTF32_LE + SRT.encode("utf-32-le"),
        codecs.BOM_UTF32_BE + SRT.encode("utf-32-be"),
    ],
    ids=["utf8-bom", "utf8", "utf16le", "utf16be", "utf32le", "utf32be"],
)
def test_unicode_encodings_are_read_without_warnings(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "subs.srt"
    path.write_bytes(data)
    result = read_file(path)
    assert result.format == "srt"
    assert turns(path) == EXPECTED
    assert result.warnings == []


def test_windows_1252_is_guessed_and_the_guess_reported(tmp_path: Path) -> None:
    path = tmp_path / "subs.srt"
    path.write_bytes(SRT.replace("¿", "").replace("¡", "").encode("cp1252"))
    result = read_file(path)
    assert result.episode.turns[1].text == "Sí, señor."
    assert any("not UTF-8: read as" in w and "charset-normalizer" in w for w in result.warnings)


def test_a_stray_byte_in_utf8_is_replaced_with_a_warning_naming_the_count(tmp_path: Path) -> None:
    path = tmp_path / "subs.srt"
    path.write_bytes(SRT.encode("utf-8").replace(b"Adi", b"Ad\xe9i"))
    result = read_file(path)
    assert result.episode.turns[0].text == EXPECTED[0][2]  # the valid UTF-8 stays as it is
    assert result.episode.turns[2].text == "Ad\ufffdiós."
    assert result.warnings == [
        "1 byte(s) that are not valid UTF-8 (first at offset 180) replaced with U+FFFD"
    ]


def test_declared_charsets_of_xml_and_html_are_honoured(tmp_path: Path) -> None:
    ttml = tmp_path / "t.ttml"
    ttml.write_bytes(
        b'<?xml version="1.0" encoding="ISO-8859-1"?>\n<tt xmlns="http://www.w3.org/ns/ttml">'
        b'<body><div><p begin="1s" end="2s">Caf\xe9 cr\xe8me br\xfbl\xe9e</p></div></body></tt>'
    )
    assert turns(ttml) == [(None, 1.0, "Café crème brûlée")]
    assert read_file(ttml).warnings == []
    html = tmp_path / "t.html"
    html.write_bytes(
        b'<html><head><meta charset="windows-1252"></head><body><cite>Jos\xe9:</cite>'
        b"<time>0:01</time><p>Caf\x80 \x93quoted\x94</p></body></html>"
    )
    assert turns(html) == [("José", 1.0, "Caf€ “quoted”")]


def test_a_broken_utf16_file_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "subs.srt"
    path.write_bytes(codecs.BOM_UTF16_LE + SRT.encode("utf-16-le")[:-1])
    with pytest.raises(ReaderError, match="UTF-16 byte-order mark but is not valid UTF-16"):
        read_file(path)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("captions.json3", b'{"wireMagic": "pb3", "events": [{"tStartMs": 0, "dDur'),
        ("captions.txt", b'{"events": [{"tStartMs": 0, "segs": [{"utf8": "hello'),
        ("segments.dat", b'[{"start": 0.5, "end": 1.2, "text": "hel'),
    ],
)
def test_json_that_fails_to_parse_is_never_text(name: str, data: bytes, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ReaderError, match="invalid JSON at line 1"):
        read_file(path)


def test_a_declaration_that_lies_does_not_garble_utf8(tmp_path: Path) -> None:
    body = '<body><div><p begin="1s" end="2s">Café crème</p></div></body></tt>'
    warned = {}
    for declared in ("ISO-8859-1", "UTF-16"):
        path = tmp_path / f"{declared}.ttml"
        xml = f'<?xml version="1.0" encoding="{declared}"?>\n<tt xmlns="http://www.w3.org/ns/ttml">'
        path.write_bytes((xml + body).encode("utf-8"))
        result = read_file(path)
        assert result.episode.turns[0].text == "Café crème"
        warned[declared] = result.warnings
    assert warned == {
        "ISO-8859-1": ["declares the charset iso8859-1 but is UTF-8: read as UTF-8"],
        "UTF-16": [],  # a UTF-16 declaration without a byte-order mark is ignored
    }
