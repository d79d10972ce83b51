"""core: the data model (Episode, Turn, Cue, Passage, Person), the errors every layer raises,
small text helpers and the version.

Owns no I/O. Imports nothing from podsearch: every other layer may import it.
"""
