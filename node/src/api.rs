//! The local API's vocabulary: the body of every request and response,
//! shared by the server (`http`), the CLI's client, the web page, the demo
//! and the tests, so a renamed field breaks the build, not a script.
//!
//! **API Boundary:** these types are the JSON the API speaks; the OpenAPI
//! document (`http/openapi.json`) is checked against them in a test. A
//! field added here is a field added to the API.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use trustmesh_bootstrap::TrustFile;
use trustmesh_protocol::{
    Advisory, AdvisoryDocument, AdvisoryFacts, AdvisoryStatus, ChangeHash, Contact, DocId,
    Indicator, NetworkId, Origin, Policy, Profile, Severity, StatementId, TeamId, Tlp, Tool,
    parse_rfc3339,
};

pub(crate) mod schema;

pub use crate::alerts::AlertStats;
pub use crate::engine::{
    MemberReach, Nat, NetStats, PeerView, Progress, Reachability, Relaying, Route,
};

/// An error answer: `{"error": "..."}` with a 4xx or 5xx status.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: String,
}

/// `GET /status`: the node's health and counters.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Status {
    /// This team.
    #[schemars(with = "schema::TeamId")]
    pub team_id: TeamId,
    /// This node's libp2p PeerId.
    pub peer_id: String,
    /// The network id.
    #[schemars(with = "schema::NetworkId")]
    pub network_id: NetworkId,
    /// The network's name.
    pub network: String,
    /// Whether this node is a member in its own view.
    pub member: bool,
    /// Members in this node's view.
    pub members: usize,
    /// Listen addresses.
    pub listen: Vec<String>,
    /// Peer counts.
    pub peers: PeerCounts,
    /// Statements held.
    pub statements: usize,
    /// Documents held.
    pub documents: usize,
    /// Digest of the replica (statements and documents), hex.
    pub digest: String,
    /// Seconds since the node started.
    pub uptime_secs: u64,
    /// The replication core's counters.
    pub sync: SyncCounters,
    /// The network counters.
    pub net: NetStats,
    /// Seconds since an anti-entropy round last finished.
    pub last_sync_secs: Option<u64>,
    /// What arrived in the last sampling window.
    pub progress: Progress,
    /// Alert delivery counters.
    pub alerts: AlertStats,
    /// Whether the node is doing its job.
    pub health: Health,
    /// Which members are reachable, since when, and when each last synced.
    pub reachability: Reachability,
}

/// Peer counts in [`Status`].
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
pub struct PeerCounts {
    /// Connected peers.
    pub connected: usize,
    /// Connected peers the member protocols run with.
    pub members: usize,
    /// Members this node knows addresses of.
    pub known_addresses: usize,
}

/// The replication core's counters in [`Status`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct SyncCounters {
    /// Rounds this node opened.
    pub rounds_opened: u64,
    /// Rounds that finished.
    pub rounds_finished: u64,
    /// Messages handled.
    pub messages_in: u64,
    /// Messages queued for sending.
    pub messages_out: u64,
    /// New statements stored.
    pub statements_new: u64,
    /// New changes stored.
    pub changes_new: u64,
    /// Changes received that were already stored.
    pub changes_duplicate: u64,
    /// Changes dropped because their author is not known as a member.
    pub changes_unknown_author: u64,
    /// Changes dropped because their author is revoked and they lie
    /// outside what its revocations keep.
    #[serde(default)]
    pub changes_revoked_author: u64,
    /// Refused messages, by reason.
    pub rejected: BTreeMap<String, u64>,
    /// Outgoing messages dropped because the queue was full.
    pub transmits_dropped: u64,
    /// Store writes that failed.
    pub store_failures: u64,
    /// Join requests answered with an admission.
    pub joins_admitted: u64,
    /// Join requests refused.
    pub joins_refused: u64,
}

impl SyncCounters {
    /// Refused messages of every reason.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }
}

