"""speakers: who is speaking. Anonymous labels (``labels``), canonical names and ASR variants
(``names``), the user's renames and aliases (``book``), names in questions (``questions``)
and host/guest roles (``roles``).

May import ``core`` only.
"""
