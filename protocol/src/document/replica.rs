//! The sans-IO replica of every document: the verified signed changes it
//! holds, and each document's materialized state as a pure function of
//! (those changes, the membership).
//!
//! A stored change is **applied** when all of these hold:
//! 1. its signature verified and its author may ever write the document
//!    (checked on insert; contacts and tools refuse any author but the
//!    owner outright);
//! 2. its author is a member, or is revoked and the change lies in the
//!    causal past of the heads its counted revocations keep
//!    ([`Membership::kept_heads`]);
//! 3. no other eligible change by the same actor with the same sequence
//!    number has a smaller hash (an equivocating process cannot fork
//!    replicas apart);
//! 4. all its dependencies are applied, and its sequence number follows
//!    the highest one of its actor in its causal past;
//! 5. for an advisory written by a co-author: the owner had named the
//!    author in the co-author list *as it stood in the change's causal
//!    past*, and the change touches no owner-only field (TLP label,
//!    audience, co-author list).
//!
//! Rules 4 and 5 depend only on the change's causal past, and rules 1 to 3
//! only on the stored set and the membership, so the applied set is the
//! same whatever order changes and statements arrived in. Changes are
//! applied in a canonical order (ready changes smallest hash first) when a
//! document is rebuilt; between rebuilds a new change is applied as soon as
//! it is ready, which Automerge's commutativity makes equivalent. A change
//! Automerge itself refuses marks its document for canonical rebuilds from
//! then on.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use automerge::transaction::{CommitOptions, Transaction};
use automerge::{ActorId, Automerge, AutomergeError, ChangeHash as AmHash, ROOT, ReadDoc};
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::advisory::{
    self, Advisory, AdvisoryDocument, Authored, CsafImport, Envelope, ImportError, Json,
    OWNER_ONLY_KEYS, Origin, Original, Revision, TlpSource,
    tree::{self, Step},
};
use super::change::{
    ActorSuffix, ChangeError, MAX_CHANGE_BYTES, SignedChange, actor_id, change_message,
};
use super::contacts::Contact;
use super::id::{DocId, DocKind, DocRef};
use super::schema::{Schema, SchemaError};
use super::tools::Tool;
use crate::identity::{TeamId, TeamKey};
use crate::membership::Membership;
use crate::statement::{ChangeHash, NetworkId};

/// Where a stored change stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ChangeStatus {
    /// Applied to the materialized document.
    Applied,
    /// Waiting: a dependency is missing or not applied.
    MissingDeps,
    /// Kept aside: the author is not a member (yet).
    AuthorNotMember,
    /// Kept aside: the author is revoked and no counted revocation keeps
    /// this change.
    OutsideRevocationFrontier,
    /// Refused: the author was not a co-author the owner had named in the
    /// change's causal past, or touched a field only the owner may write.
    NotPermitted,
    /// Ignored: another change by the same actor with the same sequence
    /// number has a smaller hash.
    Superseded,
    /// Refused: the sequence number does not follow the actor's previous
    /// change in its causal past.
    BrokenSequence,
    /// Refused by Automerge.
    Refused,
}

/// What inserting a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inserted {
    /// The document.
    pub doc: DocId,
    /// The change's hash.
    pub hash: ChangeHash,
    /// Whether the change was new here.
    pub new: bool,
    /// Where the change stands now.
    pub status: ChangeStatus,
    /// Whether the materialized document changed.
    pub changed: bool,
}

impl Inserted {
    /// A change the replica did not take (held already, or its document
    /// could not be read back): nothing changed.
    fn not_taken(doc: DocId, hash: ChangeHash, status: ChangeStatus) -> Self {
        Self {
            doc,
            hash,
            new: false,
            status,
            changed: false,
        }
    }
}

/// Why a local edit could not be made.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EditError {
    /// The new value fails validation.
    #[error(transparent)]
    Invalid(#[from] SchemaError),
    /// The editing team is not a member.
    #[error("{0} is not a member")]
    NotMember(TeamId),
    /// The editing team may not write this document.
    #[error("{author} may not write the {doc}")]
    NotPermitted {
        /// The editing team.
        author: TeamId,
        /// The document.
        doc: DocRef,
    },
    /// A co-author tried to change a field only the owner may write.
    #[error("only the owner may change the {0}")]
    OwnerOnly(&'static str),
    /// The document has no state here yet.
    #[error("there is no {0} here")]
    NotFound(DocRef),
    /// The document already exists.
    #[error("the {0} already exists")]
    AlreadyExists(DocRef),
    /// Changes by this actor are stored here but not applied; a new change
    /// would reuse their sequence numbers.
    #[error("the actor suffix has changes here that are not applied; use a fresh suffix")]
    ActorReused,
    /// The resulting change is larger than the limit.
    #[error("the change would have {0} bytes, more than the limit")]
    TooLarge(usize),
    /// Automerge failed while writing (a bug, or a document that does not
    /// match its schema).
    #[error("automerge: {0}")]
    Automerge(String),
    /// The change could not be signed.
    #[error(transparent)]
    Change(#[from] ChangeError),
    /// The change was made but could not be applied here.
    #[error("the change was not applied: {0:?}")]
    NotApplied(ChangeStatus),
    /// The CSAF document could not be imported.
    #[error(transparent)]
    Import(#[from] ImportError),
    /// The owner's edit would send a restricted advisory's history (every
    /// earlier text) to teams outside its audience. A wider label or
    /// audience starts a new advisory instead (see
    /// [`Documents::continuation_name`]).
    #[error(
        "the advisory is TLP:{held} for its audience; as TLP:{offered} for more teams it would send them its whole history: publish the current text as a new advisory"
    )]
    WidensHistory {
        /// The held label.
        held: &'static str,
        /// The label asked for.
        offered: &'static str,
    },
    /// The advisory's CSAF tree was edited as CSAF (or imported), so its
    /// short form no longer says everything it holds.
    #[error("the {0} holds CSAF the short form cannot express; edit its CSAF tree")]
    NotShortForm(DocRef),
}

/// What importing a CSAF document did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The advisory.
    pub doc: DocRef,
    /// The signed changes made, in order (none when nothing differed).
    pub changes: Vec<SignedChange>,
    /// For a new revision of a held advisory, the `tracking.version` held
    /// before; `None` for a new advisory.
    pub previous: Option<String>,
    /// The TLP label it is shared under.
    pub tlp: advisory::Tlp,
    /// Where that label came from.
    pub tlp_source: TlpSource,
}

/// The short form of an advisory written in trustmesh whose tree is still
/// the tree of its short form (so a rewrite from the form loses nothing).
fn short_form(
    held: &AdvisoryDocument,
    doc: &DocRef,
    owner: &TeamId,
) -> Result<Authored, EditError> {
    match held.authored() {
        Ok(a) if a.to_csaf(owner) == held.csaf => Ok(a),
        Ok(_) | Err(SchemaError::NotAuthored) => Err(EditError::NotShortForm(doc.clone())),
        Err(e) => Err(e.into()),
    }
}

/// Estimated bytes per change when a write spans several: under
/// [`MAX_CHANGE_BYTES`] with room for the estimate's error; a change that
/// still comes out too large is made again with half the budget.
const CHANGE_BUDGET: usize = 768 << 10;

/// Random bytes for a sharing group minted by a write whose caller passes
/// none (the short-form edits): a digest of the process's actor suffix
/// (drawn at random per process), the document, the audience and the time,
/// so ids differ between documents, audiences and processes.
fn derived_random(suffix: &ActorSuffix, doc: &DocRef, audience: &[TeamId], now: u64) -> [u8; 16] {
    let mut h = Sha256::new();
    h.update(b"trustmesh/v1/sharing-group\0");
    h.update(suffix.as_bytes());
    h.update(doc.id().as_bytes());
    for t in audience {
        h.update(t.as_bytes());
    }
    h.update(now.to_be_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&h.finalize()[..16]);
    out
}

impl From<AutomergeError> for EditError {
    fn from(e: AutomergeError) -> Self {
        EditError::Automerge(e.to_string())
    }
}

/// The part of the membership documents depend on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct View {
    members: BTreeSet<TeamId>,
    revoked: BTreeMap<TeamId, BTreeSet<ChangeHash>>,
}

/// Whether an author's changes may apply, as the view says (named apart
/// from [`crate::Standing`], a team's full standing in the membership).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Eligibility<'a> {
    /// A member: its changes apply.
    Member,
    /// Revoked: only changes in the causal past of these kept heads apply.
    Revoked(&'a BTreeSet<ChangeHash>),
    /// Neither: its changes are kept aside.
    Outside,
}

impl View {
    fn of(m: &Membership) -> Self {
        let revoked = m
            .standings()
            .filter_map(|s| m.kept_heads(&s.team).map(|k| (s.team, k.clone())))
            .collect();
        Self {
            members: m.members().clone(),
            revoked,
        }
    }

    fn eligibility(&self, id: &TeamId) -> Eligibility<'_> {
        if self.members.contains(id) {
            Eligibility::Member
        } else if let Some(kept) = self.revoked.get(id) {
            Eligibility::Revoked(kept)
        } else {
            Eligibility::Outside
        }
    }
}

/// The highest sequence number of each actor in a change's causal past.
type Clock = BTreeMap<ActorId, u64>;

#[derive(Debug, Clone)]
struct Stored {
    signed: SignedChange,
    status: ChangeStatus,
}