/// Healthy, or degraded with reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    /// Doing its job.
    Healthy,
    /// Something needs attention (see the reasons).
    Degraded,
}

/// Whether the node is doing its job.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Health {
    /// Healthy or degraded.
    pub state: HealthState,
    /// Why it is degraded (empty when healthy).
    pub reasons: Vec<String>,
    /// One line, such as "healthy: member, 6 peers (5 members), last sync
    /// 3 s ago, 0 store failures".
    pub summary: String,
}

/// `GET /teams/{name}`: a team named by id, id prefix or short name, as
/// every command resolves it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TeamRef {
    /// The team.
    #[schemars(with = "schema::TeamId")]
    pub team: TeamId,
    /// Its short name as views show it (with the id prefix on a clash).
    pub short_name: String,
    /// Whether it is a member now.
    pub member: bool,
}

/// `GET /peers`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Peers {
    /// Connected peers.
    pub peers: Vec<PeerView>,
    /// Members this node knows addresses of.
    pub known_addresses: usize,
}

/// A team's standing, as the API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    /// A founder named in the charter, not revoked.
    Founder,
    /// Admitted through enough introductions.
    Admitted,
    /// Known but not admitted.
    Pending,
    /// Revoked.
    Revoked,
}

impl MemberStatus {
    /// The lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Founder => "founder",
            Self::Admitted => "admitted",
            Self::Pending => "pending",
            Self::Revoked => "revoked",
        }
    }
}

/// Why an introduction does not count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IntroductionIgnored {
    /// The application it vouches for is not known here.
    UnknownApplication,
    /// It names another team's application.
    ApplicationMismatch,
    /// The sponsor was revoked and no revocation kept it.
    SponsorRevoked,
    /// The sponsor is not a member.
    SponsorNotMember,
}

/// One introduction of a team.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct IntroductionView {
    /// The introduction statement.
    #[schemars(with = "schema::StatementId")]
    pub id: StatementId,
    /// Its sponsor.
    #[schemars(with = "schema::TeamId")]
    pub sponsor: TeamId,
    /// Why it does not count, if it does not.
    pub ignored: Option<IntroductionIgnored>,
}

/// One revocation of a team.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RevocationView {
    /// The revocation statement.
    #[schemars(with = "schema::StatementId")]
    pub id: StatementId,
    /// Who signed it.
    #[schemars(with = "schema::TeamId")]
    pub revoker: TeamId,
    /// Why.
    pub reason: String,
    /// Whether it counts.
    pub counted: bool,
}

/// Where one team stands and why.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct MemberView {
    /// The team.
    #[schemars(with = "schema::TeamId")]
    pub team: TeamId,
    /// Its status.
    pub status: MemberStatus,
    /// Whether it is a member now.
    pub member: bool,
    /// Its profile (the charter's, or its latest application's).
    #[schemars(with = "Option<schema::Profile>")]
    pub profile: Option<Profile>,
    /// The profile's short name.
    pub short_name: Option<String>,
    /// The profile's name.
    pub name: Option<String>,
    /// The profile's country.
    pub country: Option<String>,
    /// Whether an application by it is known.
    pub applied: bool,
    /// Its introductions.
    pub introductions: Vec<IntroductionView>,
    /// Revocations of it.
    pub revocations: Vec<RevocationView>,
    /// The network's policy.
    #[schemars(with = "schema::Policy")]
    pub policy: Policy,
    /// One line saying why it is or is not a member.
    pub reason: String,
    /// Sponsors whose introductions count.
    #[schemars(with = "Vec<schema::TeamId>")]
    pub sponsors: Vec<TeamId>,
    /// Revokers whose revocations count.
    #[schemars(with = "Vec<schema::TeamId>")]
    pub revokers: Vec<TeamId>,
}

