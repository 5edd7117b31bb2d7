//! Durations as people write them in specs and histories: `15d`, `24h`,
//! `1d12h`, `90m`, `30s`.
//!
//! Only whole days, hours, minutes and seconds exist in the documents we
//! encode, so the format is deliberately that small: no fractions, no months
//! (a month has no fixed length), no weeks. The canonical form printed back
//! uses the largest units first (`36h` prints as `1d12h`).

use chrono::TimeDelta;

/// The length of one unit in seconds, per unit letter.
const UNITS: [(char, i64); 4] = [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)];

/// A duration text that is not of the form `<n>d<n>h<n>m<n>s`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration `{text}`: {reason}")]
pub struct DurationError {
    pub text: String,
    pub reason: &'static str,
}

/// Parses `text` into a non-negative duration.
pub fn parse(text: &str) -> Result<TimeDelta, DurationError> {
    let err = |reason| DurationError {
        text: text.to_string(),
        reason,
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(err(
            "expected a number followed by d, h, m or s (for example 15d)",
        ));
    }
    let mut total: i64 = 0;
    let mut digits = String::new();
    let mut last_unit_rank: Option<usize> = None;
    for ch in trimmed.chars() {
        if ch.is_ascii_digit() {
            digits.push(ch);
            continue;
        }
        let Some(rank) = UNITS.iter().position(|(unit, _)| *unit == ch) else {
            return Err(err("only the units d, h, m and s are allowed"));
        };
        if digits.is_empty() {
            return Err(err("a unit must follow a number"));
        }
        if last_unit_rank.is_some_and(|last| rank <= last) {
            return Err(err(
                "units must appear once each, largest first (d, h, m, s)",
            ));
        }
        last_unit_rank = Some(rank);
        let amount: i64 = digits.parse().map_err(|_| err("number too large"))?;
        digits.clear();
        total = amount
            .checked_mul(UNITS[rank].1)
            .and_then(|secs| total.checked_add(secs))
            .ok_or_else(|| err("number too large"))?;
    }
    if !digits.is_empty() {
        return Err(err("a number must be followed by a unit (d, h, m or s)"));
    }
    // Ten thousand years is far beyond any billing history and keeps every
    // later addition to a timestamp inside chrono's range.
    if total > 10_000 * 366 * 86_400 {
        return Err(err("number too large"));
    }
    Ok(TimeDelta::seconds(total))
}

/// Formats a duration in the canonical form that [`parse`] reads back.
pub fn format(duration: TimeDelta) -> String {
    let mut secs = duration.num_seconds();
    if secs == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    if secs < 0 {
        out.push('-');
        secs = -secs;
    }
    for (unit, len) in UNITS {
        if secs >= len {
            out.push_str(&(secs / len).to_string());
            out.push(unit);
            secs %= len;
        }
    }
    out
}

/// Writes a `TimeDelta` field as duration text (`serialize_with`).
pub fn serialize_text<S: serde::Serializer>(
    value: &chrono::TimeDelta,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format(*value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_the_units_of_the_documents() {
        assert_eq!(parse("15d").unwrap(), TimeDelta::days(15));
        assert_eq!(parse("24h").unwrap(), TimeDelta::hours(24));
        assert_eq!(parse("1d12h").unwrap(), TimeDelta::hours(36));
        assert_eq!(parse("0s").unwrap(), TimeDelta::zero());
    }

    #[test]
    fn rejects_what_it_cannot_read_exactly() {
        for bad in [
            "",
            "15",
            "d",
            "1.5d",
            "1h1d",
            "1d1d",
            "3w",
            "-1d",
            "99999999999999999999d",
        ] {
            assert!(parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    proptest! {
        #![proptest_config(crate::testing::proptest_config(256))]

        #[test]
        fn format_reads_back(secs in 0i64..(400 * 86_400)) {
            let d = TimeDelta::seconds(secs);
            prop_assert_eq!(parse(&format(d)).unwrap(), d);
        }

        #[test]
        fn never_panics(text in ".{0,24}") {
            let _ = parse(&text);
        }
    }
}
