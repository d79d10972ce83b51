"""cli: the ``podsearch`` command. Parses options (``options``: shared declarations), calls
the public API (``podsearch.api.Library``) and renders what it returns (``render``,
``output``: data to stdout, notes to stderr). One module per command group; ``app`` registers
them; ``entry`` is the console script.

May import everything below it (``api``, ``serve`` and the layers under them). Nothing
imports ``cli``.
"""
