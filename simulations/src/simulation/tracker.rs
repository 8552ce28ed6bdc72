//! Which node got each published item (a change or a statement) when.

use std::collections::{BTreeMap, BTreeSet};

use trustmesh_protocol::Millis;

#[derive(Debug)]
struct Item {
    published: Millis,
    author: usize,
    /// `None`: every member should get it; else these nodes.
    audience: Option<BTreeSet<usize>>,
    received: BTreeMap<usize, Millis>,
}

/// The spread of every tracked item.
#[derive(Debug, Default)]
pub(super) struct Tracker {
    items: BTreeMap<[u8; 32], Item>,
}

impl Tracker {
    pub(super) fn published(
        &mut self,
        key: [u8; 32],
        author: usize,
        now: Millis,
        audience: Option<BTreeSet<usize>>,
    ) {
        let item = self.items.entry(key).or_insert_with(|| Item {
            published: now,
            author,
            audience,
            received: BTreeMap::new(),
        });
        item.received.entry(author).or_insert(now);
    }

    /// Whether `node` is still to receive the tracked item `key`.
    pub(super) fn pending(&self, key: &[u8; 32], node: usize) -> bool {
        self.items
            .get(key)
            .is_some_and(|i| !i.received.contains_key(&node))
    }

    /// The items `node` is still to receive.
    pub(super) fn pending_for(&self, node: usize) -> Vec<[u8; 32]> {
        self.items
            .iter()
            .filter(|(_, i)| !i.received.contains_key(&node))
            .map(|(k, _)| *k)
            .collect()
    }

    /// An item some expected holder lacks, with that holder.
    pub(super) fn first_missing(&self, holders: &[(usize, Millis)]) -> Option<([u8; 32], usize)> {
        self.items.iter().find_map(|(k, item)| {
            Self::expected(item, holders)
                .find(|(h, _)| !item.received.contains_key(h))
                .map(|(h, _)| (*k, *h))
        })
    }

    pub(super) fn received(&mut self, key: [u8; 32], node: usize, now: Millis) {
        if let Some(i) = self.items.get_mut(&key) {
            i.received.entry(node).or_insert(now);
        }
    }

    pub(super) fn len(&self) -> usize {
        self.items.len()
    }

    fn expected<'a>(
        item: &'a Item,
        holders: &'a [(usize, Millis)],
    ) -> impl Iterator<Item = &'a (usize, Millis)> + 'a {
        holders.iter().filter(move |(h, _)| {
            *h != item.author && item.audience.as_ref().is_none_or(|a| a.contains(h))
        })
    }

    /// Fraction of (holder, item) pairs delivered.
    pub(super) fn delivered_fraction(&self, holders: &[(usize, Millis)]) -> f64 {
        let (mut due, mut got) = (0u64, 0u64);
        for item in self.items.values() {
            for (h, _) in Self::expected(item, holders) {
                due += 1;
                got += u64::from(item.received.contains_key(h));
            }
        }
        if due == 0 {
            1.0
        } else {
            got as f64 / due as f64
        }
    }

    /// Per item, the time until its last expected holder got it (from the
    /// later of publication and the holder's admission); how many items
    /// some holder still lacks; and every (holder, item) delay.
    pub(super) fn convergence(&self, holders: &[(usize, Millis)]) -> (Vec<u64>, usize, Vec<u64>) {
        let mut per_item = vec![];
        let mut unconverged = 0;
        let mut delays = vec![];
        for item in self.items.values() {
            let mut worst = 0;
            let mut complete = true;
            for (h, since) in Self::expected(item, holders) {
                match item.received.get(h) {
                    Some(&t) => {
                        let d = t.saturating_sub(item.published.max(*since));
                        delays.push(d);
                        worst = worst.max(d);
                    }
                    None => complete = false,
                }
            }
            if complete {
                per_item.push(worst);
            } else {
                unconverged += 1;
            }
        }
        (per_item, unconverged, delays)
    }
}
