"""query: answering questions. The typed request and result (``types``), question parsing
(``parse``), filters and their checks (``filters``, ``validate``), ranking and fusion
(``rank``), hits shaped from passages (``hits``), context around hits, the ask use case
(``service``) and what a library holds (``catalog``).

May import ``cite``, ``store``, ``embed``, ``speakers``, ``ingest`` and ``core``; never
``pipeline``. A cold ``ask`` imports neither torch, pyarrow, faiss nor rich.
"""