/// `GET /members` (and the offline `trustmesh members --json`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Members {
    /// The network id.
    #[schemars(with = "schema::NetworkId")]
    pub network_id: NetworkId,
    /// The network's name.
    pub network: String,
    /// Introductions needed to join (k).
    pub sponsors_required: u16,
    /// Revocations needed to expel (r).
    pub revocation_quorum: u16,
    /// The members now.
    #[schemars(with = "Vec<schema::TeamId>")]
    pub members: Vec<TeamId>,
    /// Every team known, with its standing.
    pub standings: Vec<MemberView>,
}

impl Members {
    /// The short name of `team` when known, else its short id; followed by
    /// the id prefix when another team that is or was a member has the
    /// same short name.
    pub fn short_name(&self, team: &TeamId) -> String {
        let Some(name) = self
            .standings
            .iter()
            .find(|s| s.team == *team)
            .and_then(|s| s.short_name.clone())
        else {
            return team.short();
        };
        let clash = self.standings.iter().any(|s| {
            s.team != *team
                && s.status != MemberStatus::Pending
                && s.short_name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(&name))
        });
        if clash {
            format!("{name} ({})", team.short())
        } else {
            name
        }
    }
}

/// The advisory list's filters (`GET /advisories?...`); every field is
/// optional.
#[derive(Debug, Default, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdvisoryQuery {
    /// Category name, such as "alert".
    pub category: Option<String>,
    /// Lowest severity name.
    pub severity: Option<String>,
    /// TLP label, such as "CLEAR".
    pub tlp: Option<String>,
    /// Owner team (id, prefix or short name).
    pub owner: Option<String>,
    /// Status name.
    pub status: Option<String>,
    /// Text found in the id, title, summary, CVEs or body.
    pub q: Option<String>,
}

/// One advisory in a list: what its CSAF tree's typed view and its
/// envelope say.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AdvisorySummary {
    /// The document.
    #[schemars(with = "schema::DocId")]
    pub doc: DocId,
    /// Its owner (the team that wrote or forwarded it).
    #[schemars(with = "schema::TeamId")]
    pub owner: TeamId,
    /// The owner's short name.
    pub owner_name: String,
    /// The advisory's document name (its tracking id, or a variant of it).
    pub id: String,
    /// `document.title`.
    pub title: String,
    /// The trustmesh category of an advisory written in trustmesh (alert,
    /// warning, ...), else `document.category` as its publisher wrote it.
    pub category: String,
    /// TLP label.
    #[schemars(with = "schema::Tlp")]
    pub tlp: Tlp,
    /// The level derived from `aggregate_severity` (in any language) or
    /// from the highest CVSS base score; none when the document states
    /// neither.
    #[schemars(with = "Option<schema::Severity>")]
    pub severity: Option<Severity>,
    /// `document.aggregate_severity.text`, as written.
    pub severity_text: Option<String>,
    /// The trustmesh status.
    #[schemars(with = "schema::AdvisoryStatus")]
    pub status: AdvisoryStatus,
    /// CVE ids.
    pub cves: Vec<String>,
    /// `document.tracking.version`.
    pub revision: Option<String>,
    /// `document.tracking.current_release_date` (Unix seconds), as its
    /// author stated it.
    pub updated: Option<u64>,
    /// Whether that date is more than ten minutes ahead of this node's
    /// clock (it is then not believed, and listed after the dated ones).
    #[serde(default)]
    pub ahead_of_clock: bool,
    /// Whether it was imported from a CSAF document (else written in
    /// trustmesh).
    pub imported: bool,
    /// `document.publisher.name`: who published it (the owner forwarded
    /// it, for an imported document).
    pub publisher: String,
    /// `document.csaf_version`.
    pub csaf_version: String,
    /// False while a write spanning several changes is still arriving.
    pub complete: bool,
}

impl AdvisorySummary {
    /// The summary of an advisory document.
    pub fn of(doc: DocId, d: &AdvisoryDocument, owner_name: String) -> Self {
        Self::with_facts(doc, d, owner_name).0
    }

