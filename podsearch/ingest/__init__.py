"""ingest: turning sources into Episodes. Transcript readers (``readers/``: one module per
format and the registry that detects them), audio transcription (``audio``, optional),
transcript writers, podcast feeds, downloads and files on disk.

May import ``core`` only. Nothing here knows about indexes, embeddings or queries.
"""
