//! Alerts: `[[alerts]]` rules in `config.toml` that run a command, POST
//! to a webhook (http or https, in one of the [`Format`]s, optionally
//! signed with HMAC-SHA256) or send a mail (SMTP with STARTTLS) for each
//! new or updated advisory they match.
//!
//! Four parts:
//! - [`Rule`] and its matcher, pure: categories, lowest severity, TLP
//!   labels, owner teams (ids or short names); every criterion is optional
//!   and an empty list matches everything.
//! - [`Cursor`]: per rule, the advisory versions (a digest of the
//!   document's heads) already delivered, in `<data-dir>/alerts.json`,
//!   replaced atomically (write, fsync, rename, fsync the directory). A file
//!   rather than the store's `meta` column family: the dispatcher task owns
//!   it alone, so no store handle is shared across tasks, and an operator
//!   can read it or delete a rule's entry by hand.
//! - [`payload`], pure: what each format says, the signature; [`send`]
//!   the blocking POST (ureq, rustls) and mail (lettre, rustls).
//! - The dispatcher, a task fed by the engine over a bounded channel with
//!   the current state of advisories that changed (and, at start, of every
//!   advisory, to catch up on what arrived while the node was down). It
//!   runs at most [`MAX_IN_FLIGHT`] deliveries at once, retries with
//!   backoff, parks what keeps failing for a later retry, and advances the
//!   cursor only after a success (exit status 0, HTTP 2xx): delivery is at
//!   least once.
//!
//! A new rule does not replay history: its creation time is recorded, and
//! an advisory whose newest change the author dated more than
//! [`HISTORY_GRACE_SECS`] before it counts as delivered. That covers both
//! what the node held when the rule was added and old advisories a new node
//! receives on its first sync.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tracing::{info, warn};
use trustmesh_protocol::{AdvisoryFacts, AdvisoryFilter, DocId, TeamId};

use crate::api::AdvisorySummary;

/// Deliveries running at once.
pub const MAX_IN_FLIGHT: usize = 4;

/// Advisories dated this long before a rule was created are history, not
/// alerts (room for authors' clocks running behind).
pub const HISTORY_GRACE_SECS: i64 = 600;

/// Attempts of one delivery before it is parked.
const ATTEMPTS: u32 = 4;

/// How long a delivery that failed every attempt waits before it is tried
/// again.
const PARK: Duration = Duration::from_secs(60);

/// The engine's queue to the dispatcher.
pub const QUEUE: usize = 64;

/// The cursor file's format tag.
const FORMAT: &str = "trustmesh-alerts-cursor/1";

/// Why alerts cannot run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AlertError {
    /// The cursor file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The cursor file is not a cursor.
    #[error("{path} is not an alerts cursor: {why}")]
    Corrupt {
        /// The file.
        path: String,
        /// What is wrong.
        why: String,
    },
}

mod payload;
mod send;

pub use payload::{DELIVERY_HEADER, Format, SIGNATURE_HEADER, signature};

/// What a rule does with a matching advisory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Runs the program (argv, no shell) with the alert JSON on stdin.
    Command(Vec<String>),
    /// POSTs the alert to a URL.
    Webhook(Webhook),
    /// Mails the alert.
    Mail(Mail),
}

/// Bytes read from a secret file; never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps secret bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({} bytes)", self.0.len())
    }
}

/// A checked webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// `http://` or `https://`.
    pub url: String,
    /// What the body says.
    pub format: Format,
    /// Headers added to every request (names checked, values printable).
    pub headers: Vec<(String, String)>,
    /// Signs the body: [`SIGNATURE_HEADER`] `sha256=<hex>`.
    pub hmac_secret: Option<Secret>,
    /// Trust anchors (DER) from `ca_file`, instead of the system's.
    pub ca: Option<Vec<Vec<u8>>>,
}

