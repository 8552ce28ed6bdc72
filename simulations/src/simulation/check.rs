//! The end-of-run checks: convergence and safety over every live honest
//! node.

use std::collections::{BTreeMap, BTreeSet};

use trustmesh_protocol::{ChangeHash, ChangeStatus, DocId, Node};

use super::Simulation;
use crate::metrics::Check;
use crate::store::FaultyStore;

pub(super) fn run(sim: &Simulation<'_>) -> Vec<Check> {
    let honest: Vec<(usize, &Node<FaultyStore>)> = (0..sim.nodes.len())
        .filter(|&i| sim.is_honest(i) && sim.nodes[i].member_since.is_some())
        .filter_map(|i| sim.nodes[i].core.as_ref().map(|c| (i, c)))
        .collect();
    vec![
        membership(&honest),
        documents(&honest),
        forged(sim, &honest),
        Check {
            name: "every published item reached every live node".to_owned(),
            passed: sim.metrics.unconverged == 0,
            detail: format!(
                "{} of {} items incomplete{}",
                sim.metrics.unconverged,
                sim.tracker.len(),
                missing(sim)
            ),
        },
        revoked(sim, &honest),
    ]
}

fn membership(honest: &[(usize, &Node<FaultyStore>)]) -> Check {
    let views: BTreeSet<_> = honest
        .iter()
        .map(|(_, c)| c.membership().members())
        .collect();
    let sizes: BTreeSet<usize> = views.iter().map(|m| m.len()).collect();
    Check {
        name: "identical membership on every live honest node".to_owned(),
        passed: views.len() <= 1,
        detail: format!(
            "{} nodes, {} distinct views, sizes {sizes:?}",
            honest.len(),
            views.len()
        ),
    }
}

type DocState = (Vec<ChangeHash>, Vec<ChangeHash>);

fn documents(honest: &[(usize, &Node<FaultyStore>)]) -> Check {
    let docs: BTreeSet<DocId> = honest
        .iter()
        .flat_map(|(_, c)| c.documents().docs().map(|(d, _)| *d))
        .collect();
    let mut bad = vec![];
    for doc in &docs {
        let restricted = honest
            .iter()
            .find_map(|(_, c)| {
                c.documents()
                    .doc_ref(doc)
                    .map(|_| c.documents().restricted_to(doc))
            })
            .flatten();
        let mut states: BTreeMap<Option<DocState>, usize> = BTreeMap::new();
        let mut leaked = 0;
        for (_, c) in honest {
            let entitled = restricted.as_ref().is_none_or(|a| a.contains(&c.team()));
            let state = c.documents().doc_ref(doc).map(|_| {
                let mut hashes = c.documents().change_hashes(doc);
                hashes.sort();
                let mut heads = c.documents().heads(doc);
                heads.sort();
                (hashes, heads)
            });
            if entitled {
                *states.entry(state).or_default() += 1;
            } else if state.is_some() {
                leaked += 1;
            }
        }
        // A document none of whose changes apply (its author was revoked
        // with nothing kept) has no audience to read: it counts as its
        // owner's alone, yet honest nodes rightly got it while it applied.
        let readable = honest
            .iter()
            .any(|(_, c)| !c.documents().heads(doc).is_empty());
        if !readable {
            leaked = 0;
        }
        if states.len() > 1 || states.keys().any(Option::is_none) || leaked > 0 {
            bad.push(format!(
                "{}: {} states, {} missing, {leaked} outside audience",
                &doc.to_string()[..12],
                states.len(),
                states.get(&None).copied().unwrap_or(0)
            ));
        }
    }
    Check {
        name: "identical documents on every entitled live honest node, none elsewhere".to_owned(),
        passed: bad.is_empty(),
        detail: if bad.is_empty() {
            format!("{} documents", docs.len())
        } else {
            format!(
                "{} of {} documents differ: {}",
                bad.len(),
                docs.len(),
                bad.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
            )
        },
    }
}

fn forged(sim: &Simulation<'_>, honest: &[(usize, &Node<FaultyStore>)]) -> Check {
    let mut applied = 0;
    let mut held = 0;
    for (doc, hash) in &sim.forged {
        for (_, c) in honest {
            match c.documents().status(doc, hash) {
                Some(ChangeStatus::Applied) => applied += 1,
                Some(_) => held += 1,
                None => {}
            }
        }
    }
    Check {
        name: "no forged or unauthorized change applied".to_owned(),
        passed: applied == 0,
        detail: format!(
            "{} forgeries made, {applied} applied, {held} held aside (never applied) on honest nodes",
            sim.forged.len()
        ),
    }
}

fn revoked(sim: &Simulation<'_>, honest: &[(usize, &Node<FaultyStore>)]) -> Check {
    let still: usize = sim
        .revoked
        .iter()
        .map(|&r| {
            let team = sim.nodes[r].key.id();
            honest
                .iter()
                .filter(|(_, c)| c.membership().is_member(&team))
                .count()
        })
        .sum();
    Check {
        name: "revoked members are members nowhere".to_owned(),
        passed: still == 0,
        detail: format!(
            "{} revoked, {still} honest views still admit one",
            sim.revoked.len()
        ),
    }
}

/// The first missing (item, node), and whether the node holds it after
/// all (a gap in tracking rather than in delivery).
fn missing(sim: &Simulation<'_>) -> String {
    let holders = sim.expected_holders();
    let Some((key, node)) = sim.tracker.first_missing(&holders) else {
        return String::new();
    };
    let core = sim.nodes[node].core.as_ref();
    let statement = core.is_some_and(|c| {
        c.statements()
            .contains(&trustmesh_protocol::StatementId::from_bytes(key))
    });
    let change = core.is_some_and(|c| {
        c.documents().docs().any(|(d, _)| {
            c.documents()
                .change(d, &ChangeHash::from_bytes(key))
                .is_some()
        })
    });
    format!(
        "; first: item {} at node {node} (holds it as statement: {statement}, as change: {change}; links {})",
        &hex::encode(key)[..12],
        sim.nodes[node].links.len()
    )
}
