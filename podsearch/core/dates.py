"""Dates as people and feeds write them, made ISO (YYYY-MM-DD). Readers, metadata files and
the date filters of a question all read dates here, so they accept the same forms."""

from __future__ import annotations

import re
from datetime import date, datetime
from email.utils import parsedate_to_datetime

_DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%d.%m.%Y",
    "%B %d, %Y",
    "%b %d, %Y",
    "%B %d %Y",
    "%b %d %Y",
    "%d %B %Y",
    "%d %b %Y",
    "%d %B, %Y",
    "%d %b, %Y",
    "%A, %B %d, %Y",
    "%a, %b %d, %Y",
    "%A, %d %B %Y",
    "%a, %d %b %Y",
    "%Y%m%d",
)

# What the error of a bad date filter lists.
ACCEPTED_FORMS = (
    "YYYY-MM-DD, YYYY-MM or YYYY (e.g. 2017-01-16), 16 Jan 2017, January 16, 2017, "
    "2017/01/16, or an RSS date (Tue, 16 Jan 2017 10:00:00 GMT)"
)


def normalize_date(value: object) -> str | None:
    """An ISO date (YYYY-MM-DD) from common date spellings, or None; never raises."""
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    if not isinstance(value, str) or not value.strip():
        return None
    s = " ".join(value.split())
    s = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", s).replace("Sept ", "Sep ")
    try:
        return datetime.fromisoformat(s.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        pass
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(s, fmt).date().isoformat()
        except ValueError:
            continue
    try:
        return parsedate_to_datetime(s).date().isoformat()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def bound_date(value: str, *, end: bool) -> str | None:
    """A filter bound as an ISO date: any ``normalize_date`` form, or a year ("2017") or a
    month ("2017-03"), which stand for their first day (``end=False``) or last (``end``)."""
    s = value.strip()
    m = re.fullmatch(r"(\d{4})(?:-(\d{1,2}))?", s)
    if m:
        year, month = int(m.group(1)), int(m.group(2) or (12 if end else 1))
        if not 1 <= month <= 12:
            return None
        if not end:
            return f"{year:04d}-{month:02d}-01"
        first_next = date(year + month // 12, month % 12 + 1, 1)
        return date.fromordinal(first_next.toordinal() - 1).isoformat()
    return normalize_date(s)