    /// The summary of an advisory document and the facts filters read,
    /// from one read of its tree.
    pub fn with_facts(
        doc: DocId,
        d: &AdvisoryDocument,
        owner_name: String,
    ) -> (Self, AdvisoryFacts) {
        let view = d.view();
        let facts = AdvisoryFacts::of(d, &view);
        let summary = Self {
            doc,
            owner: d.owner,
            owner_name,
            id: facts.id.clone(),
            title: facts.title.clone(),
            category: facts.category.clone(),
            tlp: facts.tlp,
            severity: facts.severity,
            severity_text: view.severity.text,
            status: facts.status,
            cves: facts.cves.clone(),
            revision: Some(view.tracking.version).filter(|v| !v.is_empty()),
            updated: view
                .tracking
                .current_release_date
                .as_deref()
                .and_then(parse_rfc3339),
            ahead_of_clock: false,
            imported: d.envelope.origin == Origin::Imported,
            publisher: view.publisher.name,
            csaf_version: view.csaf_version,
            complete: d.complete,
        };
        (summary, facts)
    }
}

/// `GET /advisories`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Advisories {
    /// Newest first.
    pub advisories: Vec<AdvisorySummary>,
}

/// Who wrote a document and how much of it applies.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct DocMeta {
    /// The document.
    #[schemars(with = "schema::DocId")]
    pub doc: DocId,
    /// Its heads.
    #[schemars(with = "Vec<schema::ChangeHash>")]
    pub heads: Vec<ChangeHash>,
    /// Changes applied.
    pub changes_applied: usize,
    /// Changes stored but not applied (waiting for dependencies, or kept
    /// aside).
    pub changes_held: usize,
    /// The teams whose changes are stored.
    #[schemars(with = "Vec<schema::TeamId>")]
    pub signed_by: Vec<TeamId>,
}

/// trustmesh's envelope of an advisory.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct EnvelopeView {
    /// The TLP 2.0 label, which decides who receives it.
    #[schemars(with = "schema::Tlp")]
    pub tlp: Tlp,
    /// Who receives it when the label is AMBER, AMBER+STRICT or RED.
    #[schemars(with = "Vec<schema::TeamId>")]
    pub audience: Vec<TeamId>,
    /// Teams the owner lets edit it.
    #[schemars(with = "Vec<schema::TeamId>")]
    pub co_authors: Vec<TeamId>,
    /// Indicators of compromise.
    #[schemars(with = "Vec<schema::Indicator>")]
    pub indicators: Vec<Indicator>,
    /// The trustmesh status.
    #[schemars(with = "schema::AdvisoryStatus")]
    pub status: AdvisoryStatus,
    /// For a forwarded document: its original bytes' SHA-256 (hex).
    pub original_sha256: Option<String>,
    /// Their SHA-512 (hex).
    pub original_sha512: Option<String>,
    /// The publisher's detached OpenPGP signature, ASCII armored.
    pub original_signature: Option<String>,
    /// The CSAF 2.1 sharing group id of the audience.
    pub sharing_group: Option<String>,
}

/// `GET /advisories/{owner}/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AdvisoryDetail {
    /// The owner.
    #[schemars(with = "schema::TeamId")]
    pub owner: TeamId,
    /// The owner's short name.
    pub owner_name: String,
    /// What the list shows of it.
    pub summary: AdvisorySummary,
    /// trustmesh's envelope.
    pub envelope: EnvelopeView,
    /// The short form of an advisory written in trustmesh (what `PUT`
    /// takes); absent for an imported one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<schema::Advisory>")]
    pub advisory: Option<Advisory>,
    /// The CSAF document the advisory holds, as held (read it with
    /// `trustmesh_protocol::AdvisoryView`).
    #[schemars(with = "schema::CsafTree")]
    pub csaf: serde_json::Value,
    /// Its document's changes.
    pub meta: DocMeta,
}