/// A checked mail action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// Recipients.
    pub to: Vec<lettre::message::Mailbox>,
    /// Sender.
    pub from: lettre::message::Mailbox,
    /// SMTP server host name (what its certificate names) or address.
    pub server: String,
    /// SMTP port (587 by default).
    pub port: u16,
    /// STARTTLS required (the default; off only to a loopback relay).
    pub starttls: bool,
    /// SMTP AUTH user.
    pub username: Option<String>,
    /// SMTP AUTH password, from `password_file`.
    pub password: Option<Secret>,
    /// Trust anchors (DER) from `ca_file`, instead of the system's.
    pub ca: Option<Vec<Vec<u8>>>,
}

/// A checked `[[alerts]]` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Its name, unique; the cursor is kept under it.
    pub name: String,
    /// Which advisories it matches (categories, lowest severity, TLP
    /// labels, owner teams as ids or short names; statuses and text are
    /// not set by rules): the core's typed filter, the one the API and
    /// web page use too.
    pub filter: AdvisoryFilter,
    /// What it does.
    pub action: Action,
    /// How long one attempt may take.
    pub timeout: Duration,
    /// The node's web page as people open it (`web_url`): alerts link to
    /// the advisory there.
    pub web_url: Option<String>,
}

/// A team named in a rule: the core's type.
pub use trustmesh_protocol::TeamSpec;

impl Rule {
    /// Whether the advisory, owned by `owner` (known by `owner_name`),
    /// matches every criterion.
    pub fn matches(&self, owner: &TeamId, owner_name: Option<&str>, a: &AdvisoryFacts) -> bool {
        self.filter.matches(owner, owner_name, a)
    }
}

/// An advisory's current state, as the engine hands it over.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The document.
    pub doc: DocId,
    /// A digest of its heads: changes whenever the document does.
    pub version: String,
    /// When the author dated its newest change (Unix seconds).
    pub stated: i64,
    /// The owner team.
    pub owner: TeamId,
    /// The owner's short name, when known.
    pub owner_name: Option<String>,
    /// The advisory, as the API lists it (the whole document is a GET
    /// away: a CSAF document can be megabytes).
    pub advisory: AdvisorySummary,
    /// What rules match it by.
    pub facts: AdvisoryFacts,
}

impl Candidate {
    /// The JSON a rule delivers.
    pub fn payload(&self, rule: &str) -> Value {
        json!({
            "rule": rule,
            "doc": self.doc,
            "version": self.version,
            "owner": self.owner,
            "owner_name": self.owner_name,
            "advisory": self.advisory,
        })
    }
}

/// A digest of a document's heads, in hex.
pub fn version_of<'a>(heads: impl IntoIterator<Item = &'a [u8; 32]>) -> String {
    use sha2::Digest;
    let mut sorted: Vec<&[u8; 32]> = heads.into_iter().collect();
    sorted.sort();
    let mut h = sha2::Sha256::new();
    for head in sorted {
        h.update(head);
    }
    hex::encode(&h.finalize()[..16])
}

/// What the cursor says about an advisory version for a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// This version was delivered.
    Delivered,
    /// Dated before the rule existed: not an alert.
    History,
    /// To deliver if the rule matches.
    Due,
}

/// One rule's state in the cursor file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleCursor {
    /// When the rule was first seen (Unix seconds).
    created: i64,
    /// Document id (hex) → the version delivered last.
    delivered: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CursorFile {
    format: String,
    rules: BTreeMap<String, RuleCursor>,
}

/// Which advisory versions each rule delivered, kept in a file.
#[derive(Debug)]
pub struct Cursor {
    path: PathBuf,
    state: CursorFile,
}

impl Cursor {
    /// The cursor file of a data directory.
    pub fn file(dir: &Path) -> PathBuf {
        dir.join("alerts.json")
    }

