//! Log-linear latency buckets shared by the telemetry writer and every reader.
//!
//! Values below 8 get a bucket each; above, each power of two is split into 8 equal buckets
//! (12.5 % relative width). Values at or above 2^41 ticks (~14 min at 2.6 GHz) fall in the last
//! bucket. Recording is one `lzcnt`, two shifts and a store: cheap enough for every message.

/// Sub-buckets per power of two, as a power of two.
pub const SUB_BUCKET_BITS: u32 = 3;
const SUB_BUCKETS: u64 = 1 << SUB_BUCKET_BITS;
/// Highest power of two with its own buckets.
const EXPONENT_MAX: u32 = 40;
/// Number of buckets.
pub const BUCKETS: usize = ((EXPONENT_MAX - SUB_BUCKET_BITS + 2) as usize) * SUB_BUCKETS as usize;

/// Bucket of `value`.
#[inline(always)]
pub fn bucket_index(value: u64) -> usize {
    if value < SUB_BUCKETS {
        return value as usize;
    }
    let exponent = (63 - value.leading_zeros()).min(EXPONENT_MAX);
    if exponent == EXPONENT_MAX && value >> EXPONENT_MAX >= 2 {
        return BUCKETS - 1;
    }
    let sub = (value >> (exponent - SUB_BUCKET_BITS)) & (SUB_BUCKETS - 1);
    ((exponent - SUB_BUCKET_BITS + 1) as usize) * SUB_BUCKETS as usize + sub as usize
}

/// Highest value that lands in bucket `index` (what percentiles report: an upper bound).
pub fn bucket_value_max(index: usize) -> u64 {
    let sub_buckets = SUB_BUCKETS as usize;
    if index < sub_buckets {
        return index as u64;
    }
    let exponent = (index / sub_buckets) as u32 + SUB_BUCKET_BITS - 1;
    let sub = (index % sub_buckets) as u64;
    let width = 1u64 << (exponent - SUB_BUCKET_BITS);
    ((SUB_BUCKETS + sub) << (exponent - SUB_BUCKET_BITS)) + width - 1
}

/// Value at quantile `q` (0..=1) of a bucket array, as the bucket's upper bound; 0 when empty.
pub fn quantile(buckets: &[u64], q: f64) -> u64 {
    let total: u64 = buckets.iter().sum();
    if total == 0 {
        return 0;
    }
    let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).clamp(1, total);
    let mut seen = 0u64;
    for (index, count) in buckets.iter().enumerate() {
        seen += count;
        if seen >= rank {
            return bucket_value_max(index);
        }
    }
    bucket_value_max(buckets.len() - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_lands_in_a_bucket_whose_bounds_contain_it() {
        let mut values: Vec<u64> = (0..5_000).collect();
        for shift in 0..48 {
            values.extend([1u64 << shift, (1u64 << shift) + 1, (3u64 << shift) / 2]);
        }
        for value in values {
            let index = bucket_index(value);
            assert!(index < BUCKETS, "{value} -> {index}");
            if value < 1 << 41 {
                assert!(bucket_value_max(index) >= value, "{value}");
                let below = if index == 0 { 0 } else { bucket_value_max(index - 1) };
                assert!(index == 0 || below < value, "{value} in {index}: below {below}");
                let width = bucket_value_max(index) - below;
                assert!(width <= value / 8 + 1, "bucket of {value} is {width} wide");
            }
        }
        assert_eq!(bucket_index(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn quantiles_pick_the_bucket_holding_the_rank() {
        let mut buckets = vec![0u64; BUCKETS];
        for v in 1..=100u64 {
            buckets[bucket_index(v * 100)] += 1;
        }
        let p50 = quantile(&buckets, 0.5);
        assert!((5_000..=5_700).contains(&p50), "{p50}");
        let p99 = quantile(&buckets, 0.99);
        assert!((9_900..=11_300).contains(&p99), "{p99}");
        assert_eq!(quantile(&vec![0; BUCKETS], 0.5), 0);
    }
}
