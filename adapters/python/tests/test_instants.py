"""Instants, offsets and terms (arrears_kit.instants)."""

from datetime import datetime, timezone

import pytest

from arrears_kit import DAY, format_instant, offset_seconds, parse_instant, term_end

JAN_1 = 1767225600  # 2026-01-01T00:00:00Z


def test_instants_round_trip_through_rfc_3339():
    assert parse_instant("2026-01-01T00:00:00Z") == JAN_1
    assert parse_instant("2026-01-01T01:00:00+01:00") == JAN_1
    assert format_instant(JAN_1 + DAY) == "2026-01-02T00:00:00Z"
    assert format_instant(datetime(2026, 1, 1, tzinfo=timezone.utc)) == "2026-01-01T00:00:00Z"
    assert format_instant(None) is None


@pytest.mark.parametrize("bad", ["yesterday", "2026-01-01T00:00:00", 12])
def test_a_bad_instant_is_a_value_error_naming_it(bad):
    with pytest.raises(ValueError, match="instant|time zone"):
        parse_instant(bad)


def test_naive_datetimes_and_booleans_are_not_instants():
    with pytest.raises(ValueError, match="time zone"):
        format_instant(datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        format_instant(True)


@pytest.mark.parametrize("text,seconds", [
    ("+1d", DAY), ("-2d", -2 * DAY), ("1d12h", DAY + 12 * 3600), ("30s", 30), ("+0s", 0),
    ("1h30m", 5400),
])
def test_offsets(text, seconds):
    assert offset_seconds(text) == seconds


@pytest.mark.parametrize("bad", ["", "+", "1w", "d", "1.5d"])
def test_a_bad_offset_is_a_value_error(bad):
    with pytest.raises(ValueError, match="not a duration"):
        offset_seconds(bad)


def test_terms_are_fixed_lengths_or_calendar_months_clamped_to_the_month_end():
    assert term_end(JAN_1, "30d") == JAN_1 + 30 * DAY
    assert format_instant(term_end(JAN_1, "1mo")) == "2026-02-01T00:00:00Z"
    jan_31 = parse_instant("2026-01-31T00:00:00Z")
    assert format_instant(term_end(jan_31, "1mo")) == "2026-02-28T00:00:00Z"
    assert format_instant(term_end(jan_31, "1y1mo")) == "2027-02-28T00:00:00Z"
    assert format_instant(term_end(parse_instant("2027-01-31T00:00:00Z"), "1y1mo")) \
        == "2028-02-29T00:00:00Z"


def test_a_term_past_the_calendar_is_a_value_error():
    with pytest.raises(ValueError, match="past the calendar"):
        term_end(JAN_1, "9999y")