    /// Loads the cursor at `path` (none yet is an empty cursor), starts the
    /// rules it does not know at `now` (Unix seconds), forgets the rules no
    /// longer configured (so one added back later starts afresh) and saves.
    pub fn open(path: &Path, rules: &[Rule], now: i64) -> Result<Self, AlertError> {
        let shown = path.display().to_string();
        let mut state = match fs::read(path) {
            Ok(bytes) => {
                let s: CursorFile =
                    serde_json::from_slice(&bytes).map_err(|e| AlertError::Corrupt {
                        path: shown.clone(),
                        why: e.to_string(),
                    })?;
                if s.format != FORMAT {
                    return Err(AlertError::Corrupt {
                        path: shown,
                        why: format!("format {:?}, expected {FORMAT:?}", s.format),
                    });
                }
                s
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => CursorFile {
                format: FORMAT.into(),
                rules: BTreeMap::new(),
            },
            Err(source) => {
                return Err(AlertError::Io {
                    path: shown,
                    source,
                });
            }
        };
        let names: BTreeSet<&str> = rules.iter().map(|r| r.name.as_str()).collect();
        state.rules.retain(|name, _| names.contains(name.as_str()));
        for name in names {
            state
                .rules
                .entry(name.to_owned())
                .or_insert_with(|| RuleCursor {
                    created: now,
                    delivered: BTreeMap::new(),
                });
        }
        let cursor = Self {
            path: path.to_owned(),
            state,
        };
        cursor.save()?;
        Ok(cursor)
    }

    /// What to do with version `version` of `doc`, dated `stated`, for `rule`.
    pub fn decide(&self, rule: &str, doc: &DocId, version: &str, stated: i64) -> Decision {
        let Some(r) = self.state.rules.get(rule) else {
            return Decision::History;
        };
        if r.delivered.get(&doc.to_string()).map(String::as_str) == Some(version) {
            Decision::Delivered
        } else if stated.saturating_add(HISTORY_GRACE_SECS) < r.created {
            Decision::History
        } else {
            Decision::Due
        }
    }

    /// Records a delivery and saves the file before returning.
    pub fn record(&mut self, rule: &str, doc: &DocId, version: &str) -> Result<(), AlertError> {
        if let Some(r) = self.state.rules.get_mut(rule) {
            r.delivered.insert(doc.to_string(), version.to_owned());
        }
        self.save()
    }

    /// Writes a temporary file, syncs it, renames it over the cursor and
    /// syncs the directory, so a crash leaves the old or the new cursor.
    fn save(&self) -> Result<(), AlertError> {
        let io = |source| AlertError::Io {
            path: self.path.display().to_string(),
            source,
        };
        let bytes = serde_json::to_vec_pretty(&self.state).map_err(|e| AlertError::Corrupt {
            path: self.path.display().to_string(),
            why: e.to_string(),
        })?;
        let tmp = self.path.with_extension("json.tmp");
        let mut f = fs::File::create(&tmp).map_err(io)?;
        f.write_all(&bytes)
            .and_then(|()| f.sync_all())
            .map_err(io)?;
        fs::rename(&tmp, &self.path).map_err(io)?;
        if let Some(dir) = self.path.parent() {
            fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
        }
        Ok(())
    }
}

/// Delivery counters, shared by the dispatcher and the engine (atomics only).
#[derive(Debug, Default)]
pub struct Counters {
    delivered: AtomicU64,
    failed: AtomicU64,
    pending: AtomicU64,
}

/// The counters, read at once.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AlertStats {
    /// Rules configured.
    pub rules: usize,
    /// Deliveries that succeeded.
    pub delivered: u64,
    /// Attempts that failed.
    pub failed: u64,
    /// Deliveries waiting, running or parked.
    pub pending: u64,
}

/// The engine's end: offers candidates to the dispatcher.
#[derive(Debug, Clone)]
pub struct Alerts {
    tx: mpsc::Sender<Candidate>,
    counters: Arc<Counters>,
    rules: usize,
}

impl Alerts {
    /// A slot in the queue, or `None` when it is full for now.
    pub fn reserve(&self) -> Result<Option<mpsc::Permit<'_, Candidate>>, Closed> {
        match self.tx.try_reserve() {
            Ok(p) => Ok(Some(p)),
            Err(mpsc::error::TrySendError::Full(())) => Ok(None),
            Err(mpsc::error::TrySendError::Closed(())) => Err(Closed),
        }
    }

    /// The counters.
    pub fn stats(&self) -> AlertStats {
        AlertStats {
            rules: self.rules,
            delivered: self.counters.delivered.load(Ordering::Relaxed),
            failed: self.counters.failed.load(Ordering::Relaxed),
            pending: self.counters.pending.load(Ordering::Relaxed),
        }
    }
}

