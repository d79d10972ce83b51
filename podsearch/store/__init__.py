"""store: the index directory. Its layout, manifest and writer lock (``layout``), the Parquet
schemas (``tables``), writing a generation and swapping it in (``writer``), reading one
(``index.Index``), the vector-index seam (``vectors/``), the tantivy lexical index
(``lexical``) and the query path's light copy of the tables (``lookup``).

May import ``core`` only. Knows nothing of readers, embedders or questions.
"""
