use proptest::prelude::*;

use super::*;
use crate::TeamKey;
use crate::fixtures::{application, charter, introduction, key, revocation};

/// Three founders (1, 2, 3), k = 2, r = 2.
fn net() -> StatementSet {
    StatementSet::new(charter(&[&key(1), &key(2), &key(3)], 2, 2))
}

fn add(set: &mut StatementSet, s: SignedStatement) -> StatementId {
    let id = s.id();
    set.insert(s).expect("statement verifies");
    id
}

/// Applies for `who` and collects introductions from `sponsors`; returns
/// the introduction ids in sponsor order.
fn admit(set: &mut StatementSet, who: &TeamKey, sponsors: &[&TeamKey]) -> Vec<StatementId> {
    let n = set.network_id();
    let app = application(n, who);
    add(set, app.clone());
    sponsors
        .iter()
        .map(|s| add(set, introduction(n, s, &app)))
        .collect()
}

fn status(set: &StatementSet, who: &TeamKey) -> Option<Status> {
    set.membership().standing(&who.id()).map(|s| s.status)
}

#[test]
fn founders_are_members() {
    let set = net();
    let m = set.membership();
    assert_eq!(m.members().len(), 3);
    assert_eq!(status(&set, &key(1)), Some(Status::Founder));
    assert_eq!(
        m.standing(&key(1).id()).map(Standing::reason).as_deref(),
        Some("founder named in the charter")
    );
    assert_eq!(m.standing(&key(9).id()), None);
}

#[test]
fn k_introductions_admit_and_fewer_do_not() {
    let mut set = net();
    admit(&mut set, &key(4), &[&key(1)]);
    assert_eq!(status(&set, &key(4)), Some(Status::Pending));
    let m = set.membership();
    let reason = m.standing(&key(4).id()).map(Standing::reason);
    assert_eq!(
        reason.as_deref(),
        Some(format!("1 of 2 introductions count ({})", key(1).id().short()).as_str())
    );
    admit(&mut set, &key(4), &[&key(2)]);
    assert_eq!(status(&set, &key(4)), Some(Status::Admitted));
    assert!(set.membership().is_member(&key(4).id()));
}

#[test]
fn a_sponsor_counts_once_however_many_introductions_it_signs() {
    let mut set = net();
    let n = set.network_id();
    let app = application(n, &key(4));
    add(&mut set, app.clone());
    add(&mut set, introduction(n, &key(1), &app));
    // A second, different introduction by the same sponsor.
    let mut again = introduction(n, &key(1), &app).statement().clone();
    if let Statement::Introduction(i) = &mut again {
        i.note = "vouching twice".into();
    }
    add(
        &mut set,
        SignedStatement::sign(again, &key(1)).expect("valid"),
    );
    assert_eq!(status(&set, &key(4)), Some(Status::Pending));
    // It is listed once, not twice: "1 of 2", not "2 of 2".
    let m = set.membership();
    let s = m.standing(&key(4).id()).expect("known");
    assert_eq!(s.sponsors().collect::<Vec<_>>(), vec![&key(1).id()]);
    assert_eq!(
        s.reason(),
        format!("1 of 2 introductions count ({})", key(1).id().short())
    );
}

#[test]
fn a_pending_revocation_shows_and_a_revoker_is_listed_once() {
    let mut set = net();
    let n = set.network_id();
    add(&mut set, revocation(n, &key(1), &key(3), vec![]));
    let mut again = revocation(n, &key(1), &key(3), vec![]).statement().clone();
    if let Statement::Revocation(r) = &mut again {
        r.reason = "said twice".into();
    }
    add(
        &mut set,
        SignedStatement::sign(again, &key(1)).expect("valid"),
    );
    let m = set.membership();
    let s = m.standing(&key(3).id()).expect("named");
    assert_eq!(s.status, Status::Founder);
    assert_eq!(s.revokers().count(), 1);
    assert_eq!(
        s.reason(),
        format!(
            "founder named in the charter; revocation pending: 1 of 2 (by {})",
            key(1).id().short()
        )
    );
    add(&mut set, revocation(n, &key(2), &key(3), vec![]));
    let m = set.membership();
    let s = m.standing(&key(3).id()).expect("named");
    assert_eq!(s.revocation_pending(), None);
    assert!(s.reason().starts_with("revoked by "), "{}", s.reason());
    assert_eq!(s.revokers().count(), 2);
}

