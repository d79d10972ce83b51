"""cite: citations of passages. What a quote needs to be cited (``items``), rendering through
CSL styles (``styles``, citeproc-py) and file formats: BibTeX, BibLaTeX, RIS, CSL-JSON,
Markdown, JSON, CSV (``formats``).

May import ``store``, ``speakers`` and ``core``.
"""
