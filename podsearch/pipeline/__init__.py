"""pipeline: building and updating an index. Adding sources (``build``, reading each with
``sources``, merging the sources of one episode with ``merge``), writing a generation
(``commit``), rebuild, remove, speaker renames and episode edits (``manage``, ``edits``),
the rows written (``rows``), the caches kept beside an index (``sketches``,
``checkpoints``) and the report every write returns (``report``).

May import ``store``, ``embed``, ``episodes``, ``speakers``, ``ingest`` and ``core``; never
``query``: values a question needs (speaker names and roles) are computed here and stored.
"""