#[test]
fn introductions_by_non_members_count_only_once_the_sponsor_is_admitted() {
    let mut set = net();
    // 5 is introduced by 1 and by 4, who is not a member yet.
    admit(&mut set, &key(5), &[&key(1), &key(4)]);
    assert_eq!(status(&set, &key(5)), Some(Status::Pending));
    let m = set.membership();
    let notes = &m.standing(&key(5).id()).expect("named").introductions;
    assert!(
        notes
            .iter()
            .any(|i| i.sponsor == key(4).id() && i.ignored == Some(Ignored::SponsorNotMember))
    );
    admit(&mut set, &key(4), &[&key(2), &key(3)]);
    assert_eq!(status(&set, &key(5)), Some(Status::Admitted));
}

#[test]
fn an_introduction_without_its_application_does_not_count() {
    let mut set = net();
    let n = set.network_id();
    let app = application(n, &key(4));
    add(&mut set, introduction(n, &key(1), &app));
    add(&mut set, introduction(n, &key(2), &app));
    let m = set.membership();
    let s = m.standing(&key(4).id()).expect("named");
    assert_eq!(s.status, Status::Pending);
    assert!(!s.applied);
    assert!(
        s.introductions
            .iter()
            .all(|i| i.ignored == Some(Ignored::UnknownApplication))
    );
    add(&mut set, app);
    assert_eq!(status(&set, &key(4)), Some(Status::Admitted));
}

#[test]
fn an_introduction_naming_another_teams_application_does_not_count() {
    let mut set = net();
    let n = set.network_id();
    let other_app = application(n, &key(5));
    add(&mut set, other_app.clone());
    add(&mut set, application(n, &key(4)));
    for sponsor in [key(1), key(2)] {
        let st = Statement::Introduction(Introduction {
            network: n,
            sponsor: sponsor.id(),
            applicant: key(4).id(),
            application: other_app.id(),
            created_at: 0,
            note: String::new(),
        });
        add(
            &mut set,
            SignedStatement::sign(st, &sponsor).expect("valid"),
        );
    }
    let m = set.membership();
    let s = m.standing(&key(4).id()).expect("named");
    assert_eq!(s.status, Status::Pending);
    assert!(
        s.introductions
            .iter()
            .all(|i| i.ignored == Some(Ignored::ApplicationMismatch))
    );
}

#[test]
fn statements_for_another_network_are_not_inserted() {
    let mut set = net();
    let other = charter(&[&key(1)], 1, 1).network_id();
    let err = set.insert(application(other, &key(4)));
    assert!(matches!(err, Err(StatementError::WrongNetwork { .. })));
    assert!(set.is_empty());
}

#[test]
fn self_revocation_takes_effect_alone() {
    let mut set = net();
    let n = set.network_id();
    add(&mut set, revocation(n, &key(2), &key(2), vec![]));
    assert_eq!(status(&set, &key(2)), Some(Status::Revoked));
    assert!(!set.membership().is_member(&key(2).id()));
}

