//! Times travel as RFC 3339 text and are stored as milliseconds since the Unix epoch (UTC).

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Milliseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn now() -> Self {
        let now = OffsetDateTime::now_utc();
        Timestamp((now.unix_timestamp_nanos() / 1_000_000) as i64)
    }

    /// Parses RFC 3339 (any offset); sub-millisecond digits are dropped.
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        let t = OffsetDateTime::parse(s, &Rfc3339).ok()?;
        Some(Timestamp((t.unix_timestamp_nanos() / 1_000_000) as i64))
    }

    /// `2026-11-22T11:30:00.000Z`: UTC with milliseconds, as the contract returns every time.
    pub fn to_rfc3339(self) -> String {
        let t = OffsetDateTime::from_unix_timestamp_nanos(self.0 as i128 * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let ms = self.0.rem_euclid(1000);
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            ms
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_in_utc_with_millis() {
        let t = Timestamp::parse_rfc3339("2026-11-22T12:30:00.123456+01:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-22T11:30:00.123Z");
        assert_eq!(Timestamp(0).to_rfc3339(), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn rejects_dates_without_time() {
        assert!(Timestamp::parse_rfc3339("2026-11-22").is_none());
    }
}
