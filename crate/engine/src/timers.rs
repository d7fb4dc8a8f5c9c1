//! Deadlines of many connections, the earliest found without a look at the others: a binary heap with
//! lazy deletion. A key has at most one deadline; setting a new one leaves the old heap entry behind, to
//! be skipped when it reaches the top (it no longer matches the key's deadline). Entries left behind are
//! swept once they outnumber the live ones, so the heap stays within a constant factor of the keys.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::Hash;
use std::time::Instant;

pub(crate) struct Timers<K> {
    heap: BinaryHeap<Reverse<(Instant, K)>>,
    /// The deadline of each key that has one.
    deadlines: HashMap<K, Instant>,
}

impl<K: Copy + Ord + Hash> Default for Timers<K> {
    fn default() -> Self {
        Timers { heap: BinaryHeap::new(), deadlines: HashMap::new() }
    }
}

impl<K: Copy + Ord + Hash> Timers<K> {
    /// Sets `key`'s deadline (`None`: it has none). O(log n).
    pub fn set(&mut self, key: K, at: Option<Instant>) {
        match at {
            None => {
                self.deadlines.remove(&key);
            }
            Some(at) => {
                if self.deadlines.insert(key, at) != Some(at) {
                    self.heap.push(Reverse((at, key)));
                    self.sweep_if_stale();
                }
            }
        }
    }

    /// The earliest deadline.
    pub fn next(&mut self) -> Option<Instant> {
        self.drop_stale_top();
        self.heap.peek().map(|Reverse((at, _))| *at)
    }

    /// A key whose deadline is at or before `now`, its deadline removed; earliest first.
    pub fn pop_due(&mut self, now: Instant) -> Option<K> {
        self.drop_stale_top();
        let Reverse((at, key)) = *self.heap.peek()?;
        if at > now {
            return None;
        }
        self.heap.pop();
        self.deadlines.remove(&key);
        Some(key)
    }

    fn is_live(&self, at: Instant, key: &K) -> bool {
        self.deadlines.get(key) == Some(&at)
    }

    fn drop_stale_top(&mut self) {
        while let Some(Reverse((at, key))) = self.heap.peek() {
            if self.is_live(*at, key) {
                return;
            }
            self.heap.pop();
        }
    }

    /// Rebuilds the heap from the live deadlines once stale entries outnumber them: amortized O(log n) per
    /// `set`, whatever the pattern of deadlines.
    fn sweep_if_stale(&mut self) {
        if self.heap.len() > 2 * self.deadlines.len() + 64 {
            self.heap = self.deadlines.iter().map(|(k, at)| Reverse((*at, *k))).collect();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A deterministic sequence (xorshift), so that the test is the same on every run.
    fn sequence(mut x: u64) -> impl FnMut() -> u64 {
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        }
    }

    #[test]
    fn many_keys_fire_in_deadline_order_with_only_their_latest_deadline() {
        let t0 = Instant::now();
        let mut next = sequence(0x9e37_79b9_7f4a_7c15);
        let mut timers = Timers::default();
        let mut expected = HashMap::new();
        // 10,000 connections, each rescheduled several times (later and earlier), some cleared.
        for round in 0..4 {
            for key in 0..10_000u32 {
                let at = t0 + Duration::from_micros(next() % 1_000_000);
                if round == 3 && key % 7 == 0 {
                    timers.set(key, None);
                    expected.remove(&key);
                } else {
                    timers.set(key, Some(at));
                    expected.insert(key, at);
                }
            }
        }
        assert_eq!(timers.deadlines.len(), expected.len());
        assert!(timers.heap.len() <= 2 * expected.len() + 65, "stale entries are swept: {}", timers.heap.len());
        let end = t0 + Duration::from_secs(1);
        let mut fired = Vec::new();
        let mut last = t0;
        while let Some(at) = timers.next() {
            assert!(at >= last, "deadlines come in order");
            last = at;
            let key = timers.pop_due(end).expect("due by the end");
            assert_eq!(expected.get(&key), Some(&at), "only a key's latest deadline fires");
            fired.push(key);
        }
        assert_eq!(fired.len(), expected.len(), "every key with a deadline fired exactly once");
        fired.sort_unstable();
        fired.dedup();
        assert_eq!(fired.len(), expected.len());
        assert!(fired.iter().all(|k| k % 7 != 0), "a cleared deadline never fires");
    }

    #[test]
    fn nothing_fires_before_its_deadline() {
        let t0 = Instant::now();
        let mut timers = Timers::default();
        timers.set(1u8, Some(t0 + Duration::from_millis(5)));
        timers.set(2u8, Some(t0 + Duration::from_millis(1)));
        timers.set(2u8, Some(t0 + Duration::from_millis(9)));
        assert_eq!(timers.pop_due(t0), None);
        assert_eq!(timers.next(), Some(t0 + Duration::from_millis(5)));
        assert_eq!(timers.pop_due(t0 + Duration::from_millis(6)), Some(1));
        assert_eq!(timers.pop_due(t0 + Duration::from_millis(6)), None, "key 2's earlier deadline was replaced");
        assert_eq!(timers.pop_due(t0 + Duration::from_millis(9)), Some(2));
        assert_eq!(timers.next(), None);
    }
}