#[derive(Debug, Clone)]
struct DocState {
    doc_ref: DocRef,
    changes: BTreeMap<ChangeHash, Stored>,
    /// For each hash, the stored changes that depend on it.
    children: BTreeMap<ChangeHash, BTreeSet<ChangeHash>>,
    /// Stored changes by actor and sequence number.
    by_seq: BTreeMap<(ActorId, u64), BTreeSet<ChangeHash>>,
    authors: BTreeSet<TeamId>,
    /// The materialized document, or what is kept of it while evicted.
    doc: Held,
    /// The clock of every applied change.
    clocks: BTreeMap<ChangeHash, Clock>,
    /// Changes Automerge refused in the last canonical rebuild.
    refused: BTreeSet<ChangeHash>,
}

/// A document's materialized state, or, out of the cache, what the hot
/// paths read of it (not even an empty document's few kilobytes). The
/// document is its applied changes, so it comes back by applying them
/// ([`DocState::replay_applied`]).
#[derive(Debug, Clone)]
enum Held {
    /// Boxed: most documents of a large store are evicted, and an
    /// `Automerge` is hundreds of bytes even when empty.
    Live(Box<Automerge>),
    Evicted(Box<Evicted>),
}

/// What is kept of a document whose materialized state was evicted.
#[derive(Debug, Clone)]
struct Evicted {
    heads: Vec<ChangeHash>,
    restricted: Option<Vec<TeamId>>,
    /// An advisory's CSAF tracking id and publisher namespace.
    csaf_key: (Option<String>, Option<String>),
}

fn to_am(h: &ChangeHash) -> AmHash {
    AmHash(*h.as_bytes())
}

fn from_am(h: &AmHash) -> ChangeHash {
    ChangeHash::from_bytes(h.0)
}

impl DocState {
    fn new(doc_ref: DocRef) -> Self {
        Self {
            doc_ref,
            changes: BTreeMap::new(),
            children: BTreeMap::new(),
            by_seq: BTreeMap::new(),
            authors: BTreeSet::new(),
            doc: Held::Live(Box::new(Automerge::new())),
            clocks: BTreeMap::new(),
            refused: BTreeSet::new(),
        }
    }

    fn heads(&self) -> Vec<ChangeHash> {
        if let Held::Evicted(e) = &self.doc {
            return e.heads.clone();
        }
        let mut heads: Vec<_> = self.am().get_heads().iter().map(from_am).collect();
        heads.sort();
        heads
    }

    /// The materialized document, for paths that run while it is held
    /// (after [`Self::wake`] or a rebuild); an evicted one reads as empty.
    fn am(&self) -> &Automerge {
        static EMPTY: std::sync::LazyLock<Automerge> = std::sync::LazyLock::new(Automerge::new);
        match &self.doc {
            Held::Live(doc) => doc,
            Held::Evicted(_) => &EMPTY,
        }
    }

    fn am_mut(&mut self) -> &mut Automerge {
        if self.is_evicted() {
            self.doc = Held::Live(Box::new(Automerge::new()));
        }
        match &mut self.doc {
            Held::Live(doc) => doc,
            Held::Evicted(_) => unreachable!("made live above"),
        }
    }

    fn is_evicted(&self) -> bool {
        matches!(self.doc, Held::Evicted(_))
    }

