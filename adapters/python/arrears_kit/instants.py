"""Instants, offsets and terms as the adapter protocol writes them.

Instants on the wire are RFC 3339 strings in UTC (``2026-01-16T00:00:00Z``).
A history writes its events' instants as offsets from its start (``+1d``,
``-2d``, ``1d12h``) and subscription terms either as fixed lengths (``30d``)
or as calendar months (``1mo``, ``1y6mo``: the same day N months later,
clamped to the last day of a shorter month). The kit works in whole seconds
since the Unix epoch, the histories' grid; :func:`parse_instant` and
:func:`format_instant` convert at the edges.
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timezone
from typing import Optional, Union

DAY = 86_400
"""Seconds in a day."""

Instant = Union[int, datetime]
"""What a builder accepts as an instant: Unix seconds, or an aware datetime."""

_OFFSET = re.compile(r"([+-]?)(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_MONTHS = re.compile(r"(?:(\d+)y)?(?:(\d+)mo)?")


def parse_instant(text: str) -> int:
    """``2026-01-02T00:00:00Z`` -> Unix seconds. Raises ValueError."""
    if not isinstance(text, str):
        raise ValueError(f"an instant is an RFC 3339 string, not {text!r}")
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"`{text}` is not an RFC 3339 instant") from None
    if parsed.tzinfo is None:
        raise ValueError(f"`{text}` has no time zone; instants are in UTC (`Z`)")
    return int(parsed.timestamp())


def format_instant(t: Optional[Instant]) -> Optional[str]:
    """Unix seconds (or an aware datetime) -> ``2026-01-02T00:00:00Z``; None stays None."""
    if t is None:
        return None
    if isinstance(t, datetime):
        if t.tzinfo is None:
            raise ValueError(f"{t!r} has no time zone; give instants in UTC")
        t = int(t.timestamp())
    if isinstance(t, bool) or not isinstance(t, int):
        raise ValueError(f"an instant is Unix seconds or a datetime, not {t!r}")
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def offset_seconds(text: str) -> int:
    """A history offset or a fixed length -> seconds: ``+15d``, ``-2d``, ``1d12h``, ``30s``."""
    m = _OFFSET.fullmatch(text.strip()) if isinstance(text, str) else None
    if not m or not any(m.groups()[1:]):
        raise ValueError(f"`{text}` is not a duration such as `+1d`, `-2d` or `1d12h`")
    d, h, mi, s = (int(g or 0) for g in m.groups()[1:])
    return (-1 if m.group(1) == "-" else 1) * (d * DAY + h * 3600 + mi * 60 + s)


def term_end(start: int, term: str) -> int:
    """When a term that starts at ``start`` (Unix seconds) ends.

    ``30d`` is a fixed length; ``1mo``, ``1y``, ``1y6mo`` are calendar months: the
    same day of the month that many months later, clamped to the last day of a
    shorter month. Raises ValueError for a term that is neither, or that ends past
    the calendar.
    """
    m = _MONTHS.fullmatch(term.strip()) if isinstance(term, str) else None
    if not (m and any(m.groups())):
        return start + offset_seconds(term)
    months = int(m.group(1) or 0) * 12 + int(m.group(2) or 0)
    t = datetime.fromtimestamp(start, timezone.utc)
    years, month0 = divmod(t.month - 1 + months, 12)
    year, month = t.year + years, month0 + 1
    try:
        day = min(t.day, calendar.monthrange(year, month)[1])
        return int(t.replace(year=year, month=month, day=day).timestamp())
    except (ValueError, OverflowError):
        raise ValueError(f"the term `{term}` ends past the calendar") from None