#[test]
fn revocation_needs_a_quorum_of_members() {
    let mut set = net();
    let n = set.network_id();
    add(&mut set, revocation(n, &key(1), &key(3), vec![]));
    assert_eq!(status(&set, &key(3)), Some(Status::Founder));
    // A non-member's vote does not count.
    add(&mut set, revocation(n, &key(7), &key(3), vec![]));
    assert_eq!(status(&set, &key(3)), Some(Status::Founder));
    add(&mut set, revocation(n, &key(2), &key(3), vec![]));
    assert_eq!(status(&set, &key(3)), Some(Status::Revoked));
    let m = set.membership();
    let s = m.standing(&key(3).id()).expect("named");
    assert_eq!(s.revokers().count(), 2);
    assert!(s.reason().starts_with("revoked by "));
}

#[test]
fn a_revoked_key_never_returns() {
    let mut set = net();
    let n = set.network_id();
    admit(&mut set, &key(4), &[&key(1), &key(2)]);
    add(&mut set, revocation(n, &key(4), &key(4), vec![]));
    // New application and introductions from every founder do not help.
    admit(&mut set, &key(4), &[&key(1), &key(2), &key(3)]);
    assert_eq!(status(&set, &key(4)), Some(Status::Revoked));
}

#[test]
fn kept_introductions_of_a_revoked_sponsor_still_count_and_others_are_void() {
    let mut set = net();
    let n = set.network_id();
    let honest = admit(&mut set, &key(5), &[&key(1), &key(2)]);
    // After 1's key is stolen, the thief introduces 6, with 3 (say fooled).
    admit(&mut set, &key(6), &[&key(1), &key(3)]);
    assert_eq!(status(&set, &key(6)), Some(Status::Admitted));
    // 2 and 3 revoke 1, keeping only the honest introduction of 5.
    add(&mut set, revocation(n, &key(2), &key(1), vec![honest[0]]));
    add(&mut set, revocation(n, &key(3), &key(1), vec![honest[0]]));
    let m = set.membership();
    assert_eq!(status(&set, &key(1)), Some(Status::Revoked));
    assert_eq!(status(&set, &key(5)), Some(Status::Admitted));
    assert_eq!(status(&set, &key(6)), Some(Status::Pending));
    let notes = &m.standing(&key(6).id()).expect("named").introductions;
    assert!(
        notes
            .iter()
            .any(|i| i.sponsor == key(1).id() && i.ignored == Some(Ignored::SponsorRevoked))
    );
}

#[test]
fn a_frontier_only_keeps_the_revoked_keys_own_introductions() {
    let mut set = net();
    let n = set.network_id();
    let by_one = admit(&mut set, &key(5), &[&key(1), &key(2)]);
    let by_two = admit(&mut set, &key(6), &[&key(2), &key(3)]);
    // Revoke 1 and 2 (r = 2 each). 1's revocation wrongly lists 2's
    // introduction of 6; it must not keep it.
    add(&mut set, revocation(n, &key(3), &key(2), vec![]));
    add(&mut set, revocation(n, &key(1), &key(2), vec![]));
    add(
        &mut set,
        revocation(n, &key(2), &key(1), vec![by_one[0], by_two[0]]),
    );
    add(&mut set, revocation(n, &key(3), &key(1), vec![by_one[0]]));
    assert_eq!(status(&set, &key(1)), Some(Status::Revoked));
    assert_eq!(status(&set, &key(2)), Some(Status::Revoked));
    // 5 keeps 1's introduction, but 2's is void: one of two.
    assert_eq!(status(&set, &key(5)), Some(Status::Pending));
    assert_eq!(status(&set, &key(6)), Some(Status::Pending));
}

#[test]
fn mutual_revocation_revokes_both() {
    let mut set = StatementSet::new(charter(&[&key(1), &key(2), &key(3)], 1, 1));
    let n = set.network_id();
    add(&mut set, revocation(n, &key(1), &key(2), vec![]));
    add(&mut set, revocation(n, &key(2), &key(1), vec![]));
    let m = set.membership();
    assert_eq!(
        m.members().iter().copied().collect::<Vec<_>>(),
        vec![key(3).id()]
    );
}

