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

    /// `2026-11-22T11:30:00.000Z`: UTC with milliseconds, as the API returns every time.
    pub fn to_rfc3339(self) -> String {
        let mut buf = [0; RFC3339_LEN];
        match self.format_rfc3339(&mut buf) {
            Some(s) => s.to_string(),
            None => self.to_rfc3339_slow(),
        }
    }

    /// [`Timestamp::to_rfc3339`] written into `buf` without allocating, for the years 0000 to
    /// 9999 (every time the API accepts); `None` outside them. Bulk answers format hundreds of
    /// thousands of times, so this does the calendar arithmetic itself (days to civil date, after
    /// Howard Hinnant's `civil_from_days`).
    pub fn format_rfc3339(self, buf: &mut [u8; RFC3339_LEN]) -> Option<&str> {
        let secs = self.0.div_euclid(1000);
        let ms = self.0.rem_euclid(1000);
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        if !(0..=9999).contains(&year) {
            return None;
        }
        let digits = |out: &mut [u8], mut v: i64| {
            for b in out.iter_mut().rev() {
                *b = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        digits(&mut buf[0..4], year);
        buf[4] = b'-';
        digits(&mut buf[5..7], month);
        buf[7] = b'-';
        digits(&mut buf[8..10], day);
        buf[10] = b'T';
        digits(&mut buf[11..13], sod / 3600);
        buf[13] = b':';
        digits(&mut buf[14..16], sod / 60 % 60);
        buf[16] = b':';
        digits(&mut buf[17..19], sod % 60);
        buf[19] = b'.';
        digits(&mut buf[20..23], ms);
        buf[23] = b'Z';
        std::str::from_utf8(buf).ok()
    }

    fn to_rfc3339_slow(self) -> String {
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

/// Bytes of `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub const RFC3339_LEN: usize = 24;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_in_utc_with_millis() {
        let t = Timestamp::parse_rfc3339("2026-11-22T12:30:00.123456+01:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-22T11:30:00.123Z");
        assert_eq!(Timestamp(0).to_rfc3339(), "1970-01-01T00:00:00.000Z");
    }

    proptest::proptest! {
        /// The fast formatting is the calendar `time` keeps, over every year it accepts.
        #[test]
        fn fast_formatting_matches_the_time_crate(ms in -62_167_219_200_000i64..253_402_300_800_000) {
            let mut buf = [0; RFC3339_LEN];
            let fast = Timestamp(ms).format_rfc3339(&mut buf).map(str::to_string);
            proptest::prop_assert_eq!(fast, Some(Timestamp(ms).to_rfc3339_slow()));
        }
    }

    #[test]
    fn formatting_covers_the_edges_of_the_years_accepted() {
        let mut buf = [0; RFC3339_LEN];
        for (ms, text) in [
            (-62_167_219_200_000, "0000-01-01T00:00:00.000Z"),
            (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
            (-1, "1969-12-31T23:59:59.999Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
        ] {
            assert_eq!(Timestamp(ms).format_rfc3339(&mut buf), Some(text));
            assert_eq!(Timestamp(ms).to_rfc3339(), text);
        }
        assert_eq!(
            Timestamp(-62_167_219_200_001).format_rfc3339(&mut buf),
            None
        );
        assert_eq!(
            Timestamp(253_402_300_800_000).format_rfc3339(&mut buf),
            None
        );
    }

    #[test]
    fn rejects_dates_without_time() {
        assert!(Timestamp::parse_rfc3339("2026-11-22").is_none());
    }
}
