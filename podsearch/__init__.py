"""podsearch: semantic search over podcast transcripts, as speaker-attributed, timed quotes."""

__version__ = "0.1.0"