    /// The materialized document rebuilt from the applied changes, in
    /// dependency order, without the checks their statuses record.
    fn replay_applied(&self) -> Result<Automerge, &'static str> {
        let mut order: Vec<&SignedChange> = self
            .changes
            .values()
            .filter(|s| s.status == ChangeStatus::Applied)
            .map(|s| &s.signed)
            .collect();
        order.sort_by_key(|c| (c.start_op(), c.hash()));
        let mut doc = Automerge::new();
        doc.apply_changes(order.into_iter().map(|c| c.change().clone()))
            .map_err(|_| "the applied changes do not apply")?;
        // Nothing waits for a dependency: every change is in.
        if !doc.get_missing_deps(&[]).is_empty() {
            return Err("the applied changes miss a dependency");
        }
        Ok(doc)
    }

    /// The materialized document: the one held, or, while evicted, a copy
    /// brought back for this read (the cache is not changed).
    fn materialized(&self, view: &View) -> Cow<'_, Automerge> {
        if !self.is_evicted() {
            return Cow::Borrowed(self.am());
        }
        match self.replay_applied() {
            Ok(doc) => Cow::Owned(doc),
            // Applied changes that no longer apply together would be a bug;
            // the canonical rebuild is the answer either way.
            Err(_) => {
                let mut copy = self.clone();
                copy.rebuild(view);
                Cow::Owned(std::mem::take(copy.am_mut()))
            }
        }
    }

    /// Brings an evicted document back into memory.
    fn wake(&mut self, view: &View) {
        if !self.is_evicted() {
            return;
        }
        match self.replay_applied() {
            Ok(doc) => self.doc = Held::Live(Box::new(doc)),
            Err(_) => self.rebuild(view),
        }
    }

    /// Drops the materialized document, keeping what hot paths read.
    fn evict(&mut self) {
        if self.is_evicted() {
            return;
        }
        let evicted = Evicted {
            heads: self.heads(),
            restricted: self.restricted(),
            csaf_key: self.csaf_key(),
        };
        self.doc = Held::Evicted(Box::new(evicted));
    }

    /// See [`Documents::restricted_to`].
    fn restricted(&self) -> Option<Vec<TeamId>> {
        if let Held::Evicted(e) = &self.doc {
            return e.restricted.clone();
        }
        match self.doc_ref.kind() {
            DocKind::Contacts | DocKind::Tools => None,
            DocKind::Advisory => match advisory::distribution(self.am()) {
                Some((tlp, _)) if !tlp.is_restricted() => None,
                Some((_, audience)) => Some(audience),
                None => Some(vec![self.doc_ref.owner()]),
            },
        }
    }

    /// An advisory's CSAF tracking id and publisher namespace.
    fn csaf_key(&self) -> (Option<String>, Option<String>) {
        if let Held::Evicted(e) = &self.doc {
            return e.csaf_key.clone();
        }
        if self.doc_ref.kind() != DocKind::Advisory {
            return (None, None);
        }
        let at = |path: &[&str]| tree::get_str(self.am(), path);
        (
            at(&[advisory::CSAF, "document", "tracking", "id"]),
            at(&[advisory::CSAF, "document", "publisher", "namespace"]),
        )
    }

    fn status(&self, h: &ChangeHash) -> Option<ChangeStatus> {
        self.changes.get(h).map(|s| s.status)
    }

    fn is_applied(&self, h: &ChangeHash) -> bool {
        self.status(h) == Some(ChangeStatus::Applied)
    }

    fn deps_applied(&self, h: &ChangeHash) -> bool {
        self.changes.get(h).is_some_and(|s| {
            s.signed
                .change()
                .deps()
                .iter()
                .all(|d| self.is_applied(&from_am(d)))
        })
    }

    /// The heads of the stored changes (applied or not), sorted.
    fn stored_heads(&self) -> Vec<ChangeHash> {
        self.changes
            .keys()
            .filter(|h| {
                self.children
                    .get(h)
                    .is_none_or(|c| c.iter().all(|c| !self.changes.contains_key(c)))
            })
            .copied()
            .collect()
    }

    /// Dependencies named by stored changes that are not stored, sorted.
    fn missing(&self) -> Vec<ChangeHash> {
        self.children
            .keys()
            .filter(|h| !self.changes.contains_key(h))
            .copied()
            .collect()
    }

    fn set_status(&mut self, h: &ChangeHash, status: ChangeStatus) {
        if let Some(s) = self.changes.get_mut(h) {
            s.status = status;
        }
    }

    fn has_revoked_author(&self, view: &View) -> bool {
        self.authors
            .iter()
            .any(|a| matches!(view.eligibility(a), Eligibility::Revoked(_)))
    }

    /// Every hash in the causal past of `kept` (inclusive) as far as the
    /// stored changes tell.
    fn frontier(&self, kept: &BTreeSet<ChangeHash>) -> BTreeSet<ChangeHash> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<ChangeHash> = kept.iter().copied().collect();
        while let Some(h) = stack.pop() {
            if seen.insert(h)
                && let Some(s) = self.changes.get(&h)
            {
                stack.extend(s.signed.change().deps().iter().map(from_am));
            }
        }
        seen
    }

    /// [`Self::insert`], reporting as [`Documents::keep`] does.
    fn keep(&mut self, signed: SignedChange, view: &View) -> Inserted {
        let doc = signed.doc();
        let hash = signed.hash();
        if self.status(&hash).is_none() {
            self.wake(view);
        }
        let before = self.heads();
        let (new, status) = self.insert(signed, view);
        let changed = self.heads() != before;
        Inserted {
            doc,
            hash,
            new,
            status,
            changed,
        }
    }

    /// Stores a verified change and applies what became applicable.
    fn insert(&mut self, signed: SignedChange, view: &View) -> (bool, ChangeStatus) {
        let h = signed.hash();
        if let Some(status) = self.status(&h) {
            return (false, status);
        }
        let change = signed.change();
        for d in change.deps() {
            self.children.entry(from_am(d)).or_default().insert(h);
        }
        let key = (change.actor_id().clone(), change.seq());
        self.by_seq.entry(key.clone()).or_default().insert(h);
        self.authors.insert(signed.author());
        let author = signed.author();
        self.changes.insert(
            h,
            Stored {
                signed,
                status: ChangeStatus::MissingDeps,
            },
        );

        // Revoked authors' frontiers and Automerge refusals can depend on
        // the whole stored set: take the canonical path.
        if !self.refused.is_empty() || self.has_revoked_author(view) {
            self.rebuild(view);
            return (true, self.status(&h).unwrap_or(ChangeStatus::Refused));
        }
        if view.eligibility(&author) != Eligibility::Member {
            self.set_status(&h, ChangeStatus::AuthorNotMember);
            return (true, ChangeStatus::AuthorNotMember);
        }
        // Rivals share the actor, hence the author and its eligibility.
        let rivals: Vec<ChangeHash> = self.by_seq[&key]
            .iter()
            .copied()
            .filter(|r| *r != h)
            .collect();
        if rivals.iter().any(|r| *r < h) {
            self.set_status(&h, ChangeStatus::Superseded);
            return (true, ChangeStatus::Superseded);
        }
        if rivals.iter().any(|r| self.is_applied(r)) {
            self.rebuild(view);
            return (true, self.status(&h).unwrap_or(ChangeStatus::Refused));
        }
        for r in &rivals {
            self.set_status(r, ChangeStatus::Superseded);
        }
        if self.deps_applied(&h) && self.drive(BTreeSet::from([h])).is_err() {
            self.rebuild(view);
        }
        (true, self.status(&h).unwrap_or(ChangeStatus::Refused))
    }

    /// Recomputes the materialized document from scratch, in the canonical
    /// order, as a pure function of the stored changes and `view`.
    fn rebuild(&mut self, view: &View) {
        let mut refused = BTreeSet::new();
        loop {
            self.doc = Held::Live(Box::new(Automerge::new()));
            self.clocks.clear();
            let frontiers: BTreeMap<TeamId, BTreeSet<ChangeHash>> = self
                .authors
                .iter()
                .filter_map(|a| match view.eligibility(a) {
                    Eligibility::Revoked(kept) => Some((*a, self.frontier(kept))),
                    _ => None,
                })
                .collect();
            let hashes: Vec<ChangeHash> = self.changes.keys().copied().collect();
            for h in &hashes {
                let author = self.changes[h].signed.author();
                let status = if refused.contains(h) {
                    ChangeStatus::Refused
                } else {
                    match view.eligibility(&author) {
                        Eligibility::Member => ChangeStatus::MissingDeps,
                        Eligibility::Revoked(_)
                            if frontiers.get(&author).is_some_and(|f| f.contains(h)) =>
                        {
                            ChangeStatus::MissingDeps
                        }
                        Eligibility::Revoked(_) => ChangeStatus::OutsideRevocationFrontier,
                        Eligibility::Outside => ChangeStatus::AuthorNotMember,
                    }
                };
                self.set_status(h, status);
            }
            // Rule 3: among eligible rivals the smallest hash is the candidate.
            let superseded: Vec<ChangeHash> = self
                .by_seq
                .values()
                .flat_map(|rivals| {
                    rivals
                        .iter()
                        .filter(|r| self.status(r) == Some(ChangeStatus::MissingDeps))
                        .skip(1)
                        .copied()
                })
                .collect();
            for h in &superseded {
                self.set_status(h, ChangeStatus::Superseded);
            }
            let ready: BTreeSet<ChangeHash> = hashes
                .iter()
                .filter(|h| {
                    self.status(h) == Some(ChangeStatus::MissingDeps) && self.deps_applied(h)
                })
                .copied()
                .collect();
            match self.drive(ready) {
                Ok(()) => break,
                Err(h) => {
                    refused.insert(h);
                }
            }
        }
        self.refused = refused;
    }

    /// Applies the ready changes and everything they make ready, smallest
    /// hash first. Returns the change Automerge refused, if any; the
    /// document must then be rebuilt.
    fn drive(&mut self, mut ready: BTreeSet<ChangeHash>) -> Result<(), ChangeHash> {
        while let Some(h) = ready.pop_first() {
            let clock = match self.check(&h) {
                Ok(clock) => clock,
                Err(status) => {
                    self.set_status(&h, status);
                    continue;
                }
            };
            let change = self.changes[&h].signed.change().clone();
            let doc = self.am_mut();
            if doc.apply_changes([change]).is_err() || !doc.get_heads().contains(&to_am(&h)) {
                self.set_status(&h, ChangeStatus::Refused);
                return Err(h);
            }
            self.set_status(&h, ChangeStatus::Applied);
            self.clocks.insert(h, clock);
            for child in self.children.get(&h).into_iter().flatten() {
                if self.status(child) == Some(ChangeStatus::MissingDeps) && self.deps_applied(child)
                {
                    ready.insert(*child);
                }
            }
        }
        Ok(())
    }

    /// Rules 4 and 5 for a change whose dependencies are applied; returns
    /// its clock.
    fn check(&self, h: &ChangeHash) -> Result<Clock, ChangeStatus> {
        let stored = &self.changes[h];
        let change = stored.signed.change();
        let mut clock = Clock::new();
        for d in change.deps() {
            for (actor, seq) in self.clocks.get(&from_am(d)).into_iter().flatten() {
                let entry = clock.entry(actor.clone()).or_insert(0);
                *entry = (*entry).max(*seq);
            }
        }
        let previous = clock.get(change.actor_id()).copied().unwrap_or(0);
        if previous.checked_add(1) != Some(change.seq()) {
            return Err(ChangeStatus::BrokenSequence);
        }
        clock.insert(change.actor_id().clone(), change.seq());

        let author = stored.signed.author();
        if self.doc_ref.kind() == DocKind::Advisory && author != self.doc_ref.owner() {
            if !advisory::co_authors_at(self.am(), change.deps()).contains(&author) {
                return Err(ChangeStatus::NotPermitted);
            }
            let protected = advisory::protected_at(self.am(), change.deps());
            let ids = |objs: &[automerge::ObjId]| -> Vec<(u64, ActorId)> {
                objs.iter()
                    .filter_map(|id| match id {
                        automerge::ObjId::Id(counter, actor, _) => Some((*counter, actor.clone())),
                        automerge::ObjId::Root => None,
                    })
                    .collect()
            };
            let (frozen, append_only) = (ids(&protected.frozen), ids(&protected.append_only));
            let is = |id: &automerge::legacy::OpId, set: &[(u64, ActorId)]| {
                set.iter()
                    .any(|(counter, actor)| id.0 == *counter && id.1 == *actor)
            };
            let touches_owner_fields = change.decode().operations.iter().any(|op| match &op.obj {
                automerge::legacy::ObjectId::Root => match &op.key {
                    automerge::legacy::Key::Map(k) if OWNER_ONLY_KEYS.contains(&k.as_str()) => true,
                    // A co-author may set any status but withdrawn.
                    automerge::legacy::Key::Map(k) if k == advisory::STATUS_KEY => matches!(
                        &op.action,
                        automerge::legacy::OpType::Put(automerge::ScalarValue::Str(v))
                            if v.as_str() == advisory::AdvisoryStatus::Withdrawn.name()
                    ),
                    _ => false,
                },
                automerge::legacy::ObjectId::Id(id) => {
                    is(id, &frozen) || (is(id, &append_only) && !op.insert)
                }
            });
            if touches_owner_fields {
                return Err(ChangeStatus::NotPermitted);
            }
        }
        Ok(clock)
    }

    /// Stored changes in the causal past of `have` (inclusive).
    fn ancestors(&self, have: &[ChangeHash]) -> BTreeSet<ChangeHash> {
        self.frontier(&have.iter().copied().collect())
    }

    /// The stored changes outside `known`, dependencies first.
    fn topological(&self, known: &BTreeSet<ChangeHash>) -> Vec<&SignedChange> {
        let mut out = Vec::new();
        let mut done: BTreeSet<ChangeHash> = BTreeSet::new();
        for start in self.changes.keys() {
            if known.contains(start) || done.contains(start) {
                continue;
            }
            // Iterative depth-first post-order: remote input never drives recursion.
            let mut stack: Vec<(ChangeHash, bool)> = vec![(*start, false)];
            while let Some((h, expanded)) = stack.pop() {
                if done.contains(&h) || known.contains(&h) {
                    continue;
                }
                let Some(s) = self.changes.get(&h) else {
                    continue;
                };
                if expanded {
                    done.insert(h);
                    out.push(&s.signed);
                } else {
                    stack.push((h, true));
                    let mut deps: Vec<ChangeHash> =
                        s.signed.change().deps().iter().map(from_am).collect();
                    deps.sort_unstable_by(|a, b| b.cmp(a));
                    stack.extend(deps.into_iter().map(|d| (d, false)));
                }
            }
        }
        out
    }
}

/// One document's state saved by [`Documents::checkpoint`].
#[derive(Debug, Clone)]
pub(crate) struct Checkpoint {
    doc: DocId,
    state: Option<Slot>,
}

/// One document's share of a batch: its state, its changes with their
/// positions in the batch, and their bytes.
type Work = (DocId, DocState, Vec<(usize, SignedChange)>, usize);

/// [`Documents::check`], over the network alone (so it runs on any thread).
fn check_change(network: &NetworkId, change: &SignedChange) -> Result<(), ChangeError> {
    change.verify(network)?;
    if change.kind() != DocKind::Advisory && change.author() != change.owner() {
        return Err(ChangeError::NotOwner {
            author: change.author(),
            doc: change.doc_ref().clone(),
        });
    }
    Ok(())
}