/// `POST /advisories`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Published {
    /// The new document.
    #[schemars(with = "schema::DocId")]
    pub doc: DocId,
    /// The change that created it.
    #[schemars(with = "schema::ChangeHash")]
    pub change: ChangeHash,
    /// Its owner (this team).
    #[schemars(with = "schema::TeamId")]
    pub owner: TeamId,
    /// The advisory id.
    pub id: String,
}

/// `POST /advisories/import-csaf`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CsafImported {
    /// The advisory's document.
    #[schemars(with = "schema::DocId")]
    pub doc: DocId,
    /// Its owner (this team).
    #[schemars(with = "schema::TeamId")]
    pub owner: TeamId,
    /// The advisory's document name.
    pub id: String,
    /// The changes made, in order (none when the document was held as it
    /// is).
    #[schemars(with = "Vec<schema::ChangeHash>")]
    pub changes: Vec<ChangeHash>,
    /// For a newer revision of an advisory held here, the
    /// `tracking.version` held before.
    pub previous: Option<String>,
    /// The label it is shared under.
    #[schemars(with = "schema::Tlp")]
    pub tlp: Tlp,
    /// Where the label came from: document, importer or held.
    pub tlp_from: String,
}

/// `PUT /advisories/{owner}/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Updated {
    /// The owner.
    #[schemars(with = "schema::TeamId")]
    pub owner: TeamId,
    /// The advisory id.
    pub id: String,
    /// Whether anything changed.
    pub changed: bool,
    /// The change made, if any.
    #[schemars(with = "Option<schema::ChangeHash>")]
    pub change: Option<ChangeHash>,
    /// When the update would have sent a restricted advisory's history to
    /// more teams (a wider label or audience): the new advisory the
    /// current text was published as. `id` then stays as it was, with its
    /// audience.
    #[serde(default)]
    pub continued_as: Option<String>,
    /// What the update could not do, for the author to read: a narrower
    /// label does not recall what was already shared.
    #[serde(default)]
    pub note: Option<String>,
}

/// The query of `POST /advisories/import-csaf`.
#[derive(Debug, Default, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportCsafQuery {
    /// The TLP label to share it under (CLEAR, GREEN, AMBER, AMBER+STRICT,
    /// RED, or the lowercase names): required when the document has none,
    /// never wider than the document's.
    pub tlp: Option<String>,
    /// For AMBER, AMBER+STRICT and RED, who receives it: team ids or short
    /// names, comma separated (this team is added).
    pub audience: Option<String>,
    /// Keep the publisher's bytes and their SHA-256 and SHA-512, for a
    /// third party's document this team forwards.
    pub forwarded: Option<bool>,
    /// The publisher's detached OpenPGP signature over the document's
    /// bytes (the `.asc` file, ASCII armored, URL-encoded); implies
    /// `forwarded`.
    pub signature: Option<String>,
}

/// `GET /advisories/{owner}/{id}/original`: the publisher's document as
/// forwarded, byte for byte, so anyone can check the publisher's
/// signature.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct OriginalDocument {
    /// The document's bytes (UTF-8 JSON text, exactly as the publisher
    /// wrote it).
    pub text: String,
    /// SHA-256 of the bytes, lowercase hex (what the publisher's `.sha256`
    /// file says).
    pub sha256: String,
    /// SHA-512 of the bytes, lowercase hex.
    pub sha512: String,
    /// The publisher's detached OpenPGP signature (`.asc`), when the
    /// forwarding team gave it.
    pub signature: Option<String>,
}

/// The query of `GET /advisories/{owner}/{id}/csaf`.
#[derive(Debug, Default, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CsafQuery {
    /// The CSAF version to export: 2.0 (the default) or 2.1.
    pub version: Option<String>,
}

