"""episodes: what happens to an Episode between reading and indexing. Merging the sources of
one episode (``merging``, with word ``alignment``) and cutting turns into passages
(``chunking``).

May import ``core`` and ``speakers``.
"""