/// Every document of one network, replicated and materialized.
///
/// Sans-IO: the caller feeds in signed changes (from peers or from the
/// local edit helpers) and membership updates, and reads typed values,
/// heads and missing changes back. Nothing here reads a clock or draws
/// randomness.
#[derive(Debug, Clone)]
pub struct Documents {
    network: NetworkId,
    view: View,
    docs: BTreeMap<DocId, Slot>,
    /// Documents whose stored snapshot (if any) no longer describes their
    /// state: written later, in batches ([`Self::take_snapshots`]).
    stale: BTreeSet<DocId>,
    /// Which documents are held materialized.
    cache: Cache,
    /// Where the changes of documents out of the cache are read back from
    /// (see [`Self::set_source`]); without it they stay in memory.
    source: Option<Source>,
}

/// The materialized documents held, least recently written first: at most
/// `capacity`; the others keep their changes, statuses and what hot paths
/// read (heads, audience), and are brought back by applying their applied
/// changes when written, or for one read.
#[derive(Debug, Clone)]
struct Cache {
    capacity: usize,
    tick: u64,
    by_tick: BTreeMap<u64, DocId>,
    tick_of: BTreeMap<DocId, u64>,
}

impl Cache {
    fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            tick: 0,
            by_tick: BTreeMap::new(),
            tick_of: BTreeMap::new(),
        }
    }

    /// `doc` was just written (so is held); returns the documents to evict.
    fn touch(&mut self, doc: DocId) -> Vec<DocId> {
        if let Some(t) = self.tick_of.insert(doc, self.tick) {
            self.by_tick.remove(&t);
        }
        self.by_tick.insert(self.tick, doc);
        self.tick += 1;
        self.shrink()
    }

    fn shrink(&mut self) -> Vec<DocId> {
        let mut out = Vec::new();
        while self.by_tick.len() > self.capacity {
            if let Some((_, doc)) = self.by_tick.pop_first() {
                self.tick_of.remove(&doc);
                out.push(doc);
            }
        }
        out
    }

    fn forget(&mut self, doc: &DocId) {
        if let Some(t) = self.tick_of.remove(doc) {
            self.by_tick.remove(&t);
        }
    }
}

impl Documents {
    /// An empty replica for `network` under `membership`.
    pub fn new(network: NetworkId, membership: &Membership) -> Self {
        Self {
            network,
            view: View::of(membership),
            docs: BTreeMap::new(),
            stale: BTreeSet::new(),
            cache: Cache::new(usize::MAX),
            source: None,
        }
    }

    /// Holds at most `capacity` documents materialized (at least one),
    /// evicting the least recently written beyond it. See
    /// [`crate::Config::cached_documents`].
    pub fn set_cache_capacity(&mut self, capacity: usize) {
        self.cache.capacity = capacity.max(1);
        let evict = self.cache.shrink();
        self.evict(evict);
    }

    /// How many documents are held materialized.
    pub fn cached_documents(&self) -> usize {
        self.cache.by_tick.len()
    }

    /// `doc` is materialized now: it becomes the most recent in the cache,
    /// and the least recent beyond its capacity are evicted.
    fn cached(&mut self, doc: DocId) {
        let evict = self.cache.touch(doc);
        self.evict(evict);
    }

    fn evict(&mut self, docs: Vec<DocId>) {
        for d in docs {
            if let Some(Slot::Loaded(s)) = self.docs.get_mut(&d) {
                s.evict();
            }
            self.settle(&d);
        }
    }

    /// The network.
    pub fn network(&self) -> NetworkId {
        self.network
    }

    /// Verifies and stores a signed change, applying it and whatever it
    /// makes applicable. A change that verifies is kept even when it cannot
    /// be applied yet (see [`ChangeStatus`]); it is applied once the
    /// membership or its missing dependencies allow. A membership that
    /// differs from the last one seen is taken into account first (see
    /// [`Self::on_membership_changed`], which also reports the other
    /// documents that changed); `Inserted` reports on this change's document.
    pub fn insert(
        &mut self,
        change: SignedChange,
        membership: &Membership,
    ) -> Result<Inserted, ChangeError> {
        self.check(&change)?;
        Ok(self.insert_checked(change, membership))
    }

    /// What [`Self::insert`] checks before it keeps a change: the signature
    /// (over this network), and that its author may ever write the document
    /// (only the owner writes contacts and tools). Nothing is stored, so a
    /// caller can make a change durable before the replica takes it.
    pub fn check(&self, change: &SignedChange) -> Result<(), ChangeError> {
        check_change(&self.network, change)
    }

