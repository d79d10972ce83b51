"""Bytes of a transcript file → text, in the order the issue tracker agreed on: a byte-order
mark (UTF-8/16/32), a charset declared by HTML or XML, strict UTF-8, UTF-8 with a few bad
bytes (replaced, with a warning naming the count), then a charset detector
(``charset-normalizer``) for legacy encodings, its guess reported as a warning."""

from __future__ import annotations

import codecs
import re
import unicodedata
from pathlib import Path

from ...core.errors import ReaderError
from ._warnings import warn

# UTF-32 LE's mark starts with UTF-16 LE's: the longer marks are tried first.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
)
_XML_DECL = re.compile(rb"\A\s*<\?xml[^>]*?\sencoding\s*=\s*[\"']([A-Za-z0-9._:-]{1,40})[\"']")
_META_CHARSET = re.compile(rb"<meta\b[^>]*?\bcharset\s*=\s*[\"']?([A-Za-z0-9._:-]{1,40})", re.I)
_BAD = re.compile("[\udc80-\udcff]")
_NON_ASCII = re.compile("[^\x00-\x7f\udc80-\udcff]")
# "A few bad bytes in otherwise valid UTF-8": at most this many, and fewer than the valid
# non-ASCII characters around them (a legacy-encoded file has no valid ones at all).
_FEW_BAD = 16


def _declared(data: bytes) -> str | None:
    """The codec an XML declaration or an HTML <meta charset> names, if Python knows it."""
    head = data[:2048]
    m = _XML_DECL.match(head) or _META_CHARSET.search(head)
    if not m:
        return None
    try:
        name = codecs.lookup(m.group(1).decode("ascii")).name
    except LookupError:
        return None
    # UTF-16/32 without a byte-order mark would have NUL bytes (refused as binary before this
    # is asked): a file that gets here declaring them is lying, and decoding would garble it.
    return None if name.startswith(("utf-16", "utf-32")) else name


def decode_bytes(data: bytes, path: Path) -> str:
    """The text of a transcript file's bytes, or a ReaderError saying what to do."""
    for bom, codec, label in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec).lstrip("\ufeff")
            except UnicodeDecodeError as e:
                raise ReaderError(
                    path,
                    f"starts with a {label} byte-order mark but is not valid {label} "
                    f"(bad bytes at offset {e.start}): save it again as UTF-8",
                ) from None
    if b"\x00" in data[:8192]:
        raise ReaderError(path, "file is binary, not a text transcript")
    declared = _declared(data)
    if declared and declared != "utf-8":
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            # Valid UTF-8 with accents is UTF-8 whatever the declaration says (an editor saved
            # it so); read as Latin-1 it would be mojibake, which no error would reveal.
            if not text.isascii():
                warn(f"declares the charset {declared} but is UTF-8: read as UTF-8")
            return text
        try:
            return data.decode(declared)
        except UnicodeDecodeError:
            warn(f"declares the charset {declared} but is not valid {declared}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        first_bad = e.start
    text = data.decode("utf-8", errors="surrogateescape")
    bad = len(_BAD.findall(text))
    if bad <= _FEW_BAD and bad < len(_NON_ASCII.findall(text)):
        warn(
            f"{bad} byte(s) that are not valid UTF-8 (first at offset {first_bad}) "
            "replaced with U+FFFD"
        )
        return _BAD.sub("\ufffd", text)
    return _guess(data, path, first_bad)


# UTF-8 was tried already; EBCDIC is what a detector answers for random bytes, not a transcript.
_EBCDIC = {"cp037", "cp273", "cp500", "cp875", "cp1026", "cp1140"}
_NOT_A_GUESS = {"utf_8", "utf_8_sig", "ascii"} | _EBCDIC


def _garbled(text: str) -> bool:
    """True when under 90% of a sample are letters, digits, spaces or punctuation: what a
    wrong guess for random bytes looks like (box drawing, symbols, control characters)."""
    sample = text[:20000]
    ok = sum(1 for c in sample if c in "\n\t" or unicodedata.category(c)[0] in "LNZP")
    return ok < 0.9 * len(sample)


def _guess(data: bytes, path: Path, first_bad: int) -> str:
    # Imported here: only files that are not UTF-8 need a detector.
    from charset_normalizer import from_bytes

    matches = from_bytes(data)
    best = matches.best()
    # Short Western texts tie between the Latin code pages (é, ñ are the same bytes in several,
    # and the detector's language coherence is noise on a few accented words); Windows-1252 is
    # by far the most common for subtitles, so it wins a tie on chaos.
    if best is not None and best.encoding != "cp1252":
        tie = (m for m in matches if m.chaos <= best.chaos and "cp1252" in m.could_be_from_charset)
        if next(tie, None) is not None:
            try:
                text = data.decode("cp1252")
            except UnicodeDecodeError:
                pass  # a byte cp1252 leaves undefined (0x81, 0x8d, ...): keep the detector's
            else:
                warn("not UTF-8: read as cp1252 (guessed by charset-normalizer)")
                return text
    if best is None or best.encoding in _NOT_A_GUESS or _garbled(str(best)):
        raise ReaderError(
            path,
            f"not valid UTF-8 text (bad byte at offset {first_bad}) and no other encoding "
            "fits: save it as UTF-8",
        )
    warn(f"not UTF-8: read as {best.encoding} (guessed by charset-normalizer)")
    return str(best)
