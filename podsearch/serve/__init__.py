"""serve: podsearch over HTTP on 127.0.0.1 (``http``: the server of ``podsearch serve``;
``client``: what ``ask --server`` sends it).

May import the public API (``podsearch.api``) and the query types below it; never ``cli``.
"""
