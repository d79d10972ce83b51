"""The ask use case: one request in, one typed result out. The CLI, the HTTP server and the
Python API all answer questions through ``ask``."""

from __future__ import annotations

from ..embed.base import Embedder
from ..store.index import Index
from .context import attach_context, order_by_episode
from .rank import search
from .types import AskRequest, AskResult


def ask(index: Index, request: AskRequest, *, embedder: Embedder | None = None) -> AskResult:
    """Answer ``request`` from ``index``: rank, add context, group, cite.

    ``embedder``: the query embedder to use (a server keeps one loaded); by default the
    index's model, loaded once per process. Raises InvalidRequestError for a bad request,
    CitationError for an unknown style, ModelMismatchError for another model."""
    request = request.validated()
    if request.cite:
        from ..cite.styles import resolve_style

        resolve_style(request.cite)  # before searching: a bad style is the user's to fix
    result = search(
        index,
        request.question,
        top=request.top,
        filters=request.filters,
        embedder=embedder,
        model=request.model,
        mode=request.mode,
        rerank=request.rerank,
    )
    attach_context(index, result.hits, request.context)
    result.group = request.group
    if request.group:
        result.hits = order_by_episode(result.hits)
    if request.cite and result.hits:
        from ..cite.items import citables_from_index
        from ..cite.styles import render_style

        citables = citables_from_index(index, [h.passage_id for h in result.hits])
        for hit, styled in zip(result.hits, render_style(citables, request.cite), strict=True):
            hit.citation = styled.as_json()
    return result
