//! Datagrams waiting for admission work, taken in turn by source prefix (`admission::source_prefix`): a
//! source that floods the server with Initials fills only its own turn, so another source's new connection
//! waits behind at most one of its datagrams, not behind the whole flood. When the queue is full, the source
//! with the most waiting loses its newest datagram.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;

use super::admission::SourcePrefix;

/// A datagram kept for admission after the established connections are served.
pub struct Deferred {
    pub data: Vec<u8>,
    pub from: SocketAddr,
    pub to: SocketAddr,
    /// A version 1 Initial (not a datagram for Version Negotiation).
    pub initial: bool,
}

/// The queue: per source, oldest first; the sources in the order they are served.
pub struct Waiting {
    by_source: HashMap<SourcePrefix, VecDeque<Deferred>>,
    /// Each source with a datagram waiting, once; the front is served next.
    turns: VecDeque<SourcePrefix>,
    len: usize,
    capacity: usize,
}

impl Waiting {
    /// A queue of at most `capacity` datagrams.
    pub fn new(capacity: usize) -> Waiting {
        Waiting { by_source: HashMap::new(), turns: VecDeque::new(), len: 0, capacity }
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Queues `d` from source `prefix`. Returns the datagram shed to make room, if the queue was full:
    /// `d` itself when its source already has the most waiting, otherwise the newest of the source that
    /// has.
    pub fn push(&mut self, prefix: SourcePrefix, d: Deferred) -> Option<(SourcePrefix, Deferred)> {
        let mut shed = None;
        if self.len >= self.capacity {
            let mine = self.by_source.get(&prefix).map_or(0, VecDeque::len);
            let Some((&top, most)) = self.by_source.iter().max_by_key(|(_, q)| q.len()) else {
                return Some((prefix, d)); // no room at all (a capacity of 0)
            };
            if mine >= most.len() {
                return Some((prefix, d));
            }
            shed = self.take_newest(top).map(|old| (top, old));
        }
        let queue = self.by_source.entry(prefix).or_default();
        if queue.is_empty() {
            self.turns.push_back(prefix);
        }
        queue.push_back(d);
        self.len += 1;
        shed
    }

    /// The next datagram to admit: the oldest of the source whose turn it is.
    pub fn pop(&mut self) -> Option<Deferred> {
        let prefix = self.turns.pop_front()?;
        let queue = self.by_source.get_mut(&prefix).expect("a source in turn has a queue");
        let d = queue.pop_front().expect("a source in turn has a datagram waiting");
        if queue.is_empty() {
            self.by_source.remove(&prefix);
        } else {
            self.turns.push_back(prefix);
        }
        self.len -= 1;
        Some(d)
    }

    /// The next datagram of a source that `eligible` accepts, in turn order (its turn taken); None when no
    /// waiting source is.
    pub fn pop_where(&mut self, eligible: impl Fn(SourcePrefix) -> bool) -> Option<Deferred> {
        let at = self.turns.iter().position(|p| eligible(*p))?;
        let prefix = self.turns.remove(at).expect("a position within the turns");
        self.turns.push_front(prefix);
        self.pop()
    }

    /// Removes and returns everything waiting.
    pub fn drain(&mut self) -> impl Iterator<Item = Deferred> + '_ {
        self.turns.clear();
        self.len = 0;
        self.by_source.drain().flat_map(|(_, q)| q)
    }

    fn take_newest(&mut self, prefix: SourcePrefix) -> Option<Deferred> {
        let queue = self.by_source.get_mut(&prefix)?;
        let d = queue.pop_back()?;
        if queue.is_empty() {
            self.by_source.remove(&prefix);
            self.turns.retain(|p| *p != prefix);
        }
        self.len -= 1;
        Some(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn datagram(n: u8) -> Deferred {
        let at: SocketAddr = "[::1]:4433".parse().unwrap();
        Deferred { data: vec![n], from: at, to: at, initial: true }
    }

    fn popped(w: &mut Waiting) -> Vec<u8> {
        std::iter::from_fn(|| w.pop()).map(|d| d.data[0]).collect()
    }

    /// Sources take turns, each in its own order.
    #[test]
    fn sources_take_turns_oldest_first() {
        let mut w = Waiting::new(16);
        for n in [10, 11, 12, 13] {
            assert!(w.push(1, datagram(n)).is_none());
        }
        assert!(w.push(2, datagram(20)).is_none());
        assert!(w.push(3, datagram(30)).is_none());
        assert!(w.push(2, datagram(21)).is_none());
        assert_eq!(popped(&mut w), [10, 20, 30, 11, 21, 12, 13]);
        assert!(w.is_empty());
    }

    /// One source fills the queue; another's datagram still gets in, at the flood's expense, and is the
    /// second taken; the flood's newest go, never what another source queued first.
    #[test]
    fn a_full_queue_sheds_from_the_source_with_most_waiting() {
        let mut w = Waiting::new(4);
        for n in 0..4 {
            assert!(w.push(1, datagram(n)).is_none());
        }
        let (from, shed) = w.push(1, datagram(4)).expect("full: the flooding source's own datagram goes");
        assert_eq!((from, shed.data[0]), (1, 4));
        let (from, shed) = w.push(2, datagram(20)).expect("full: the flood's newest makes room");
        assert_eq!((from, shed.data[0]), (1, 3));
        let (from, shed) = w.push(3, datagram(30)).expect("full: the flood's newest makes room");
        assert_eq!((from, shed.data[0]), (1, 2));
        // Source 2 has one waiting, source 1 two: the most waiting is still source 1's.
        let (from, shed) = w.push(2, datagram(21)).expect("full");
        assert_eq!((from, shed.data[0]), (1, 1));
        assert_eq!(popped(&mut w), [0, 20, 30, 21]);
    }

    /// When every source has one waiting, a new source takes the place of one of them, and the queue stays
    /// consistent.
    #[test]
    fn a_source_whose_only_datagram_is_shed_loses_its_turn() {
        let mut w = Waiting::new(2);
        assert!(w.push(1, datagram(10)).is_none());
        assert!(w.push(2, datagram(20)).is_none());
        let (_, shed) = w.push(3, datagram(30)).expect("full");
        let mut left = popped(&mut w);
        left.push(shed.data[0]);
        left.sort();
        assert_eq!(left, [10, 20, 30]);
        assert!(w.is_empty());
        assert!(w.pop().is_none());
    }

    /// Only eligible sources are served, in their order; the others keep their datagrams and turns.
    #[test]
    fn pop_where_takes_only_eligible_sources() {
        let mut w = Waiting::new(16);
        for (source, n) in [(1, 10), (2, 20), (3, 30), (2, 21), (3, 31)] {
            assert!(w.push(source, datagram(n)).is_none());
        }
        let odd = |s: SourcePrefix| s % 2 == 1;
        assert_eq!(w.pop_where(odd).map(|d| d.data[0]), Some(10));
        assert_eq!(w.pop_where(odd).map(|d| d.data[0]), Some(30));
        assert_eq!(w.pop_where(odd).map(|d| d.data[0]), Some(31));
        assert!(w.pop_where(odd).is_none());
        assert_eq!(popped(&mut w), [20, 21]);
    }

    #[test]
    fn drain_empties_it() {
        let mut w = Waiting::new(8);
        for n in 0..5 {
            w.push(u128::from(n % 2), datagram(n));
        }
        assert_eq!(w.drain().count(), 5);
        assert!(w.is_empty());
        assert!(w.pop().is_none());
        assert!(w.push(7, datagram(70)).is_none());
        assert_eq!(popped(&mut w), [70]);
    }
}
