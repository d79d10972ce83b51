"""episodes: what happens to an Episode between reading and indexing. Finding the sources of
one episode (``detection``), merging them (``merging``, with word ``alignment``), cutting turns
into passages (``chunking``) and marking a show's repeated text (``boilerplate``).

May import ``core`` and ``speakers``.
"""
