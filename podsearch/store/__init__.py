"""store: the index directory. Its layout, manifest and writer lock (``layout``), the Parquet
schemas (``tables``), writing a generation and swapping it in (``writer``), reading one
(``index.Index``), the vector-index seam (``vectors/``), the tantivy lexical index
(``lexical``), the query path's light copy of the tables (``lookup``), each episode's mean
vector (``episode_means``) and which library a command works on when not told (``location``).

May import ``core`` only. Knows nothing of readers, embedders or questions.
"""
