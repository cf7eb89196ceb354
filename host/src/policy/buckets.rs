//! The rate-limit buckets in force: the connector's declarations, lowered (or, when allowed,
//! raised) by the pipeline's `[buckets.NAME]` tables.

use std::collections::BTreeMap;

use crate::config::BucketOverride;
use crate::model::Bucket;

/// The buckets in force: the manifest's, with the pipeline's overrides. Lowering is always
/// allowed; raising a rate or burst needs `allow-raise` and yields a warning. An override of a
/// bucket the connector does not declare is an error.
pub fn effective_buckets(
    declared: &[Bucket],
    overrides: &BTreeMap<String, BucketOverride>,
) -> Result<(Vec<Bucket>, Vec<String>), String> {
    let mut buckets = declared.to_vec();
    let mut warnings = Vec::new();
    for (name, o) in overrides {
        let Some(bucket) = buckets.iter_mut().find(|b| &b.name == name) else {
            let known: Vec<&str> = declared.iter().map(|b| b.name.as_str()).collect();
            return Err(format!(
                "[buckets.{name}]: the connector declares no bucket `{name}` (it has: {})",
                known.join(", ")
            ));
        };
        let wanted = Bucket {
            name: name.clone(),
            requests: o.requests.get_u32(),
            per_ms: o.per_ms.get(),
            burst: o.burst.map_or(bucket.burst, |b| b.get_u32()),
        };
        let raises = rate(&wanted) > rate(bucket) || wanted.burst > bucket.burst;
        if raises && !o.allow_raise {
            return Err(format!(
                "[buckets.{name}] raises the connector's limit ({} per {} ms, burst {}); lower it, or add `allow-raise = true` if the API really allows more",
                bucket.requests, bucket.per_ms, bucket.burst
            ));
        }
        if raises {
            warnings.push(format!(
                "bucket `{name}` raised above the connector's declaration to {} per {} ms, burst {}: expect 429s if the API disagrees",
                wanted.requests, wanted.per_ms, wanted.burst
            ));
        }
        *bucket = wanted;
    }
    Ok((buckets, warnings))
}

/// Requests per millisecond.
fn rate(b: &Bucket) -> f64 {
    f64::from(b.requests) / b.per_ms.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Bounded;

    fn bucket(name: &str, requests: u32, per_ms: u64, burst: u32) -> Bucket {
        Bucket { name: name.into(), requests, per_ms, burst }
    }

    #[test]
    fn a_pipeline_may_lower_a_bucket_but_raising_needs_a_flag() {
        let declared = [bucket("core", 5_000, 3_600_000, 100)];
        let lower = |requests, allow_raise| {
            let o = BucketOverride {
                requests: Bounded::new(requests),
                per_ms: Bounded::new(3_600_000),
                burst: None,
                allow_raise,
            };
            effective_buckets(&declared, &[("core".to_string(), o)].into())
        };
        let (buckets, warnings) = lower(1_000, false).unwrap();
        assert_eq!((buckets[0].requests, buckets[0].burst), (1_000, 100));
        assert!(warnings.is_empty());
        assert!(lower(6_000, false).unwrap_err().contains("allow-raise"));
        let (buckets, warnings) = lower(6_000, true).unwrap();
        assert_eq!(buckets[0].requests, 6_000);
        assert!(warnings[0].contains("raised"));
        let unknown =
            BucketOverride { requests: Bounded::new(1), per_ms: Bounded::new(1), burst: None, allow_raise: false };
        let err = effective_buckets(&declared, &[("search".to_string(), unknown)].into()).unwrap_err();
        assert!(err.contains("no bucket `search`") && err.contains("core"), "{err}");
    }
}
