//! When `apiary serve` runs a pipeline: `schedule = "*/15 * * * *"` (cron, five fields, in UTC)
//! or `every = "15m"`; a pipeline with neither runs only when asked. Both are checked when the
//! file is read, so a bad pattern is reported with its line.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds};
use serde::Deserialize;

/// The shortest `every` accepted: shorter intervals would hammer the API and the store.
pub const MIN_EVERY: Duration = Duration::from_secs(10);

/// A cron pattern (minute, hour, day of month, month, day of week), evaluated in UTC.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct CronSchedule {
    text: String,
    cron: Box<Cron>,
}

impl CronSchedule {
    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first time (ms since the epoch) strictly after `after_ms` that the pattern matches;
    /// `None` when it never matches again.
    pub fn next_after(&self, after_ms: u64) -> Option<u64> {
        let start: DateTime<Utc> = DateTime::from_timestamp_millis(i64::try_from(after_ms).ok()?)?;
        let next = self.cron.find_next_occurrence(&start, false).ok()?;
        u64::try_from(next.timestamp_millis()).ok()
    }
}

impl PartialEq for CronSchedule {
    fn eq(&self, other: &CronSchedule) -> bool {
        self.text == other.text
    }
}

impl FromStr for CronSchedule {
    type Err = String;

    fn from_str(text: &str) -> Result<CronSchedule, String> {
        let parser = CronParser::builder().seconds(Seconds::Disallowed).build();
        let cron = parser.parse(text.trim()).map_err(|e| {
            format!("`schedule` {text:?} is not a cron pattern ({e}): write five fields, e.g. \"*/15 * * * *\"")
        })?;
        Ok(CronSchedule { text: text.trim().to_string(), cron: Box::new(cron) })
    }
}

impl TryFrom<String> for CronSchedule {
    type Error = String;

    fn try_from(text: String) -> Result<CronSchedule, String> {
        text.parse()
    }
}

/// A fixed interval between the starts of two runs, written like `"15m"`, `"1h 30m"`, `"2days"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Every(Duration);

impl Every {
    /// The interval.
    pub fn duration(self) -> Duration {
        self.0
    }
}

impl FromStr for Every {
    type Err = String;

    fn from_str(text: &str) -> Result<Every, String> {
        let duration = humantime::parse_duration(text.trim()).map_err(|e| {
            format!("`every` {text:?} is not a duration ({e}): write e.g. \"15m\", \"1h\" or \"2days\"")
        })?;
        if duration < MIN_EVERY {
            return Err(format!("`every` {text:?} is shorter than {}: use a longer interval", fmt_every(MIN_EVERY)));
        }
        Ok(Every(duration))
    }
}

impl TryFrom<String> for Every {
    type Error = String;

    fn try_from(text: String) -> Result<Every, String> {
        text.parse()
    }
}

impl fmt::Display for Every {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&fmt_every(self.0))
    }
}

fn fmt_every(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}

/// What starts a pipeline under `apiary serve`.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// Only a request (the dashboard's or the API's "run now").
    OnDemand,
    /// A cron pattern.
    Cron(CronSchedule),
    /// A fixed interval.
    Every(Every),
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trigger::OnDemand => f.write_str("on demand"),
            Trigger::Cron(cron) => write!(f, "cron {} (UTC)", cron.as_str()),
            Trigger::Every(every) => write!(f, "every {every}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-03-02T10:07:00Z.
    const T: u64 = 1_772_446_020_000;
    const MINUTE: u64 = 60_000;

    #[test]
    fn a_cron_pattern_gives_the_next_slot_strictly_after() {
        let cron: CronSchedule = "*/15 * * * *".parse().unwrap();
        assert_eq!(cron.next_after(T), Some(T + 8 * MINUTE), "10:07 -> 10:15");
        assert_eq!(cron.next_after(T + 8 * MINUTE), Some(T + 23 * MINUTE), "10:15 -> 10:30, not 10:15 again");
        let nightly: CronSchedule = "@daily".parse().unwrap();
        assert_eq!(nightly.next_after(T).map(|n| n % 86_400_000), Some(0), "midnight UTC");
    }

    #[test]
    fn bad_patterns_and_intervals_are_one_line_errors() {
        let err = "*/15 * * *".parse::<CronSchedule>().unwrap_err();
        assert!(err.contains("five fields") && !err.contains('\n'), "{err}");
        let err = "0 */15 * * * *".parse::<CronSchedule>().unwrap_err();
        assert!(err.contains("not a cron pattern"), "{err}");
        let err = "soon".parse::<Every>().unwrap_err();
        assert!(err.contains("not a duration"), "{err}");
        let err = "1s".parse::<Every>().unwrap_err();
        assert!(err.contains("shorter than 10s"), "{err}");
    }

    #[test]
    fn intervals_read_like_people_write_them() {
        assert_eq!("15m".parse::<Every>().unwrap().duration(), Duration::from_secs(900));
        assert_eq!("1h 30m".parse::<Every>().unwrap().duration(), Duration::from_secs(5400));
        assert_eq!(Trigger::Every("2days".parse().unwrap()).to_string(), "every 2days");
    }
}
