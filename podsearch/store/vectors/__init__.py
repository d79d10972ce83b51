"""The vector-index seam: passage vectors searched by inner product (= cosine, as every
embedder normalises). ``base.VectorIndex`` is the interface; ``exact`` (numpy over a FAISS
flat file), ``hnsw`` and ``ivf`` (FAISS) implement it; ``factory`` picks one from the index
size, or the user's choice, and opens the one a manifest names.

The row-id rule, enforced by ``store.writer`` when a generation is written and checked by
``store.index.Index`` when it is opened: vector id i is row i of ``passages.parquet``, of the
lexical index (its ``row`` field) and of ``lookup/``. Nothing maps ids: the order is the map.
"""
