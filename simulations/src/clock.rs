//! The virtual clock: a queue of future events ordered by (time, sequence
//! number). Events at the same millisecond run in the order they were
//! scheduled, so the order never depends on anything but the run itself.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use trustmesh_protocol::Millis;

/// Scheduled events of type `E`, earliest first.
#[derive(Debug)]
pub struct EventQueue<E> {
    heap: BinaryHeap<Reverse<Entry<E>>>,
    seq: u64,
    now: Millis,
}

#[derive(Debug)]
struct Entry<E> {
    at: Millis,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self {
            heap: BinaryHeap::new(),
            seq: 0,
            now: 0,
        }
    }
}

impl<E> EventQueue<E> {
    /// An empty queue at time zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// The current virtual time: that of the last event popped.
    pub fn now(&self) -> Millis {
        self.now
    }

    /// Schedules `event` at `at` (never before now).
    pub fn schedule(&mut self, at: Millis, event: E) {
        let at = at.max(self.now);
        self.seq += 1;
        self.heap.push(Reverse(Entry {
            at,
            seq: self.seq,
            event,
        }));
    }

    /// Pops the earliest event due no later than `until`, advancing now.
    pub fn pop_until(&mut self, until: Millis) -> Option<(Millis, E)> {
        if self.heap.peek().is_none_or(|Reverse(e)| e.at > until) {
            return None;
        }
        let Reverse(e) = self.heap.pop()?;
        self.now = e.at;
        Some((e.at, e.event))
    }

    /// Moves the clock forward to `to` when nothing is due before.
    pub fn advance(&mut self, to: Millis) {
        self.now = self.now.max(to);
    }

    /// How many events wait.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests;
