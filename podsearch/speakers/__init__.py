"""speakers: who is speaking. Anonymous labels (``labels``), canonical names and ASR variants
(``names``), the user's renames and aliases (``book``), names in questions (``questions``)
host/guest roles (``roles``) and unnamed labels scoped to their episode (``scope``).

May import ``core`` only.
"""
