//! The times a history is written in: an instant as an offset from the
//! history's start ([`Offset`]), a length of time ([`Span`]) and a
//! subscription's term ([`Term`]), each read and written as text such as
//! `+15d`, `1d12h` or `1y6mo`, with its JSON Schema.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An instant written as an offset from the history's start: `+15d`,
/// `+1d12h`, `-30d` (before the start, for resources bought earlier).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Offset(pub TimeDelta);

impl Offset {
    pub fn from_start(duration: TimeDelta) -> Offset {
        Offset(duration)
    }

    pub fn at(self, start: DateTime<Utc>) -> DateTime<Utc> {
        start + self.0
    }

    pub fn between(start: DateTime<Utc>, at: DateTime<Utc>) -> Offset {
        Offset(at - start)
    }
}

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 < TimeDelta::zero() {
            write!(f, "-{}", crate::duration::format(-self.0))
        } else {
            write!(f, "+{}", crate::duration::format(self.0))
        }
    }
}

impl std::str::FromStr for Offset {
    type Err = String;

    fn from_str(text: &str) -> Result<Offset, String> {
        let text = text.trim();
        let (sign, rest) = match text.as_bytes().first() {
            Some(b'+') => (1, &text[1..]),
            Some(b'-') => (-1, &text[1..]),
            _ => (1, text),
        };
        crate::duration::parse(rest)
            .map(|d| Offset(d * sign))
            .map_err(|e| {
                format!("{e} (an instant is written as an offset from the start, like +15d)")
            })
    }
}

impl Serialize for Offset {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Offset {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Offset, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Offset {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Offset".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[+-]?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?$",
            "description": "An instant as an offset from the history's start, such as +15d or +14d23h; negative for instants before the start."
        })
    }
}

/// A length of time written like `30d` or `1d12h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span(pub TimeDelta);

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::duration::format(self.0))
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Span, D::Error> {
        let text = String::deserialize(d)?;
        crate::duration::parse(&text)
            .map(Span)
            .map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Span {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Span".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?$",
            "description": "A duration such as 30d or 1d12h."
        })
    }
}

/// A subscription term: a fixed length (`30d`, `1d12h`) or whole calendar
/// months and years (`1mo`, `3mo`, `1y`, `1y6mo`), since real terms and the
/// Spark refund's "used duration / subscription duration" are counted in
/// months.
///
/// The calendar rule: a term of N months ends on the same day of the month
/// N months later at the same time of day, clamped to the last day of a
/// shorter month (bought 31 January, one month ends 28 or 29 February). A
/// renewal counts from the old expiry the same way, so its length in
/// seconds depends on the months it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Term {
    Fixed(TimeDelta),
    Months(u32),
}

impl Term {
    /// When a term that starts at `from` ends; `None` past chrono's
    /// calendar.
    pub fn end(self, from: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Term::Fixed(d) => from.checked_add_signed(d),
            Term::Months(m) => from.checked_add_months(chrono::Months::new(m)),
        }
    }

    /// Its length when it starts at `from` (zero past chrono's calendar).
    pub fn length_from(self, from: DateTime<Utc>) -> TimeDelta {
        self.end(from).map(|e| e - from).unwrap_or_default()
    }

    pub fn is_positive(self) -> bool {
        match self {
            Term::Fixed(d) => d > TimeDelta::zero(),
            Term::Months(m) => m > 0,
        }
    }
}

impl From<TimeDelta> for Term {
    fn from(d: TimeDelta) -> Term {
        Term::Fixed(d)
    }
}

impl std::fmt::Display for Term {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Term::Fixed(d) => f.write_str(&crate::duration::format(d)),
            Term::Months(m) => {
                let (years, months) = (m / 12, m % 12);
                if years > 0 {
                    write!(f, "{years}y")?;
                }
                if months > 0 || years == 0 {
                    write!(f, "{months}mo")?;
                }
                Ok(())
            }
        }
    }
}

impl std::str::FromStr for Term {
    type Err = String;

    fn from_str(text: &str) -> Result<Term, String> {
        let t = text.trim();
        if !(t.ends_with("mo") || t.ends_with('y')) {
            return crate::duration::parse(t)
                .map(Term::Fixed)
                .map_err(|e| e.to_string());
        }
        let bad = || {
            format!(
                "invalid term `{text}`: write calendar months and years as 1mo, 3mo, 1y or 1y6mo, or a fixed length such as 30d"
            )
        };
        let (years, rest) = match t.split_once('y') {
            Some((y, rest)) => (y.parse::<u32>().map_err(|_| bad())?, rest),
            None => (0, t),
        };
        let months = match rest.strip_suffix("mo") {
            Some(m) => m.parse::<u32>().map_err(|_| bad())?,
            None if rest.is_empty() => 0,
            None => return Err(bad()),
        };
        // Ten thousand years, as for fixed lengths.
        let total = years
            .checked_mul(12)
            .and_then(|y| y.checked_add(months))
            .filter(|m| *m <= 120_000)
            .ok_or_else(|| format!("invalid term `{text}`: number too large"))?;
        Ok(Term::Months(total))
    }
}

impl Serialize for Term {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Term {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Term, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Term {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Term".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^(([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?|([0-9]+y)?([0-9]+mo)?)$",
            "description": "A subscription term: a fixed length such as 30d, or calendar months and years such as 1mo, 1y, 1y6mo (same day N months later, clamped to the month's end)."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_read_and_print_with_sign() {
        let o: Offset = "+15d".parse().unwrap();
        assert_eq!(o.0, TimeDelta::days(15));
        assert_eq!(o.to_string(), "+15d");
        let back: Offset = "-1d2h".parse().unwrap();
        assert_eq!(back.0, -TimeDelta::hours(26));
        assert_eq!(back.to_string(), "-1d2h");
        assert_eq!("3h".parse::<Offset>().unwrap().0, TimeDelta::hours(3));
        assert!("tomorrow".parse::<Offset>().is_err());
    }

    #[test]
    fn terms_in_calendar_months_end_on_the_same_day_clamped_to_the_month() {
        let at = |text: &str| text.parse::<DateTime<Utc>>().unwrap();
        let month: Term = "1mo".parse().unwrap();
        assert_eq!(month, Term::Months(1));
        assert_eq!(
            month.end(at("2026-01-31T10:00:00Z")),
            Some(at("2026-02-28T10:00:00Z"))
        );
        assert_eq!(
            month.end(at("2028-01-31T00:00:00Z")),
            Some(at("2028-02-29T00:00:00Z")),
            "a leap year's February"
        );
        assert_eq!(
            month.length_from(at("2026-02-01T00:00:00Z")),
            TimeDelta::days(28)
        );
        let year: Term = "1y6mo".parse().unwrap();
        assert_eq!(year, Term::Months(18));
        assert_eq!(year.to_string(), "1y6mo");
        assert_eq!(Term::Months(12).to_string(), "1y");
        assert_eq!(Term::Months(3).to_string(), "3mo");
        assert_eq!(
            "30d".parse::<Term>().unwrap(),
            Term::Fixed(TimeDelta::days(30))
        );
        assert_eq!(Term::Fixed(TimeDelta::hours(36)).to_string(), "1d12h");
        for bad in [
            "mo",
            "1m o",
            "1mo1y",
            "y",
            "1.5mo",
            "-1mo",
            "99999999999mo",
            "20000y",
        ] {
            assert!(bad.parse::<Term>().is_err(), "{bad} is not a term");
        }
        assert!(!Term::Months(0).is_positive());
    }
}
