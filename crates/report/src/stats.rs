/*!
Counting in memory that does not grow with the log: top lists of
bounded size and a histogram of processing times.

[`Top`] keeps exact counts until it has seen [`Top::CAPACITY`] different
values; after that it drops the rarest half whenever it is full, so a
value that keeps coming stays, and its count may miss at most the
occurrences before it was last dropped ([`Top::approximate`] says when
that happened). [`Delays`] buckets times to the millisecond below one
second and to three significant digits above, which makes the median,
95th percentile and maximum exact to 0.1 %.
*/

use std::collections::HashMap;

/// The most different values a [`Top`] holds at once is twice this.
const TOP_CAPACITY: usize = 10_000;

/// Counts of values, the most frequent first.
#[derive(Clone, Debug, Default)]
pub struct Top {
    counts: HashMap<Box<str>, u64>,
    pruned: bool,
}

impl Top {
    /// How many different values are kept after pruning.
    pub const CAPACITY: usize = TOP_CAPACITY;

    /// An empty list.
    pub fn new() -> Top {
        Top::default()
    }

    /// Counts `value` once.
    pub fn add(&mut self, value: &str) {
        self.add_n(value, 1);
    }

    /// Counts `value` `n` times.
    pub fn add_n(&mut self, value: &str, n: u64) {
        if let Some(count) = self.counts.get_mut(value) {
            *count += n;
            return;
        }
        if self.counts.len() >= 2 * TOP_CAPACITY {
            self.prune();
        }
        self.counts.insert(value.into(), n);
    }

    fn prune(&mut self) {
        let mut all: Vec<u64> = self.counts.values().copied().collect();
        let cut = all.len() - TOP_CAPACITY;
        let (_, threshold, _) = all.select_nth_unstable(cut);
        let threshold = *threshold;
        let mut over =
            self.counts.values().filter(|&&c| c > threshold).count();
        self.counts.retain(|_, c| {
            if *c > threshold {
                true
            } else if *c == threshold && over < TOP_CAPACITY {
                over += 1;
                true
            } else {
                false
            }
        });
        self.pruned = true;
    }

    /// Whether values were dropped, so counts may be low.
    pub fn approximate(&self) -> bool {
        self.pruned
    }

    /// How many different values are held.
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// The `n` most frequent values, ties in byte order.
    pub fn top(&self, n: usize) -> Vec<(String, u64)> {
        let mut all: Vec<(&str, u64)> =
            self.counts.iter().map(|(k, &v)| (&**k, v)).collect();
        all.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        all.into_iter().take(n).map(|(k, v)| (k.to_string(), v)).collect()
    }

    /// Every value with at least `min` counts, most frequent first.
    pub fn at_least(&self, min: u64) -> Vec<(String, u64)> {
        let mut list = self.top(usize::MAX);
        list.retain(|(_, c)| *c >= min);
        list
    }
}

/// Buckets below one second: one per millisecond.
const FINE: usize = 1000;
/// Buckets per decade above one second: three significant digits.
const PER_DECADE: usize = 900;
/// Decades above one second (up to 10^9 ms).
const DECADES: usize = 6;

/// A histogram of processing times.
#[derive(Clone, Debug)]
pub struct Delays {
    buckets: Vec<u32>,
    count: u64,
    sum_ms: u64,
    max_ms: u64,
}

impl Default for Delays {
    fn default() -> Self {
        Delays::new()
    }
}

fn bucket(ms: u64) -> usize {
    if ms < FINE as u64 {
        return ms as usize;
    }
    let mut v = ms;
    let mut e = 0;
    while v >= 1000 {
        v /= 10;
        e += 1;
    }
    let e = e.min(DECADES);
    FINE + (e - 1) * PER_DECADE + (v as usize - 100).min(PER_DECADE - 1)
}

fn lower_bound(b: usize) -> u64 {
    if b < FINE {
        return b as u64;
    }
    let e = (b - FINE) / PER_DECADE + 1;
    let v = ((b - FINE) % PER_DECADE + 100) as u64;
    v * 10u64.pow(e as u32)
}

impl Delays {
    /// An empty histogram.
    pub fn new() -> Delays {
        Delays {
            buckets: vec![0; FINE + DECADES * PER_DECADE],
            count: 0,
            sum_ms: 0,
            max_ms: 0,
        }
    }

    /// Records one time, in seconds.
    pub fn add(&mut self, seconds: f64) {
        let ms = (seconds * 1000.0).round().clamp(0.0, 1e15) as u64;
        if let Some(slot) = self.buckets.get_mut(bucket(ms)) {
            *slot = slot.saturating_add(1);
        }
        self.count += 1;
        self.sum_ms = self.sum_ms.saturating_add(ms);
        self.max_ms = self.max_ms.max(ms);
    }

    /// How many times were recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The mean, in seconds.
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum_ms as f64 / self.count as f64 / 1000.0
        }
    }

    /// The largest, in seconds.
    pub fn max(&self) -> f64 {
        self.max_ms as f64 / 1000.0
    }

    /// The `q` quantile (0.5 the median, 0.95 the 95th percentile), in
    /// seconds: the smallest recorded time (to bucket precision) that at
    /// least `q` of all times do not exceed.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let rank =
            ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (b, &n) in self.buckets.iter().enumerate() {
            seen += u64::from(n);
            if seen >= rank {
                return lower_bound(b).min(self.max_ms) as f64 / 1000.0;
            }
        }
        self.max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_is_exact_while_small() {
        let mut top = Top::new();
        for (v, n) in [("a", 3), ("b", 5), ("c", 3)] {
            for _ in 0..n {
                top.add(v);
            }
        }
        assert_eq!(top.top(2), [("b".to_string(), 5), ("a".to_string(), 3)]);
        assert_eq!(top.at_least(4), [("b".to_string(), 5)]);
        assert!(!top.approximate());
    }

    #[test]
    fn top_stays_bounded_and_keeps_heavy_hitters() {
        let mut top = Top::new();
        for i in 0..200_000u32 {
            top.add(&format!("rare{i}"));
            if i % 10 == 0 {
                top.add("heavy");
            }
        }
        assert!(top.len() <= 2 * Top::CAPACITY);
        assert!(top.approximate());
        let first = &top.top(1)[0];
        assert_eq!(first.0, "heavy");
        assert_eq!(first.1, 20_000);
    }

    #[test]
    fn buckets_invert() {
        for ms in [0, 1, 999, 1000, 1234, 99_999, 123_456_789] {
            let b = bucket(ms);
            let low = lower_bound(b);
            assert!(low <= ms && ms - low <= ms / 100, "{ms} {low}");
        }
    }

    #[test]
    fn quantiles() {
        let mut d = Delays::new();
        for i in 1..=100 {
            d.add(i as f64 / 1000.0);
        }
        assert_eq!(d.quantile(0.5), 0.05);
        assert_eq!(d.quantile(0.95), 0.095);
        assert_eq!(d.max(), 0.1);
        d.add(42.5);
        assert_eq!(d.max(), 42.5);
        assert!((d.quantile(1.0) - 42.5).abs() < 0.1);
        assert_eq!(Delays::new().quantile(0.5), 0.0);
    }
}
