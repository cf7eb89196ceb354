//! Reading a point in time from the command line.

/// `--since` as ms since the epoch: epoch milliseconds, `YYYY-MM-DD` (midnight UTC) or
/// `YYYY-MM-DDTHH:MM:SSZ`.
pub fn parse_time(text: &str) -> Result<u64, String> {
    if let Ok(ms) = text.parse::<u64>() {
        return Ok(ms);
    }
    let bad = || format!("{text:?} is not a time: use YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or epoch milliseconds");
    let (date, time) = text.split_once('T').map_or((text, None), |(d, t)| (d, Some(t)));
    let d: Vec<i64> = date.split('-').map(|p| p.parse().map_err(|_| bad())).collect::<Result<_, _>>()?;
    let [year, month, day] = d[..] else { return Err(bad()) };
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return Err(bad());
    }
    let seconds_of_day = match time {
        None => 0,
        Some(t) => {
            let t: Vec<i64> =
                t.trim_end_matches('Z').split(':').map(|p| p.parse().map_err(|_| bad())).collect::<Result<_, _>>()?;
            let [h, m, s] = t[..] else { return Err(bad()) };
            h * 3600 + m * 60 + s
        }
    };
    let ms = (days_from_civil(year, month, day) * 86_400 + seconds_of_day) * 1000;
    u64::try_from(ms).map_err(|_| bad())
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
