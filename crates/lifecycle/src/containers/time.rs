//! Wall-clock times as RFC 3339 strings in UTC, with nanoseconds, as Docker
//! writes them; and back (jiff does the calendar).

use std::time::SystemTime;

use jiff::Timestamp;
use jiff::fmt::temporal::DateTimePrinter;

/// `at` as `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`; a time jiff cannot represent
/// (before year -9999 or after 9999) is written as the nearest it can.
pub fn rfc3339(at: SystemTime) -> String {
    let at = Timestamp::try_from(at).unwrap_or(if at < SystemTime::UNIX_EPOCH {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    });
    DateTimePrinter::new()
        .precision(Some(9))
        .timestamp_to_string(&at)
}

/// Parses an RFC 3339 time (`Z` or a numeric offset, any fraction).
pub fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    text.trim().parse::<Timestamp>().ok().map(SystemTime::from)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn formats_and_parses_back() {
        let at = UNIX_EPOCH + Duration::new(951_782_400 + 3_661, 5_000);
        assert_eq!(rfc3339(at), "2000-02-29T01:01:01.000005000Z");
        assert_eq!(parse_rfc3339(&rfc3339(at)), Some(at));
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            parse_rfc3339("2023-11-14T22:13:20Z"),
            Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        );
        assert_eq!(
            parse_rfc3339("2023-11-14T22:13:20.5Z"),
            Some(UNIX_EPOCH + Duration::new(1_700_000_000, 500_000_000))
        );
        assert_eq!(
            parse_rfc3339("2023-11-14T23:13:20+01:00"),
            Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        );
        let now = SystemTime::now();
        assert_eq!(parse_rfc3339(&rfc3339(now)), Some(now));
        for bad in [
            "",
            "2023-11-14",
            "2023-13-01T00:00:00Z",
            "x",
            "99999-01-01T00:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn times_past_the_calendar_do_not_panic() {
        let far = UNIX_EPOCH + Duration::from_secs(u64::MAX / 4);
        assert!(rfc3339(far).starts_with("9999-"));
    }
}
