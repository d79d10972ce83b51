"""ingest: turning sources into Episodes. Transcript readers (``readers/``: one module per
format and the registry that detects them), podcast feeds, downloads, files on disk (what
is skipped as not a transcript) and metadata for local files (``metadata``).

May import ``core`` only. Nothing here knows about indexes, embeddings or queries.
"""
