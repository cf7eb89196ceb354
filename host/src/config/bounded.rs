//! Numbers in the pipeline file that must lie in a range. Out of range is an error naming the
//! range; the pipeline reader adds the file, the line and the key.

use serde::de::{Deserialize, Deserializer, Error};

/// An integer read from the pipeline file, checked to lie in `MIN..=MAX`.
///
/// ```
/// use apiary_host::config::Bounded;
/// #[derive(serde::Deserialize)]
/// struct T { n: Bounded<1, 10> }
/// assert_eq!(toml::from_str::<T>("n = 3").unwrap().n.get(), 3);
/// assert!(toml::from_str::<T>("n = 0").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bounded<const MIN: u64, const MAX: u64>(u64);

impl<const MIN: u64, const MAX: u64> Bounded<MIN, MAX> {
    /// The value, known to be in range.
    pub fn get(self) -> u64 {
        self.0
    }

    /// The value, for a `u32` field (ranges of such fields end below `u32::MAX`).
    pub fn get_u32(self) -> u32 {
        u32::try_from(self.0).unwrap_or(u32::MAX)
    }

    /// The value, for a `usize` field.
    pub fn get_usize(self) -> usize {
        usize::try_from(self.0).unwrap_or(usize::MAX)
    }

    /// A value known to be in range (tests and defaults). Panics when it is not.
    pub fn new(value: u64) -> Self {
        assert!((MIN..=MAX).contains(&value), "{value} outside {MIN}..={MAX}");
        Bounded(value)
    }
}

impl<'de, const MIN: u64, const MAX: u64> Deserialize<'de> for Bounded<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // TOML integers are i64; a larger number is refused by the TOML reader itself.
        let value = i64::deserialize(deserializer)?;
        match u64::try_from(value) {
            Ok(v) if (MIN..=MAX).contains(&v) => Ok(Bounded(v)),
            _ => Err(D::Error::custom(format!("{value} is out of range: allowed {MIN} to {MAX}"))),
        }
    }
}
