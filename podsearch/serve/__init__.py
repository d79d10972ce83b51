"""serve: podsearch over HTTP and MCP. ``server`` runs the app (``app``: the JSON API in
``api_routes``, the page in ``web``, ``ask --server``'s endpoints) on uvicorn; ``client`` is
what ``ask --server`` sends; ``mcp`` is the MCP server over stdio.

May import the public API (``podsearch.api``) and the layers below it; never ``cli``.
fastapi, uvicorn and mcp are imported only by these modules, never on ``ask``'s path.
"""