/// The dispatcher stopped.
#[derive(Debug, thiserror::Error)]
#[error("the alert dispatcher stopped")]
pub struct Closed;

/// Starts the dispatcher on the current runtime.
pub fn start(rules: Vec<Rule>, cursor: Cursor) -> Alerts {
    let (tx, rx) = mpsc::channel(QUEUE);
    let counters = Arc::new(Counters::default());
    let n = rules.len();
    let d = Dispatcher {
        rules: rules.into_iter().map(Arc::new).collect(),
        cursor,
        counters: counters.clone(),
        waiting: BTreeMap::new(),
        in_flight: BTreeMap::new(),
        parked: BTreeMap::new(),
    };
    tokio::spawn(d.run(rx));
    Alerts {
        tx,
        counters,
        rules: n,
    }
}

type Key = (usize, DocId);

struct Dispatcher {
    rules: Vec<Arc<Rule>>,
    cursor: Cursor,
    counters: Arc<Counters>,
    /// Due, not started; the newest version of each (rule, document).
    waiting: BTreeMap<Key, Arc<Candidate>>,
    /// Running, with the version being delivered.
    in_flight: BTreeMap<Key, String>,
    /// Failed every attempt; tried again at the instant.
    parked: BTreeMap<Key, (Arc<Candidate>, tokio::time::Instant)>,
}

struct Done {
    key: Key,
    candidate: Arc<Candidate>,
    ok: bool,
}

impl Dispatcher {
    async fn run(mut self, mut rx: mpsc::Receiver<Candidate>) {
        let (done_tx, mut done_rx) = mpsc::channel::<Done>(MAX_IN_FLIGHT);
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                c = rx.recv() => match c {
                    Some(c) => self.offer(c),
                    None => break,
                },
                Some(done) = done_rx.recv() => self.finish(done),
                _ = tick.tick() => self.unpark(),
            }
            self.pump(&done_tx);
        }
    }

    fn offer(&mut self, c: Candidate) {
        let c = Arc::new(c);
        for (i, rule) in self.rules.iter().enumerate() {
            if self.cursor.decide(&rule.name, &c.doc, &c.version, c.stated) != Decision::Due
                || !rule.matches(&c.owner, c.owner_name.as_deref(), &c.facts)
            {
                continue;
            }
            let key = (i, c.doc);
            // The same version offered again (the engine reports every
            // change of state) while it is being delivered: once is enough.
            if self.in_flight.get(&key) == Some(&c.version) {
                continue;
            }
            self.parked.remove(&key);
            self.waiting.insert(key, c.clone());
        }
    }

    fn finish(&mut self, d: Done) {
        self.in_flight.remove(&d.key);
        let rule = &self.rules[d.key.0].name;
        if d.ok {
            if let Err(e) = self.cursor.record(rule, &d.key.1, &d.candidate.version) {
                // Delivered but not recorded: sent again after a restart.
                warn!(rule = %rule, error = %e, "could not record an alert delivery");
            }
        } else if !self.waiting.contains_key(&d.key) {
            self.parked
                .insert(d.key, (d.candidate, tokio::time::Instant::now() + PARK));
        }
    }

    fn unpark(&mut self) {
        let now = tokio::time::Instant::now();
        let due: Vec<Key> = self
            .parked
            .iter()
            .filter(|(_, (_, at))| *at <= now)
            .map(|(k, _)| *k)
            .collect();
        for k in due {
            if let Some((c, _)) = self.parked.remove(&k) {
                self.waiting.entry(k).or_insert(c);
            }
        }
    }

    /// Starts waiting deliveries up to the concurrency bound, one at a time
    /// per (rule, document) so the cursor never goes back to an older
    /// version.
    fn pump(&mut self, done: &mpsc::Sender<Done>) {
        while self.in_flight.len() < MAX_IN_FLIGHT {
            let Some(key) = self
                .waiting
                .keys()
                .find(|k| !self.in_flight.contains_key(k))
                .copied()
            else {
                break;
            };
            let Some(candidate) = self.waiting.remove(&key) else {
                break;
            };
            self.in_flight.insert(key, candidate.version.clone());
            let rule = self.rules[key.0].clone();
            let counters = self.counters.clone();
            let done = done.clone();
            tokio::spawn(async move {
                let ok = deliver_with_retries(&rule, &candidate, &counters).await;
                let _ = done.send(Done { key, candidate, ok }).await;
            });
        }
        let pending = self.waiting.len() + self.in_flight.len() + self.parked.len();
        self.counters
            .pending
            .store(pending as u64, Ordering::Relaxed);
    }
}

