//! Reading a point in time from the command line.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;

/// `--since` as ms since the epoch: epoch milliseconds, `YYYY-MM-DD` (midnight UTC) or an
/// RFC 3339 time such as `2026-11-28T01:00:00Z`.
pub fn parse_time(text: &str) -> Result<u64, String> {
    if let Ok(ms) = text.parse::<u64>() {
        return Ok(ms);
    }
    let bad = || format!("{text:?} is not a time: use YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or epoch milliseconds");
    let at = match text.parse::<Timestamp>() {
        Ok(at) => at,
        Err(_) => {
            let midnight = text.parse::<Date>().map(|d| d.to_datetime(jiff::civil::Time::midnight()));
            let civil: DateTime = midnight.map_err(|_| bad())?;
            TimeZone::UTC.to_timestamp(civil).map_err(|_| bad())?
        }
    };
    u64::try_from(at.as_millisecond()).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_dates_datetimes_and_epoch_ms() {
        assert_eq!(parse_time("1970-01-02").unwrap(), 86_400_000);
        assert_eq!(parse_time("2026-11-28").unwrap(), 1_795_824_000_000);
        assert_eq!(parse_time("2026-11-28T01:00:00Z").unwrap(), 1_795_827_600_000);
        assert_eq!(parse_time("1700000000000").unwrap(), 1_700_000_000_000);
        assert!(parse_time("last week").is_err());
        assert!(parse_time("2026-13-01").is_err());
    }
}
