"""XML helpers shared by the TTML reader and the feed reader: safe parsing, namespaced names.

Parsing goes through ``defusedxml`` (expat underneath): documents declaring entities or
naming external ones are refused whatever their encoding (a UTF-16 document cannot slip an
"XML bomb" past a byte-level check), and elements nested deeper than ``MAX_DEPTH`` are
refused while parsing, before anything recursive walks the tree. HTML named entities such as
``&nbsp;``, which real feeds often contain although XML does not define them, are converted
to numeric character references and the parse is retried.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from html.entities import name2codepoint

MAX_DEPTH = 256  # real TTML and feeds nest fewer than 20 levels

_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
_NAMED_REF = re.compile(rb"&([A-Za-z][A-Za-z0-9]{1,31});")
_XML_NAMED = {b"amp", b"lt", b"gt", b"quot", b"apos"}


def _numeric_refs(data: bytes) -> bytes:
    def repl(m: re.Match[bytes]) -> bytes:
        name = m.group(1)
        cp = name2codepoint.get(name.decode("ascii"))
        if name in _XML_NAMED or cp is None:
            return m.group(0)
        return b"&#%d;" % cp

    return _NAMED_REF.sub(repl, data)


def parse_xml(data: bytes | str) -> ET.Element:
    """The root element, or ValueError saying where and why the XML is broken."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if isinstance(data, str):
        # The text is decoded already: drop an encoding declaration that no longer holds.
        raw = re.sub(rb"\A(\s*<\?xml[^>]*?)\s+encoding=[\"'][^\"']*[\"']", rb"\1", raw)
    if _ENTITY_DECL.search(raw):
        raise ValueError("the XML declares entities, which are refused (possible XML bomb)")
    try:
        return _parse(raw)
    except ET.ParseError as e:
        if str(e).startswith("undefined entity"):
            try:
                return _parse(_numeric_refs(raw))
            except ET.ParseError as e2:
                e = e2
        line, col = e.position
        reason = str(e).split(":")[0]
        raise ValueError(f"not well-formed XML at line {line} column {col + 1}: {reason}") from None


def _parse(raw: bytes) -> ET.Element:
    """The root element, parsed by defusedxml with the nesting depth checked as it grows."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import iterparse

    depth = 0
    root: ET.Element | None = None
    try:
        for event, el in iterparse(io.BytesIO(raw), events=("start", "end")):
            if event == "end":
                depth -= 1
                continue
            depth += 1
            if root is None:
                root = el
            if depth > MAX_DEPTH:
                raise ValueError(f"the XML nests elements more than {MAX_DEPTH} deep")
    except DefusedXmlException as e:
        raise ValueError(f"the XML is refused ({type(e).__name__}: possible XML bomb)") from None
    if root is None:
        raise ValueError("no XML element found")
    return root


def local_name(tag: object) -> str:
    """The tag or attribute name without its "{namespace}" part."""
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def namespace(tag: object) -> str:
    """The namespace URI of a tag or attribute name; "" when it has none."""
    return tag[1:].partition("}")[0] if isinstance(tag, str) and tag.startswith("{") else ""


def attr(el: ET.Element, name: str) -> str | None:
    """The value of the attribute with this local name, in whatever namespace."""
    for key, value in el.attrib.items():
        if local_name(key) == name:
            return value
    return None