#[test]
fn revocation_votes_are_judged_against_m0() {
    // 4 was admitted by 1 and 2. After 1 is revoked without keeping its
    // introduction, 4 is no longer a member, yet 4's vote still counts
    // because revocations are judged against M0.
    let mut set = StatementSet::new(charter(&[&key(1), &key(2), &key(3)], 2, 1));
    let n = set.network_id();
    admit(&mut set, &key(4), &[&key(1), &key(2)]);
    add(&mut set, revocation(n, &key(1), &key(1), vec![]));
    assert_eq!(status(&set, &key(4)), Some(Status::Pending));
    add(&mut set, revocation(n, &key(4), &key(3), vec![]));
    assert_eq!(status(&set, &key(3)), Some(Status::Revoked));
}

#[test]
fn duplicate_insert_is_not_new() {
    let mut set = net();
    let app = application(set.network_id(), &key(4));
    assert_eq!(set.insert(app.clone()), Ok(true));
    assert_eq!(set.insert(app.clone()), Ok(false));
    assert_eq!(set.insert_bytes(&app.encode()), Ok((app.id(), false)));
    assert_eq!(set.len(), 1);
}

// ---- Order independence -------------------------------------------------

/// A random network: the statements, in generation order.
#[derive(Debug, Clone)]
struct Scenario {
    founders: usize,
    k: u16,
    r: u16,
    statements: Vec<SignedStatement>,
}

/// Keys 1..=founders are founders; the rest may apply.
const KEYS: u8 = 9;

fn keys() -> &'static [TeamKey] {
    use std::sync::OnceLock;
    static KEYS_CACHE: OnceLock<Vec<TeamKey>> = OnceLock::new();
    KEYS_CACHE.get_or_init(|| (1..=KEYS).map(key).collect())
}

fn scenario_charter(s: &Scenario) -> Charter {
    let founders: Vec<&TeamKey> = keys()[..s.founders].iter().collect();
    charter(&founders, s.k, s.r)
}

/// Actions over key indexes; introductions and revocations may name anyone,
/// including non-members, revoked keys and themselves (revocations).
#[derive(Debug, Clone)]
enum Action {
    Apply(usize),
    Introduce {
        sponsor: usize,
        app: usize,
    },
    Revoke {
        revoker: usize,
        revoked: usize,
        keep: Vec<usize>,
    },
}

fn action() -> impl Strategy<Value = Action> {
    let n = KEYS as usize;
    prop_oneof![
        3 => (0..n).prop_map(Action::Apply),
        6 => (0..n, any::<usize>()).prop_map(|(sponsor, app)| Action::Introduce { sponsor, app }),
        2 => (0..n, 0..n, proptest::collection::vec(any::<usize>(), 0..3))
            .prop_map(|(revoker, revoked, keep)| Action::Revoke { revoker, revoked, keep }),
    ]
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        1usize..=4,
        1u16..=3,
        1u16..=3,
        proptest::collection::vec(action(), 0..40),
    )
        .prop_map(|(founders, k, r, actions)| {
            let k = k.min(founders as u16);
            let mut s = Scenario {
                founders,
                k,
                r,
                statements: vec![],
            };
            let n = scenario_charter(&s).network_id();
            let mut apps: Vec<SignedStatement> = vec![];
            let mut intros: Vec<(usize, StatementId)> = vec![];
            for a in actions {
                match a {
                    Action::Apply(i) => {
                        let app = application(n, &keys()[i]);
                        s.statements.push(app.clone());
                        apps.push(app);
                    }
                    Action::Introduce { sponsor, app } if !apps.is_empty() => {
                        let app = &apps[app % apps.len()];
                        if app.statement().signer() != keys()[sponsor].id() {
                            let intro = introduction(n, &keys()[sponsor], app);
                            intros.push((sponsor, intro.id()));
                            s.statements.push(intro);
                        }
                    }
                    Action::Introduce { .. } => {}
                    Action::Revoke {
                        revoker,
                        revoked,
                        keep,
                    } => {
                        let own: Vec<StatementId> = intros
                            .iter()
                            .filter(|(sp, _)| *sp == revoked)
                            .map(|(_, id)| *id)
                            .collect();
                        let kept = if own.is_empty() {
                            vec![]
                        } else {
                            keep.iter().map(|i| own[i % own.len()]).collect()
                        };
                        s.statements
                            .push(revocation(n, &keys()[revoker], &keys()[revoked], kept));
                    }
                }
            }
            s
        })
}