async fn deliver_with_retries(rule: &Rule, c: &Candidate, counters: &Counters) -> bool {
    let mut backoff = Duration::from_secs(1);
    for attempt in 1..=ATTEMPTS {
        match deliver(rule, c).await {
            Ok(()) => {
                counters.delivered.fetch_add(1, Ordering::Relaxed);
                info!(rule = %rule.name, doc = %c.doc, id = %c.advisory.id, version = %c.version, attempt, "alert delivered");
                return true;
            }
            Err(why) => {
                counters.failed.fetch_add(1, Ordering::Relaxed);
                warn!(rule = %rule.name, doc = %c.doc, id = %c.advisory.id, attempt, %why, "alert delivery failed");
            }
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
    }
    warn!(rule = %rule.name, id = %c.advisory.id, retry_secs = PARK.as_secs(), "alert parked after repeated failures");
    false
}

/// One attempt: `Err` says why it failed.
async fn deliver(rule: &Rule, c: &Candidate) -> Result<(), String> {
    let web_url = rule.web_url.as_deref();
    match &rule.action {
        Action::Command(argv) => {
            let payload = c.payload(&rule.name).to_string().into_bytes();
            run_command(argv, &rule.name, payload, rule.timeout).await
        }
        Action::Webhook(hook) => {
            let body = payload::render(hook.format, &rule.name, c, web_url);
            let delivery = payload::delivery_id(c);
            let hook = hook.clone();
            let timeout = rule.timeout;
            tokio::task::spawn_blocking(move || send::post(&hook, &body, &delivery, timeout))
                .await
                .map_err(|e| format!("webhook task failed: {e}"))?
        }
        Action::Mail(m) => {
            let subject = format!("[trustmesh] {}", payload::summary(c));
            let body = payload::mail_body(&rule.name, c, web_url);
            let m = m.clone();
            let timeout = rule.timeout;
            tokio::task::spawn_blocking(move || send::mail(&m, &subject, body, timeout))
                .await
                .map_err(|e| format!("mail task failed: {e}"))?
        }
    }
}

async fn run_command(
    argv: &[String],
    rule: &str,
    payload: Vec<u8>,
    timeout: Duration,
) -> Result<(), String> {
    let (prog, args) = argv.split_first().ok_or("empty command")?;
    let mut child = tokio::process::Command::new(prog)
        .args(args)
        .env("TRUSTMESH_ALERT_RULE", rule)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {prog:?}: {e}"))?;
    let run = async {
        if let Some(mut stdin) = child.stdin.take() {
            // A command that ignores its input may close stdin early.
            let _ = stdin.write_all(&payload).await;
        }
        child.wait_with_output().await
    };
    let out = tokio::time::timeout(timeout, run)
        .await
        .map_err(|_| format!("{prog:?} timed out after {} s", timeout.as_secs()))?
        .map_err(|e| format!("waiting for {prog:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let err: String = err.trim().chars().take(300).collect();
        Err(format!("{prog:?} exited with {}: {err}", out.status))
    }
}

#[cfg(test)]
mod tests;