    /// [`Self::check`] for many changes, on up to `threads` threads: the
    /// results in the order of `changes`. Each check depends only on its
    /// change and the network, so the answer is the same whatever the
    /// thread count (the simulator and tests use one). Signature checks
    /// dominate ingest and cold start; a second core halves them.
    pub fn check_many(
        &self,
        changes: &[&SignedChange],
        threads: usize,
    ) -> Vec<Result<(), ChangeError>> {
        /// Below this many changes per thread, a thread costs more than it saves.
        const MIN_PER_THREAD: usize = 8;
        let network = self.network;
        let threads = threads.clamp(1, (changes.len() / MIN_PER_THREAD).max(1));
        if threads == 1 {
            return changes.iter().map(|c| check_change(&network, c)).collect();
        }
        let chunk = changes.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let mut parts = changes.chunks(chunk);
            let first = parts.next().unwrap_or_default();
            let handles: Vec<_> = parts
                .map(|part| {
                    scope.spawn(move || {
                        part.iter()
                            .map(|c| check_change(&network, c))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            let mut out: Vec<_> = first.iter().map(|c| check_change(&network, c)).collect();
            for h in handles {
                match h.join() {
                    Ok(results) => out.extend(results),
                    // A panic in a check is a bug: surface it here.
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            out
        })
    }

    /// Inserts a change that passed [`Self::check`], without verifying it
    /// again.
    pub(crate) fn insert_checked(
        &mut self,
        change: SignedChange,
        membership: &Membership,
    ) -> Inserted {
        self.on_membership_changed(membership);
        self.keep(change)
    }

    /// The state of `doc` as it is now, to return to with [`Self::rollback`]
    /// if what follows must not stay (a local change the store refused).
    pub(crate) fn checkpoint(&self, doc: &DocId) -> Checkpoint {
        Checkpoint {
            doc: *doc,
            state: self.docs.get(doc).cloned(),
        }
    }

    /// Puts a document back as it was at `checkpoint`.
    pub(crate) fn rollback(&mut self, checkpoint: Checkpoint) {
        match checkpoint.state {
            Some(state) => {
                let live = state.is_live();
                self.docs.insert(checkpoint.doc, state);
                self.stale.insert(checkpoint.doc);
                if live {
                    self.cached(checkpoint.doc);
                } else {
                    self.cache.forget(&checkpoint.doc);
                    self.settle(&checkpoint.doc);
                }
            }
            None => {
                self.docs.remove(&checkpoint.doc);
                self.stale.remove(&checkpoint.doc);
                self.cache.forget(&checkpoint.doc);
            }
        }
    }

    /// Decodes, verifies and stores a signed change from its encoding.
    pub fn insert_bytes(
        &mut self,
        bytes: &[u8],
        membership: &Membership,
    ) -> Result<Inserted, ChangeError> {
        self.insert(SignedChange::decode(bytes)?, membership)
    }

    /// Stores a checked change and applies what became applicable.
    pub(super) fn keep(&mut self, change: SignedChange) -> Inserted {
        let id = change.doc();
        let hash = change.hash();
        let held = self.docs.get(&id).and_then(|s| s.status(&hash));
        if held.is_some() || self.thaw(&id).is_err() {
            // Held already; or its document's changes could not be read
            // back (counted): the change is not taken, and comes again by
            // anti-entropy (it is stored, so a restart has it too).
            return Inserted::not_taken(id, hash, held.unwrap_or(ChangeStatus::MissingDeps));
        }
        let slot = self
            .docs
            .entry(id)
            .or_insert_with(|| Slot::Loaded(Box::new(DocState::new(change.doc_ref().clone()))));
        let Slot::Loaded(state) = slot else {
            unreachable!("thawed above")
        };
        let inserted = state.keep(change, &self.view);
        let live = !state.is_evicted();
        if inserted.new {
            self.stale.insert(id);
        }
        if live {
            self.cached(id);
        } else {
            self.settle(&id);
        }
        inserted
    }

    /// Inserts changes that passed [`Self::check`], as [`Self::insert_checked`]
    /// does one by one (the results in the order of `changes`), applying
    /// different documents on up to `threads` threads. Each document's
    /// changes are applied in their order on one thread, and documents do
    /// not depend on each other, so the result is the same whatever the
    /// thread count.
    pub(crate) fn insert_checked_many(
        &mut self,
        changes: Vec<SignedChange>,
        membership: &Membership,
        threads: usize,
    ) -> Vec<Inserted> {
        /// Below this many changes per thread, a thread costs more than it saves.
        const MIN_PER_THREAD: usize = 16;
        self.on_membership_changed(membership);
        let threads = threads.clamp(1, (changes.len() / MIN_PER_THREAD).max(1));
        if threads == 1 {
            return changes.into_iter().map(|c| self.keep(c)).collect();
        }
        // Each document's changes, in order, with their positions.
        let mut groups: BTreeMap<DocId, Vec<(usize, SignedChange)>> = BTreeMap::new();
        let n = changes.len();
        for (i, c) in changes.into_iter().enumerate() {
            groups.entry(c.doc()).or_default().push((i, c));
        }
        let mut out: Vec<Option<Inserted>> = vec![None; n];
        // Spread the documents over the threads by bytes, largest first.
        let mut work: Vec<Work> = Vec::with_capacity(groups.len());
        for (id, list) in groups {
            if self.thaw(&id).is_err() {
                // As in `keep`: not taken, counted, and comes again.
                for (i, c) in list {
                    out[i] = Some(Inserted::not_taken(id, c.hash(), ChangeStatus::MissingDeps));
                }
                continue;
            }
            let state = match self.docs.remove(&id) {
                Some(Slot::Loaded(state)) => *state,
                _ => DocState::new(list[0].1.doc_ref().clone()),
            };
            let bytes = list.iter().map(|(_, c)| c.change_bytes().len()).sum();
            work.push((id, state, list, bytes));
        }
        work.sort_by(|a, b| b.3.cmp(&a.3).then(a.0.cmp(&b.0)));
        let mut buckets: Vec<(usize, Vec<_>)> = (0..threads).map(|_| (0, Vec::new())).collect();
        for item in work {
            let lightest = buckets
                .iter_mut()
                .min_by_key(|(load, _)| *load)
                .expect("at least one bucket");
            lightest.0 += item.3;
            lightest.1.push(item);
        }
        let view = &self.view;
        let run = |bucket: Vec<Work>| {
            bucket
                .into_iter()
                .map(|(id, mut state, list, _)| {
                    let results: Vec<(usize, Inserted)> = list
                        .into_iter()
                        .map(|(i, c)| (i, state.keep(c, view)))
                        .collect();
                    (id, state, results)
                })
                .collect::<Vec<_>>()
        };
        let done: Vec<_> = std::thread::scope(|scope| {
            let mut rest = buckets.into_iter().map(|(_, b)| b);
            let first = rest.next().unwrap_or_default();
            let handles: Vec<_> = rest.map(|b| scope.spawn(move || run(b))).collect();
            let mut out = run(first);
            for h in handles {
                match h.join() {
                    Ok(part) => out.extend(part),
                    // A panic while applying is a bug: surface it here.
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            out
        });
        for (id, state, results) in done {
            let live = !state.is_evicted();
            self.docs.insert(id, Slot::Loaded(Box::new(state)));
            if live {
                self.cached(id);
            } else {
                self.settle(&id);
            }
            for (i, inserted) in results {
                if inserted.new {
                    self.stale.insert(id);
                }
                out[i] = Some(inserted);
            }
        }
        out.into_iter()
            .map(|i| i.expect("every change has its result"))
            .collect()
    }

    /// Takes a new membership into account, rebuilding the documents whose
    /// authors' standing changed. Returns the documents whose materialized
    /// state changed.
    pub fn on_membership_changed(&mut self, membership: &Membership) -> Vec<DocId> {
        let view = View::of(membership);
        if view == self.view {
            return vec![];
        }
        let old = std::mem::replace(&mut self.view, view);
        let affected: Vec<DocId> = self
            .docs
            .iter()
            .filter(|(_, slot)| {
                slot.authors()
                    .any(|a| old.eligibility(a) != self.view.eligibility(a))
            })
            .map(|(id, _)| *id)
            .collect();
        let mut changed = vec![];
        for id in affected {
            // A document whose changes cannot be read back keeps its old
            // state (counted); its snapshot's view no longer matches, so
            // the next start rebuilds it.
            if self.thaw(&id).is_err() {
                continue;
            }
            let Some(Slot::Loaded(state)) = self.docs.get_mut(&id) else {
                continue;
            };
            let before = state.heads();
            state.rebuild(&self.view);
            // Statuses may change even when the heads do not, and the
            // snapshot's view of its authors is out of date either way.
            if state.heads() != before {
                changed.push(id);
            }
            self.stale.insert(id);
            // One at a time: a view change rebuilds within the cache's bound.
            self.cached(id);
        }
        changed
    }

    /// The typed value of a document; `None` when nothing of it is applied.
    pub fn get<T: Schema>(&self, doc: &DocId) -> Result<Option<T>, SchemaError> {
        let Some(slot) = self.docs.get(doc) else {
            return Ok(None);
        };
        if slot.doc_ref().kind() != T::KIND {
            return Err(SchemaError::WrongKind {
                expected: T::KIND,
                found: slot.doc_ref().kind(),
            });
        }
        if slot.heads().is_empty() {
            return Ok(None);
        }
        let Some(state) = self.state(doc).map_err(SchemaError::Unreadable)? else {
            return Ok(None);
        };
        T::read(&state.materialized(&self.view), &state.doc_ref).map(Some)
    }

    /// The documents known here (with at least one stored change), by id.
    pub fn docs(&self) -> impl Iterator<Item = (&DocId, &DocRef)> {
        self.docs.iter().map(|(id, s)| (id, s.doc_ref()))
    }

    /// The kind, owner and name of a document.
    pub fn doc_ref(&self, doc: &DocId) -> Option<&DocRef> {
        self.docs.get(doc).map(Slot::doc_ref)
    }

    /// The teams that signed a stored change of `doc` (applied or not), in
    /// key order.
    pub fn authors(&self, doc: &DocId) -> impl Iterator<Item = &TeamId> {
        self.docs.get(doc).into_iter().flat_map(Slot::authors)
    }

    /// The heads of the materialized document, sorted.
    pub fn heads(&self, doc: &DocId) -> Vec<ChangeHash> {
        self.docs.get(doc).map(Slot::heads).unwrap_or_default()
    }

    /// The heads of the stored changes (applied or not), sorted: what a
    /// peer that holds the same changes also reports.
    pub fn stored_heads(&self, doc: &DocId) -> Vec<ChangeHash> {
        self.docs
            .get(doc)
            .map(Slot::stored_heads)
            .unwrap_or_default()
    }

    /// Dependencies named by stored changes that are not stored here, sorted.
    pub fn missing_deps(&self, doc: &DocId) -> Vec<ChangeHash> {
        self.docs.get(doc).map(Slot::missing).unwrap_or_default()
    }

    /// The hashes of a document's stored changes, sorted.
    pub fn change_hashes(&self, doc: &DocId) -> Vec<ChangeHash> {
        self.docs
            .get(doc)
            .map(|s| s.statuses().map(|(h, _)| h).collect())
            .unwrap_or_default()
    }

    /// The first free name for a new advisory that continues `id` under a
    /// wider distribution: `{id}~2`, `{id}~3`, ... (the id shortened if it
    /// must be, to stay a valid name).
    pub fn continuation_name(&self, owner: &TeamId, id: &str) -> Result<String, SchemaError> {
        let base = id.split_once('~').map_or(id, |(b, _)| b);
        let mut n = 2u64;
        loop {
            let suffix = format!("~{n}");
            let keep = super::id::MAX_ADVISORY_ID.saturating_sub(suffix.len());
            let name: String = base.chars().take(keep).chain(suffix.chars()).collect();
            let doc = DocRef::advisory(*owner, &name)?;
            if !self.docs.contains_key(&doc.id()) {
                return Ok(name);
            }
            n += 1;
        }
    }

    /// Whether `change` lies in the causal past of `kept` (inclusive),
    /// following dependencies through the changes stored here and those in
    /// `batch` (changes arriving with it). A revoked author's change that
    /// is not is one its revokers did not vouch for. A change whose kept
    /// descendants have not arrived yet reads as outside: it comes again
    /// with them, by anti-entropy.
    pub fn in_kept_past(
        &self,
        change: &SignedChange,
        kept: &BTreeSet<ChangeHash>,
        batch: &[SignedChange],
    ) -> bool {
        let doc = change.doc();
        let target = change.hash();
        // Unreadable changes read as absent: the change is dropped, and
        // comes again.
        let state = self.state(&doc).ok().flatten();
        let deps_of = |h: &ChangeHash| -> Option<Vec<ChangeHash>> {
            if let Some(s) = state.as_deref().and_then(|s| s.changes.get(h)) {
                return Some(s.signed.change().deps().iter().map(from_am).collect());
            }
            batch
                .iter()
                .find(|c| c.hash() == *h && c.doc() == doc)
                .map(|c| c.change().deps().iter().map(from_am).collect())
        };
        let mut seen = BTreeSet::new();
        let mut stack: Vec<ChangeHash> = kept.iter().copied().collect();
        while let Some(h) = stack.pop() {
            if h == target {
                return true;
            }
            if seen.insert(h)
                && let Some(deps) = deps_of(&h)
            {
                stack.extend(deps);
            }
        }
        false
    }

    /// A stored change (read back from the store if its document's
    /// changes are there alone; see [`Self::changes`] for several).
    pub fn change(&self, doc: &DocId, hash: &ChangeHash) -> Option<SignedChange> {
        self.changes(doc, std::slice::from_ref(hash)).ok()?.pop()
    }

    /// Where a stored change stands.
    pub fn status(&self, doc: &DocId, hash: &ChangeHash) -> Option<ChangeStatus> {
        self.docs.get(doc)?.status(hash)
    }

    /// How many changes of a document are stored, and how many applied.
    pub fn counts(&self, doc: &DocId) -> (usize, usize) {
        self.docs.get(doc).map_or((0, 0), |s| {
            s.statuses().fold((0, 0), |(n, applied), (_, status)| {
                (
                    n + 1,
                    applied + usize::from(status == ChangeStatus::Applied),
                )
            })
        })
    }

    /// The stored changes a peer lacks, given the heads it reported,
    /// dependencies first. Heads this replica does not know are ignored, so
    /// the answer may repeat changes the peer has; inserting is idempotent.
    /// Nothing when the document's changes cannot be read back (counted).
    pub fn changes_since(&self, doc: &DocId, have: &[ChangeHash]) -> Vec<SignedChange> {
        let Ok(Some(state)) = self.state(doc) else {
            return vec![];
        };
        state
            .topological(&state.ancestors(have))
            .into_iter()
            .cloned()
            .collect()
    }

    /// Whether the document may be sent to `peer` (DESIGN.md section 4):
    /// contacts and tools, and CLEAR and GREEN advisories, go to every
    /// member; AMBER, AMBER+STRICT and RED advisories only to members in
    /// their audience. An advisory whose label cannot be read goes to its
    /// owner alone. Never to a non-member.
    pub fn may_receive(&self, doc: &DocId, peer: &TeamId, membership: &Membership) -> bool {
        membership.is_member(peer)
            && self.docs.contains_key(doc)
            && self.restricted_to(doc).is_none_or(|a| a.contains(peer))
    }

    /// The only teams a document may go to, or `None` when it may go to
    /// every member (see [`Self::may_receive`]). An unknown document is
    /// restricted to nobody.
    pub fn restricted_to(&self, doc: &DocId) -> Option<Vec<TeamId>> {
        let Some(slot) = self.docs.get(doc) else {
            return Some(vec![]);
        };
        slot.restricted()
    }

    /// Writes `contact` as `key`'s directory entry. Returns the signed
    /// change to broadcast, or `None` when nothing differed.
    pub fn edit_contact(
        &mut self,
        key: &TeamKey,
        suffix: ActorSuffix,
        now: u64,
        contact: &Contact,
    ) -> Result<Option<SignedChange>, EditError> {
        contact.validate()?;
        self.local_change(key, suffix, now, DocRef::contacts(key.id()), |tx| {
            contact.write(tx)
        })
    }

    /// Publishes a new advisory owned by `key`'s team, written in
    /// trustmesh (see [`Self::publish_authored`]; this form must fit one
    /// change).
    pub fn publish_advisory(
        &mut self,
        key: &TeamKey,
        suffix: ActorSuffix,
        now: u64,
        advisory: &Advisory,
    ) -> Result<SignedChange, EditError> {
        let doc = DocRef::advisory(key.id(), &advisory.id)?;
        let mut changes =
            self.publish_authored(key, suffix, now, &Authored::new(advisory.clone()))?;
        match (changes.pop(), changes.is_empty()) {
            (Some(c), true) => Ok(c),
            (None, _) => Err(EditError::NotFound(doc)),
            // More than one change: made and applied here, but the caller
            // takes one. The form is bounded so this does not happen.
            (Some(c), false) => Err(EditError::TooLarge(c.change_bytes().len())),
        }
    }

    /// Publishes a new advisory written in trustmesh, owned by `key`'s
    /// team: the complete CSAF tree of `authored` (see [`Authored`]) and its
    /// envelope. An advisory without revisions gets revision 1 dated `now`.
    /// Returns the signed changes, in order.
    pub fn publish_authored(
        &mut self,
        key: &TeamKey,
        suffix: ActorSuffix,
        now: u64,
        authored: &Authored,
    ) -> Result<Vec<SignedChange>, EditError> {
        let owner = key.id();
        authored.validate(&owner)?;
        let doc = DocRef::advisory(owner, &authored.advisory.id)?;
        if self.docs.contains_key(&doc.id()) {
            return Err(EditError::AlreadyExists(doc));
        }
        let mut form = authored.clone().canonical();
        if form.advisory.revisions.is_empty() {
            form.advisory.revisions.push(Revision {
                number: "1".to_owned(),
                date: now,
                summary: "Initial release".to_owned(),
            });
        }
        let mut env = AdvisoryDocument::from_authored(&form, owner).envelope;
        env.ensure_sharing_group(derived_random(&suffix, &doc, &env.audience, now));
        let tree = form.to_csaf(&owner);
        self.write_advisory(key, suffix, now, doc, &env, true, &tree, None, None)
    }

    /// Updates the advisory `advisory.id` owned by `owner`, written in
    /// trustmesh, writing only the fields that differ. A co-author may
    /// change every field but the owner-only ones (TLP label, audience,
    /// co-authors). Details per vulnerability the short form does not
    /// carry are kept for the CVEs it keeps (see [`Self::update_authored`]).
    pub fn update_advisory(
        &mut self,
        key: &TeamKey,
        suffix: ActorSuffix,
        now: u64,
        owner: TeamId,
        advisory: &Advisory,
    ) -> Result<Option<SignedChange>, EditError> {
        let doc = DocRef::advisory(owner, &advisory.id)?;
        let held: AdvisoryDocument = self
            .get(&doc.id())?
            .ok_or_else(|| EditError::NotFound(doc.clone()))?;
        let current = short_form(&held, &doc, &owner)?;
        let form = Authored {
            advisory: advisory.clone(),
            vulnerabilities: current
                .vulnerabilities
                .iter()
                .filter(|v| v.cve.is_empty() || advisory.cves.contains(&v.cve))
                .cloned()
                .collect(),
        };
        let mut changes =
            self.update_authored_from(key, suffix, now, owner, doc, &held, &current, &form)?;
        match (changes.pop(), changes.is_empty()) {
            (c, true) => Ok(c),
            (Some(c), false) => Err(EditError::TooLarge(c.change_bytes().len())),
            (None, false) => Ok(None),
        }
    }

    /// Updates an advisory written in trustmesh to `authored`, writing only
    /// the fields that differ. An empty revision list keeps the revisions
    /// held. Refused with [`EditError::NotShortForm`] when the advisory
    /// was imported, or its tree was edited as CSAF beyond what the short
    /// form says (so nothing it holds is lost).
    pub fn update_authored(
        &mut self,
        key: &TeamKey,
        suffix: ActorSuffix,
        now: u64,
        owner: TeamId,
        authored: &Authored,
    ) -> Result<Vec<SignedChange>, EditError> {
        let doc = DocRef::advisory(owner, &authored.advisory.id)?;
        let held: AdvisoryDocument = self
            .get(&doc.id())?
            .ok_or_else(|| EditError::NotFound(doc.clone()))?;
        let current = short_form(&held, &doc, &owner)?;
        self.update_authored_from(key, suffix, now, owner, doc, &held, &current, authored)
    }

    #[allow(clippy::too_many_arguments)]
    fn update_authored_from(
        &mut self,
        key: &TeamKey,
        suffix: ActorSuffix,
        now: u64,
        owner: TeamId,
        doc: DocRef,
        held: &AdvisoryDocument,
        current: &Authored,
        authored: &Authored,
    ) -> Result<Vec<SignedChange>, EditError> {
        let mut form = authored.clone().canonical();
        if form.advisory.revisions.is_empty() {
            form.advisory.revisions = current.advisory.revisions.clone();
        }
        form.validate(&owner)?;
        let mut env = AdvisoryDocument::from_authored(&form, owner).envelope;
        env.original = held.envelope.original.clone();
        env.sharing_groups = held.envelope.sharing_groups.clone();
        let is_owner = self.check_envelope_edit(key, &doc, &held.envelope, &env)?;
        env.ensure_sharing_group(derived_random(&suffix, &doc, &env.audience, now));
        let tree = form.to_csaf(&owner);
        if !is_owner {
            Self::check_history_kept(&held.csaf, &tree)?;
        }
        self.write_advisory(key, suffix, now, doc, &env, is_owner, &tree, None, None)
    }

    /// Refuses an envelope change the editor may not make; returns whether
    /// the editor is the owner.
    fn check_envelope_edit(
        &self,
        key: &TeamKey,
        doc: &DocRef,
        held: &Envelope,
        new: &Envelope,
    ) -> Result<bool, EditError> {
        let author = key.id();
        if author == doc.owner() {
            if advisory::widens(held, new) {
                return Err(EditError::WidensHistory {
                    held: held.tlp.label(),
                    offered: new.tlp.label(),
                });
            }
            return Ok(true);
        }
        if !held.co_authors.contains(&author) {
            return Err(EditError::NotPermitted {
                author,
                doc: doc.clone(),
            });
        }
        let (tlp, audience, co_authors) = held.owner_fields();
        let (new_tlp, new_audience, new_co_authors) = new.owner_fields();
        if tlp != new_tlp {
            return Err(EditError::OwnerOnly("tlp label"));
        }
        if audience != new_audience {
            return Err(EditError::OwnerOnly("audience"));
        }
        if co_authors != new_co_authors {
            return Err(EditError::OwnerOnly("co-author list"));
        }
        if new.status == advisory::AdvisoryStatus::Withdrawn
            && held.status != advisory::AdvisoryStatus::Withdrawn
        {
            return Err(EditError::OwnerOnly("withdrawal"));
        }
        Ok(false)
    }

    /// Refuses a co-author's tree that changes or drops a revision held:
    /// the revision history is append-only for co-authors (the replica
    /// refuses the same in a change crafted by hand).
    fn check_history_kept(held: &Json, new: &Json) -> Result<(), EditError> {
        let history = |t: &Json| {
            t.pointer("/document/tracking/revision_history")
                .map(|h| h.items().to_vec())
                .unwrap_or_default()
        };
        let (held, new) = (history(held), history(new));
        if new.len() < held.len() || new[..held.len()] != held[..] {
            return Err(EditError::OwnerOnly(
                "revision history (co-authors add revisions)",
            ));
        }
        Ok(())
    }

    /// Changes an advisory's envelope (label, audience, co-authors,
    /// indicators, status; for the owner, or the indicators and status for
    /// a co-author). `random` seeds a CSAF 2.1 sharing group if the new
    /// audience needs one. The original bytes, origin and tree stay.
    pub fn update_envelope(
        &mut self,
        key: &TeamKey,
        suffix: ActorSuffix,
        now: u64,
        doc: &DocRef,
        envelope: &Envelope,
        random: [u8; 16],
    ) -> Result<Vec<SignedChange>, EditError> {
        let held: AdvisoryDocument = self
            .get(&doc.id())?
            .ok_or_else(|| EditError::NotFound(doc.clone()))?;
        let mut env = envelope.clone();
        env.normalize();
        env.origin = held.envelope.origin;
        env.original = held.envelope.original.clone();
        let mut groups = held.envelope.sharing_groups.clone();
        for g in &envelope.sharing_groups {
            if !groups.contains(g) {
                groups.push(g.clone());
            }
        }
        groups.sort();
        env.sharing_groups = groups;
        advisory::check_distribution(&doc.owner(), env.tlp, &env.audience, &env.co_authors)?;
        advisory::check_indicators(&env.indicators)?;
        let is_owner = self.check_envelope_edit(key, doc, &held.envelope, &env)?;
        env.ensure_sharing_group(random);
        self.write_advisory(
            key,
            suffix,
            now,
            doc.clone(),
            &env,
            is_owner,
            &held.csaf,
            None,
            None,
        )
    }

    /// Writes `csaf` as an advisory's CSAF tree, as a diff of the tree
    /// held: for the owner and co-authors. The tree must be a CSAF
    /// document's (a `document` object) within the limits.
    pub fn update_csaf(
        &mut self,
        key: &TeamKey,
        suffix: ActorSuffix,
        now: u64,
        doc: &DocRef,
        csaf: &Json,
    ) -> Result<Vec<SignedChange>, EditError> {
        let held: AdvisoryDocument = self
            .get(&doc.id())?
            .ok_or_else(|| EditError::NotFound(doc.clone()))?;
        let is_owner = self.check_envelope_edit(key, doc, &held.envelope, &held.envelope)?;
        // The same checks an import makes, on the tree's text (the depth
        // first: writing the text recurses).
        if csaf.depth() >= advisory::Limit::Depth.bound() {
            return Err(
                ImportError::Json(advisory::JsonError::TooLarge(advisory::Limit::Depth)).into(),
            );
        }
        let prepared = advisory::prepare(csaf.to_json().as_bytes())?;
        if !is_owner {
            Self::check_history_kept(&held.csaf, &prepared.tree)?;
        }
        let marker = Json::from(format!("csaf edit to {}", prepared.tracking_version));
        self.write_advisory(
            key,
            suffix,
            now,
            doc.clone(),
            &held.envelope,
            is_owner,
            &prepared.tree,
            None,
            Some(&marker),
        )
    }

    /// The advisory of `owner` that holds the CSAF document of
    /// (`namespace`, `tracking_id`), if any.
    pub fn find_csaf(&self, owner: &TeamId, namespace: &str, tracking_id: &str) -> Option<DocId> {
        let trim = |s: &str| s.trim_end_matches('/').to_owned();
        let want = (trim(namespace), tracking_id);
        self.docs
            .iter()
            .filter(|(_, s)| {
                s.doc_ref().kind() == DocKind::Advisory && s.doc_ref().owner() == *owner
            })
            .find(|(_, s)| {
                let (id, ns) = s.csaf_key();
                id.as_deref() == Some(want.1) && ns.map(|n| trim(&n)) == Some(want.0.clone())
            })
            .map(|(id, _)| *id)
    }

    /// Imports a CSAF 2.0 or 2.1 document as an advisory of `key`'s team
    /// (see [`CsafImport`]): a new advisory, or, when the team holds the
    /// document's (publisher namespace, tracking id), its next revision,
    /// written as a diff of the tree held. A first import too large for one
    /// change is written in several (see [`MAX_CHANGE_BYTES`]), the label
    /// and audience in the first.
    pub fn import_csaf(
        &mut self,
        key: &TeamKey,
        suffix: ActorSuffix,
        now: u64,
        import: &CsafImport<'_>,
    ) -> Result<Imported, EditError> {
        self.import_named(key, suffix, now, import, &|_| false)
    }

    /// A replica of the same network and membership holding only `doc`
    /// (its stored changes and state, copied): to make changes against
    /// without touching this one.
    pub fn detached(&self, doc: Option<&DocId>) -> Documents {
        Documents {
            network: self.network,
            view: self.view.clone(),
            docs: doc
                .and_then(|d| self.docs.get_key_value(d))
                .map(|(id, s)| (*id, s.clone()))
                .into_iter()
                .collect(),
            stale: BTreeSet::new(),
            cache: Cache::new(usize::MAX),
            source: self.source.clone(),
        }
    }

    /// The changes [`Self::import_csaf`] would make, made on a detached
    /// copy: nothing is inserted here. For a caller that hands them to its
    /// core (`Node`), which verifies, stores and applies them.
    pub fn prepare_import(
        &self,
        key: &TeamKey,
        suffix: ActorSuffix,
        now: u64,
        import: &CsafImport<'_>,
    ) -> Result<Imported, EditError> {
        let held = advisory::prepare(import.json)
            .ok()
            .and_then(|p| self.find_csaf(&key.id(), &p.namespace, &p.tracking_id));
        let mut scratch = self.detached(held.as_ref());
        scratch.import_named(key, suffix, now, import, &|id| self.docs.contains_key(id))
    }

    /// Imports, choosing a new advisory's name among those neither here
    /// nor `taken`.
    fn import_named(
        &mut self,
        key: &TeamKey,
        suffix: ActorSuffix,
        now: u64,
        import: &CsafImport<'_>,
        taken: &dyn Fn(&DocId) -> bool,
    ) -> Result<Imported, EditError> {
        let owner = key.id();
        let prepared = advisory::prepare(import.json)?;
        if let Some(sig) = &import.signature {
            advisory::check_signature(sig)?;
        }
        let held_doc = self.find_csaf(&owner, &prepared.namespace, &prepared.tracking_id);
        let held: Option<AdvisoryDocument> = match held_doc {
            Some(id) => self.get(&id)?,
            None => None,
        };
        let (doc, previous) = match &held {
            Some(h) => {
                let held_version = h.view().tracking.version;
                advisory::check_newer(
                    &prepared.tracking_id,
                    &held_version,
                    &prepared.tracking_version,
                )?;
                let doc = DocRef::advisory(owner, &h.id)?;
                (doc, Some(held_version))
            }
            None => {
                let names = advisory::names(&prepared.namespace, &prepared.tracking_id);
                let free = names
                    .iter()
                    .filter_map(|n| DocRef::advisory(owner, n).ok())
                    .find(|d| !self.docs.contains_key(&d.id()) && !taken(&d.id()));
                let doc = free.ok_or_else(|| {
                    ImportError::NameTaken(prepared.tracking_id.chars().take(100).collect())
                })?;
                (doc, None)
            }
        };
        let held_env = held.as_ref().map(|h| &h.envelope);
        let (tlp, tlp_source) =
            advisory::resolve_tlp(prepared.document_tlp, import.tlp, held_env.map(|e| e.tlp))?;
        let keep = |given: &Option<Vec<TeamId>>, held: Option<&Vec<TeamId>>| {
            given.clone().or_else(|| held.cloned()).unwrap_or_default()
        };
        // An audience given with CLEAR or GREEN is refused below, not
        // dropped: the importer may think it restricts the advisory.
        let mut audience = match (&import.audience, tlp.is_restricted()) {
            (Some(a), _) => a.clone(),
            (None, true) => held_env.map(|e| e.audience.clone()).unwrap_or_default(),
            (None, false) => vec![],
        };
        if tlp.is_restricted() && !audience.contains(&owner) {
            audience.push(owner);
        }
        let co_authors = keep(&import.co_authors, held_env.map(|e| &e.co_authors));
        let original = (import.forwarded || import.signature.is_some())
            .then(|| Original::of(import.json, import.signature.clone()));
        let view = advisory::AdvisoryView::of(&prepared.tree);
        let status = if view.category == "csaf_withdrawn" {
            advisory::AdvisoryStatus::Withdrawn
        } else {
            match view.tracking.status.as_str() {
                "draft" => advisory::AdvisoryStatus::Draft,
                "interim" => advisory::AdvisoryStatus::Updated,
                _ => advisory::AdvisoryStatus::Final,
            }
        };
        let mut env = Envelope {
            tlp,
            audience,
            co_authors,
            indicators: import
                .indicators
                .clone()
                .or_else(|| held_env.map(|e| e.indicators.clone()))
                .unwrap_or_default(),
            status,
            origin: Origin::Imported,
            original,
            sharing_groups: held_env
                .map(|e| e.sharing_groups.clone())
                .unwrap_or_default(),
        };
        env.normalize();
        if let Some(h) = held_env
            && advisory::widens(h, &env)
        {
            return Err(EditError::WidensHistory {
                held: h.tlp.label(),
                offered: env.tlp.label(),
            });
        }
        advisory::check_distribution(&owner, env.tlp, &env.audience, &env.co_authors)?;
        advisory::check_indicators(&env.indicators)?;
        env.ensure_sharing_group(import.random);
        let marker = Json::from(format!(
            "import of {} version {}",
            prepared.tracking_id, prepared.tracking_version
        ));
        let bytes = env.original.as_ref().map(|_| import.json);
        let changes = self.write_advisory(
            key,
            suffix,
            now,
            doc.clone(),
            &env,
            true,
            &prepared.tree,
            bytes,
            Some(&marker),
        )?;
        Ok(Imported {
            doc,
            changes,
            previous,
            tlp,
            tlp_source,
        })
    }

    /// The publisher's bytes a forwarded advisory keeps, checked against
    /// their hashes; `None` when it keeps none.
    pub fn advisory_original(&self, doc: &DocId) -> Result<Option<Vec<u8>>, SchemaError> {
        match self.state(doc).map_err(SchemaError::Unreadable)? {
            Some(s) if s.doc_ref.kind() == DocKind::Advisory => {
                advisory::original_bytes(&s.materialized(&self.view))
            }
            Some(s) => Err(SchemaError::WrongKind {
                expected: DocKind::Advisory,
                found: s.doc_ref.kind(),
            }),
            None => Ok(None),
        }
    }

    /// Writes an advisory's envelope (the owner-only values too when
    /// `owner_fields`) and its tree as a diff of what is held, in as many
    /// changes as it takes.
    #[allow(clippy::too_many_arguments)]
    fn write_advisory(
        &mut self,
        key: &TeamKey,
        suffix: ActorSuffix,
        now: u64,
        doc: DocRef,
        env: &Envelope,
        owner_fields: bool,
        csaf: &Json,
        original: Option<&[u8]>,
        marker: Option<&Json>,
    ) -> Result<Vec<SignedChange>, EditError> {
        let values = advisory::envelope_values(env, owner_fields);
        self.local_write(key, suffix, now, doc, marker, |am| {
            let mut steps = Vec::new();
            advisory::plan_envelope(am, &values, env, original, owner_fields, &mut steps);
            tree::plan(am, &ROOT, advisory::CSAF, csaf, &mut steps);
            steps
        })
    }

    /// Adds or updates a tool in `key`'s registry.
    pub fn upsert_tool(
        &mut self,
        key: &TeamKey,
        suffix: ActorSuffix,
        now: u64,
        tool: &Tool,
    ) -> Result<Option<SignedChange>, EditError> {
        tool.validate()?;
        self.local_change(key, suffix, now, DocRef::tools(key.id()), |tx| {
            tool.write_entry(tx)
        })
    }

    /// Removes a tool from `key`'s registry; `None` when it was not there.
    pub fn remove_tool(
        &mut self,
        key: &TeamKey,
        suffix: ActorSuffix,
        now: u64,
        name: &str,
    ) -> Result<Option<SignedChange>, EditError> {
        self.local_change(key, suffix, now, DocRef::tools(key.id()), |tx| {
            if tx.get(automerge::ROOT, name)?.is_some() {
                automerge::transaction::Transactable::delete(tx, automerge::ROOT, name)?;
            }
            Ok(())
        })
    }

    /// Makes a change on a copy of the materialized document, signs it and
    /// inserts it. The checks up front make sure the change applies here.
    fn local_change(
        &mut self,
        key: &TeamKey,
        suffix: ActorSuffix,
        now: u64,
        doc_ref: DocRef,
        write: impl FnOnce(&mut Transaction<'_>) -> Result<(), AutomergeError>,
    ) -> Result<Option<SignedChange>, EditError> {
        let author = key.id();
        if self.view.eligibility(&author) != Eligibility::Member {
            return Err(EditError::NotMember(author));
        }
        if doc_ref.kind() != DocKind::Advisory && author != doc_ref.owner() {
            return Err(EditError::NotPermitted {
                author,
                doc: doc_ref,
            });
        }
        let actor = actor_id(&author, &suffix);
        let held = self.state(&doc_ref.id()).map_err(SchemaError::Unreadable)?;
        let mut doc = match held {
            Some(state) => {
                let reused = state.changes.values().any(|s| {
                    s.status != ChangeStatus::Applied && s.signed.change().actor_id() == &actor
                });
                if reused {
                    return Err(EditError::ActorReused);
                }
                state.materialized(&self.view).into_owned()
            }
            None => Automerge::new(),
        };
        doc.set_actor(actor);
        let mut tx = doc.transaction();
        write(&mut tx)?;
        let time = i64::try_from(now).unwrap_or(i64::MAX);
        let options = CommitOptions::default()
            .with_time(time)
            .with_message(change_message(&doc_ref.id()));
        let (hash, _) = tx.commit_with(options);
        let Some(hash) = hash else {
            return Ok(None);
        };
        let change = doc
            .get_change_by_hash(&hash)
            .ok_or_else(|| EditError::Automerge("the committed change is missing".to_owned()))?;
        let bytes = change.raw_bytes();
        if bytes.len() > MAX_CHANGE_BYTES {
            return Err(EditError::TooLarge(bytes.len()));
        }
        let signed = SignedChange::sign(self.network, doc_ref, key, bytes)?;
        self.check(&signed)?;
        let inserted = self.keep(signed.clone());
        if inserted.status != ChangeStatus::Applied {
            return Err(EditError::NotApplied(inserted.status));
        }
        Ok(Some(signed))
    }

    /// Makes a write that may span several changes on a copy of the
    /// materialized document: `plan` lists its operations, which run in
    /// changes of at most [`CHANGE_BUDGET`] estimated bytes (and are run
    /// again with smaller budgets if one comes out over
    /// [`MAX_CHANGE_BYTES`]). Each change is signed and inserted, in order.
    fn local_write<'j>(
        &mut self,
        key: &TeamKey,
        suffix: ActorSuffix,
        now: u64,
        doc_ref: DocRef,
        marker: Option<&Json>,
        plan: impl FnOnce(&Automerge) -> Vec<Step<'j>>,
    ) -> Result<Vec<SignedChange>, EditError> {
        let author = key.id();
        if !matches!(self.view.eligibility(&author), Eligibility::Member) {
            return Err(EditError::NotMember(author));
        }
        let actor = actor_id(&author, &suffix);
        let held = self.state(&doc_ref.id()).map_err(SchemaError::Unreadable)?;
        let base = match held {
            Some(state) => {
                let reused = state.changes.values().any(|s| {
                    s.status != ChangeStatus::Applied && s.signed.change().actor_id() == &actor
                });
                if reused {
                    return Err(EditError::ActorReused);
                }
                state.materialized(&self.view).into_owned()
            }
            None => Automerge::new(),
        };
        let steps = plan(&base);
        if steps.is_empty() {
            return Ok(vec![]);
        }
        let time = i64::try_from(now).unwrap_or(i64::MAX);
        let options = || {
            CommitOptions::default()
                .with_time(time)
                .with_message(change_message(&doc_ref.id()))
        };
        let mut budget = CHANGE_BUDGET;
        let changes = loop {
            let mut doc = base.clone();
            doc.set_actor(actor.clone());
            let hashes = tree::execute(&mut doc, steps.clone(), budget, marker, &options)?;
            let mut bytes = Vec::with_capacity(hashes.len());
            for h in &hashes {
                let change = doc.get_change_by_hash(h).ok_or_else(|| {
                    EditError::Automerge("the committed change is missing".to_owned())
                })?;
                bytes.push(change.raw_bytes().to_vec());
            }
            match bytes.iter().map(Vec::len).max() {
                Some(n) if n > MAX_CHANGE_BYTES => {
                    if budget < 16 << 10 {
                        return Err(EditError::TooLarge(n));
                    }
                    budget /= 2;
                }
                _ => break bytes,
            }
        };
        let mut out = Vec::with_capacity(changes.len());
        for bytes in changes {
            let signed = SignedChange::sign(self.network, doc_ref.clone(), key, &bytes)?;
            self.check(&signed)?;
            let inserted = self.keep(signed.clone());
            if inserted.status != ChangeStatus::Applied {
                return Err(EditError::NotApplied(inserted.status));
            }
            out.push(signed);
        }
        Ok(out)
    }

    /// A copy of the materialized Automerge document, to craft changes in tests.
    #[cfg(test)]
    pub(crate) fn materialized(&self, doc: &DocId) -> Automerge {
        match self.state(doc) {
            Ok(Some(s)) => s.materialized(&self.view).into_owned(),
            _ => Automerge::default(),
        }
    }

    /// A copy rebuilt from scratch, to check that incremental application
    /// matches the canonical one.
    #[cfg(test)]
    pub(crate) fn rebuilt(&self) -> Self {
        let mut copy = self.clone();
        let ids: Vec<DocId> = copy.docs.keys().copied().collect();
        for id in ids {
            let _ = copy.thaw(&id);
            if let Some(Slot::Loaded(state)) = copy.docs.get_mut(&id) {
                state.rebuild(&copy.view);
            }
        }
        copy
    }

    /// Every change's status, for comparing replicas in tests.
    #[cfg(test)]
    pub(crate) fn statuses(&self) -> BTreeMap<(DocId, ChangeHash), ChangeStatus> {
        self.docs
            .iter()
            .flat_map(|(id, s)| s.statuses().map(move |(h, status)| ((*id, h), status)))
            .collect()
    }
}

mod cold;
mod restore;
#[cfg(test)]
mod tests;

use cold::{Slot, Source};

pub use restore::{RestoreReport, StoredDoc};