fn membership_of(charter: &Charter, order: &[SignedStatement]) -> Membership {
    let mut set = StatementSet::new(charter.clone());
    for s in order {
        set.insert(s.clone()).expect("generated statements verify");
    }
    set.membership()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any permutation of the statements gives the same membership.
    #[test]
    fn membership_is_independent_of_order(
        s in scenario(),
        shuffle_seed in any::<u64>(),
    ) {
        let charter = scenario_charter(&s);
        let expected = membership_of(&charter, &s.statements);
        let mut shuffled = s.statements.clone();
        shuffle(&mut shuffled, shuffle_seed);
        prop_assert_eq!(&membership_of(&charter, &shuffled), &expected);
        shuffled.reverse();
        prop_assert_eq!(&membership_of(&charter, &shuffled), &expected);
    }

    /// Splitting the statements into batches held by different replicas,
    /// with overlaps and duplicates, then merging the replicas in any order,
    /// gives the same membership as one replica holding them all.
    #[test]
    fn membership_is_independent_of_batching_and_merge_order(
        s in scenario(),
        assignment in proptest::collection::vec((0usize..4, 0usize..4), 40),
        merge_seed in any::<u64>(),
    ) {
        let charter = scenario_charter(&s);
        let expected = membership_of(&charter, &s.statements);
        let mut replicas: Vec<StatementSet> =
            (0..4).map(|_| StatementSet::new(charter.clone())).collect();
        for (i, st) in s.statements.iter().enumerate() {
            let (a, b) = assignment[i % assignment.len()];
            replicas[a].insert(st.clone()).expect("verifies");
            replicas[b].insert(st.clone()).expect("verifies");
        }
        let mut order: Vec<usize> = (0..4).collect();
        shuffle(&mut order, merge_seed);
        let mut merged = StatementSet::new(charter.clone());
        for i in order {
            // Each intermediate state is itself some replica's state; its
            // membership must be computable without error.
            let _ = merged.membership();
            merged.merge(&replicas[i]).expect("same network");
        }
        prop_assert_eq!(merged.len(), s.statements.iter().map(|x| x.id()).collect::<BTreeSet<_>>().len());
        prop_assert_eq!(&merged.membership(), &expected);
    }

    /// Safety: members are founders or have k counted sponsors that are
    /// members; revoked keys are never members.
    #[test]
    fn every_member_is_justified(s in scenario()) {
        let charter = scenario_charter(&s);
        let m = membership_of(&charter, &s.statements);
        for st in m.standings() {
            let member = m.is_member(&st.team);
            prop_assert_eq!(member, matches!(st.status, Status::Founder | Status::Admitted));
            if st.status == Status::Admitted {
                let sponsors: BTreeSet<_> = st.sponsors().collect();
                prop_assert!(sponsors.len() >= usize::from(s.k));
                // A sponsor is a member, or a revoked member whose
                // introduction a revocation kept.
                prop_assert!(sponsors.iter().all(|sp| **sp != st.team && (m.is_member(sp)
                    || m.standing(sp).is_some_and(|x| x.status == Status::Revoked))));
            }
            if st.status == Status::Revoked {
                prop_assert!(!member);
            }
        }
    }
}

/// A small deterministic Fisher-Yates shuffle, so the test needs no RNG crate.
fn shuffle<T>(items: &mut [T], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let j = (seed >> 33) as usize % (i + 1);
        items.swap(i, j);
    }
}