/// The query of `GET /export/misp-feed`.
#[derive(Debug, Default, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MispFeedQuery {
    /// The TLP labels to include, comma-separated (default `clear,green`).
    pub tlp: Option<String>,
}

/// One contact entry in `GET /contacts`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ContactEntry {
    /// The team.
    #[schemars(with = "schema::TeamId")]
    pub team: TeamId,
    /// Whether it is a member.
    pub member: bool,
    /// Its entry.
    #[schemars(with = "schema::Contact")]
    pub contact: Contact,
}

/// `GET /contacts`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Contacts {
    /// Every entry held.
    pub contacts: Vec<ContactEntry>,
}

/// `GET /contacts/{team}`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ContactDetail {
    /// The team.
    #[schemars(with = "schema::TeamId")]
    pub team: TeamId,
    /// Its entry.
    #[schemars(with = "schema::Contact")]
    pub contact: Contact,
    /// Its document's changes.
    pub meta: DocMeta,
}

/// `PUT /contacts`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Changed {
    /// Whether anything changed.
    pub changed: bool,
    /// The change made, if any.
    #[schemars(with = "Option<schema::ChangeHash>")]
    pub change: Option<ChangeHash>,
}

/// `?team=` of `GET /tools`.
#[derive(Debug, Default, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamQuery {
    /// A team (id, prefix or short name).
    pub team: Option<String>,
}

/// One tool in `GET /tools`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ToolEntry {
    /// The registry's team.
    #[schemars(with = "schema::TeamId")]
    pub team: TeamId,
    /// Its short name.
    pub team_name: String,
    /// The tool.
    #[schemars(with = "schema::Tool")]
    pub tool: Tool,
}

/// `GET /tools`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Tools {
    /// Every tool held.
    pub tools: Vec<ToolEntry>,
}

/// `POST /tools` and `PUT /tools/{name}`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ToolChanged {
    /// The tool's name.
    pub name: String,
    /// Whether anything changed.
    pub changed: bool,
}

/// `DELETE /tools/{name}`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ToolRemoved {
    /// The tool's name.
    pub name: String,
    /// Always true (an unknown tool is a 404).
    pub removed: bool,
}

/// `POST /sponsor`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SponsorRequest {
    /// The application file's JSON text.
    pub application: String,
    /// A note kept in the introduction.
    #[serde(default)]
    pub note: String,
}

/// The answer to `POST /sponsor`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Sponsored {
    /// The introduction file, to give the applicant.
    #[schemars(with = "schema::IntroductionFile")]
    pub introduction: TrustFile,
    /// The applicant.
    #[schemars(with = "schema::TeamId")]
    pub applicant: TeamId,
    /// Whether the applicant is a member now.
    pub applicant_is_member: bool,
    /// Whether this node's team is a member (else the introduction does
    /// not count yet).
    pub sponsor_is_member: bool,
    /// What the sponsor should know, such as a short name another member
    /// already has.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// `POST /revoke`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    /// The team (id, prefix or short name).
    pub team: String,
    /// Why.
    pub reason: String,
    /// Keep nothing of the revoked team (no introductions, no documents).
    #[serde(default)]
    pub keep_none: bool,
}

/// The answer to `POST /revoke`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Revoked {
    /// The revocation file.
    #[schemars(with = "schema::RevocationFile")]
    pub revocation: TrustFile,
    /// The team's status now.
    pub status: Option<MemberStatus>,
    /// Why, in one line.
    pub reason: Option<String>,
}

/// `POST /import`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    /// The files' JSON texts.
    pub files: Vec<String>,
}

/// The answer to `POST /import`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
pub struct Imported {
    /// New statements.
    pub added: usize,
    /// Statements already held.
    pub already_known: usize,
}

/// `POST /dial`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DialRequest {
    /// A multiaddr.
    pub address: String,
}

/// The answer to `POST /dial`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Dialing {
    /// The address being dialed.
    pub dialing: String,
}

/// Percent-encodes one path segment.
pub fn segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
