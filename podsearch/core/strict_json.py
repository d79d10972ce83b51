"""Strict JSON for everything a user or a program reads: no ``NaN`` or ``Infinity``, which
the JSON standard does not have and most parsers refuse. Non-finite floats become null."""

from __future__ import annotations

import json
import math
from typing import Any


def finite(value: Any) -> Any:
    """``value`` with every non-finite float (at any depth) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def dumps(value: Any, **options: Any) -> str:
    """``json.dumps`` that never writes NaN or Infinity (``allow_nan=False`` after
    ``finite``); other options pass through."""
    return json.dumps(finite(value), allow_nan=False, **options)
