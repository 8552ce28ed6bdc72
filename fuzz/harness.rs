//! What each fuzz target does with its input, shared by the libFuzzer
//! targets in `fuzz_targets/` and by the corpus replay test in
//! `tests/it/fuzz_corpus.rs` (which includes this file by path, so every
//! saved input, crashes found included, runs on every `./x test`).
//!
//! Every target feeds bytes to the same entry point a node uses for bytes
//! from outside and lets the node act on what decodes: a panic anywhere is
//! a finding. Assertions here are properties that must hold for any input
//! (a decoded value re-encodes to the bytes it came from; a refused input
//! changes nothing).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ObjId, ObjType, ROOT, ReadDoc, ScalarValue};
use trustmesh_bootstrap::{
    ApplicationFile, CardFile, CharterDraftFile, CharterFile, IntroductionFile, RevocationFile,
    TrustFile,
};
use trustmesh_protocol::{
    ActorSuffix, Advisory, AdvisoryCategory, AdvisoryDocument, AdvisoryStatus, Charter,
    CharterBody, Config, Contact, CsafImport, CsafVersion, DocKind, DocRef, Documents, Founder,
    Indicator, IndicatorKind, JoinRequest, JoinResponse, MemStore, Message, Node, Policy, Product,
    Profile, Revision, Schema, Severity, SignedChange, SignedStatement, StatementSet, TeamKey,
    TeamKind, Tlp, Tool, ToolRegistry, Verdict,
};

/// The fixed network every target runs in: three founders (k = 2, r = 2).
pub struct World {
    /// The founders' keys; the node under test is the first's.
    pub founders: Vec<TeamKey>,
    /// A key that is not a member.
    pub outsider: TeamKey,
    /// The sealed charter.
    pub charter: Charter,
}

fn profile(short: &str) -> Profile {
    Profile {
        name: format!("{short} Computer Emergency Response Team"),
        short_name: short.to_owned(),
        country: "NL".to_owned(),
        kind: TeamKind::National,
        constituency: "the national government".to_owned(),
        email: "cert@example.org".to_owned(),
        website: "https://example.org".to_owned(),
    }
}

/// Replaces libFuzzer's panic hook, which aborts at the panic itself, with
/// a silent one: the node catches the panics of a dependency it cannot fix
/// (see `parse_change`), and only a panic that escapes the target is a
/// finding (libfuzzer-sys aborts on those). Fuzz targets call it once.
pub fn let_the_node_catch_panics() {
    std::panic::set_hook(Box::new(|_| {}));
}

/// The world, built once per process.
pub fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let founders: Vec<TeamKey> = (1..=3u8)
            .map(|n| TeamKey::from_secret_bytes([n; 32]))
            .collect();
        let body = CharterBody::new(
            "fuzz network",
            1_700_000_000,
            founders
                .iter()
                .enumerate()
                .map(|(i, k)| Founder {
                    id: k.id(),
                    profile: profile(&format!("F{i}")),
                })
                .collect(),
            Policy {
                sponsors_required: 2,
                revocation_quorum: 2,
            },
        )
        .expect("the fixed charter body is valid");
        let sigs: BTreeMap<_, _> = founders
            .iter()
            .map(|k| (k.id(), body.sign(k).expect("a founder signs")))
            .collect();
        let charter = Charter::seal(body, &sigs).expect("every founder signed");
        World {
            founders,
            outsider: TeamKey::from_secret_bytes([9; 32]),
            charter,
        }
    })
}

/// A fresh core for `key` over an empty store, as a node opens it.
pub fn node(key: &TeamKey) -> Node<MemStore> {
    let w = world();
    let (node, _) = Node::open(
        Config::default(),
        key.clone(),
        ActorSuffix::from_bytes([7; 16]),
        w.charter.clone(),
        MemStore::default(),
        0,
    )
    .expect("a memory store cannot fail");
    node
}

/// Drains every output, as the node's engine does after each input.
fn drain(node: &mut Node<MemStore>) {
    while node.poll_transmit().is_some() {}
    while node.poll_event().is_some() {}
}

/// A signed statement (charter file contents, API and gossip payloads
/// embed these).
pub fn statement(data: &[u8]) {
    let w = world();
    let Ok(s) = SignedStatement::decode(data) else {
        return;
    };
    assert_eq!(
        s.encode(),
        data,
        "a decoded statement re-encodes to its bytes"
    );
    let mut set = StatementSet::new(w.charter.clone());
    let before = set.iter().count();
    if set.insert(s).is_err() {
        assert_eq!(
            set.iter().count(),
            before,
            "a refused statement is not kept"
        );
    }
    let _ = set.membership();
}

/// A signed change on its own.
pub fn change(data: &[u8]) {
    let w = world();
    let Ok(c) = SignedChange::decode(data) else {
        return;
    };
    assert_eq!(c.encode(), data, "a decoded change re-encodes to its bytes");
    assert_eq!(c.encoded_len(), data.len());
    let membership = StatementSet::new(w.charter.clone()).membership();
    let mut docs = Documents::new(w.charter.network_id(), &membership);
    let _ = docs.insert(c, &membership);
}

/// A sync-protocol message from a member.
pub fn message(data: &[u8]) {
    let w = world();
    let Ok(m) = Message::decode(data) else {
        return;
    };
    let again = Message::decode(&m.encode()).expect("an encoded message decodes");
    assert_eq!(again.encode(), m.encode(), "encoding is stable");
    let mut n = node(&w.founders[0]);
    n.peer_connected(0, w.founders[1].id());
    drain(&mut n);
    let _ = n.handle_message(1, w.founders[1].id(), m);
    drain(&mut n);
    n.handle_timeout(u64::MAX / 2);
    drain(&mut n);
}

/// A gossip payload from a member, through the entry point the engine
/// calls (`Node::handle_gossip`): only statements and changes count, and
/// anything else, decodable or not, is rejected.
pub fn gossip(data: &[u8]) {
    let w = world();
    let mut n = node(&w.founders[0]);
    let verdict = n.handle_gossip(1, w.founders[2].id(), data);
    let carried = matches!(
        Message::decode(data),
        Ok(Message::Statements(_) | Message::Changes(_))
    );
    if !carried {
        assert!(
            matches!(verdict, Verdict::Reject(_)),
            "gossip that is not statements or changes is rejected"
        );
    }
    drain(&mut n);
}

/// A join request, from a non-member and from a member.
pub fn join_request(data: &[u8]) {
    let w = world();
    let Ok(r) = JoinRequest::decode(data) else {
        return;
    };
    assert_eq!(
        r.encode(),
        data,
        "a decoded join request re-encodes to its bytes"
    );
    let mut n = node(&w.founders[0]);
    let before = n.statements().iter().count();
    match n.handle_join_request(0, w.outsider.id(), r.clone()) {
        JoinResponse::Refused { .. } => {
            assert_eq!(
                n.statements().iter().count(),
                before,
                "a refused join stores nothing"
            );
        }
        JoinResponse::Admitted { .. } => {}
    }
    drain(&mut n);
    let _ = n.handle_join_request(0, w.founders[1].id(), r);
    drain(&mut n);
}

/// A join response, to a node that is not a member yet.
pub fn join_response(data: &[u8]) {
    let w = world();
    let Ok(r) = JoinResponse::decode(data) else {
        return;
    };
    assert_eq!(
        r.encode(),
        data,
        "a decoded join response re-encodes to its bytes"
    );
    let mut n = node(&w.outsider);
    let _ = n.handle_join_response(0, w.founders[0].id(), r);
    drain(&mut n);
}

/// A trustmesh file (charter, application, introduction, revocation...),
/// as `import`, `join`, `sponsor` and the API read them.
pub fn file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(f) = TrustFile::parse(text) else {
        return;
    };
    let again = TrustFile::parse(&f.to_json()).expect("a written file parses");
    assert_eq!(again, f, "a file survives writing and reading");
}

/// An API request body (advisory, contact or tool JSON), published through
/// the core as the API does. The first byte picks the kind.
pub fn api_body(data: &[u8]) {
    let w = world();
    let Some((&kind, body)) = data.split_first() else {
        return;
    };
    let mut n = node(&w.founders[0]);
    match kind % 3 {
        0 => {
            if let Ok(a) = serde_json::from_slice::<Advisory>(body)
                && n.publish_advisory(1000, &a).is_ok()
            {
                let doc = DocRef::new(DocKind::Advisory, w.founders[0].id(), a.id.clone())
                    .expect("a published advisory has a valid name")
                    .id();
                let read = n.documents().get::<Advisory>(&doc);
                assert!(
                    matches!(read, Ok(Some(_))),
                    "a published advisory reads back"
                );
            }
        }
        1 => {
            if let Ok(c) = serde_json::from_slice::<Contact>(body) {
                let _ = n.edit_contact(1000, &c);
            }
        }
        _ => {
            if let Ok(t) = serde_json::from_slice::<Tool>(body) {
                let _ = n.upsert_tool(1000, &t);
            }
        }
    }
    drain(&mut n);
}

/// A CSAF document from outside (a file, standard input, the API body of
/// `POST /advisories/import-csaf`), imported as the node imports one. An
/// import either succeeds or says why; what imports reads back, exports
/// in both versions (the same version parsing to the tree held), and the
/// same document again is refused as not newer.
pub fn csaf_import(data: &[u8]) {
    let w = world();
    let set = StatementSet::new(w.charter.clone());
    let mut docs = Documents::new(w.charter.network_id(), &set.membership());
    let mut import = CsafImport::new(data, [7; 16]);
    // The first byte of a document is `{` or whitespace: use it to pick
    // whether the importer names a label.
    if data.first().is_some_and(|b| b % 2 == 1) {
        import.tlp = Some(Tlp::Red);
    }
    let suffix = ActorSuffix::from_bytes([1; 16]);
    let Ok(imported) = docs.import_csaf(&w.founders[0], suffix, 1, &import) else {
        return;
    };
    let id = imported.doc.id();
    let d = docs
        .get::<AdvisoryDocument>(&id)
        .expect("an imported advisory reads")
        .expect("an imported advisory is held");
    let _ = d.view();
    for v in [CsafVersion::V2_0, CsafVersion::V2_1] {
        let text = d.export_csaf(v, None).to_json();
        let again = trustmesh_protocol::Json::parse(text.as_bytes()).expect("an export parses");
        if d.csaf_version() == Some(v) {
            assert!(
                again.get("document").is_some(),
                "an export is a CSAF document"
            );
        }
    }
    let again = docs.import_csaf(&w.founders[0], suffix, 2, &import);
    assert!(again.is_err(), "the same revision again is refused");
}

/// Keys a member's hand-made change may write: the schemas' own names, so
/// the fuzzer reaches the readers' type checks, and a few others.
const KEYS: &[&str] = &[
    "title",
    "tlp",
    "severity",
    "category",
    "status",
    "summary",
    "body",
    "cves",
    "products",
    "indicators",
    "references",
    "revisions",
    "co_authors",
    "audience",
    "acknowledgements",
    "name",
    "short_name",
    "country",
    "kind",
    "constituency",
    "email",
    "website",
    "phone",
    "emergency_phone",
    "pgp_keys",
    "representatives",
    "postal_address",
    "time_zone",
    "business_hours",
    "tools",
    "url",
    "version",
    "description",
    "value",
    "id",
    "date",
    "x",
];

/// Reads the fuzz input as a little program of Automerge operations.
struct Ops<'a> {
    data: &'a [u8],
}

impl Ops<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.data.split_first()?;
        self.data = rest;
        Some(b)
    }

    fn text(&mut self) -> String {
        let n = usize::from(self.byte().unwrap_or(0) % 24);
        let n = n.min(self.data.len());
        let (s, rest) = self.data.split_at(n);
        self.data = rest;
        String::from_utf8_lossy(s).into_owned()
    }

    fn key(&mut self) -> String {
        match self.byte() {
            Some(b) if usize::from(b) < KEYS.len() * 2 => KEYS[usize::from(b) % KEYS.len()].into(),
            _ => self.text(),
        }
    }

    fn scalar(&mut self) -> ScalarValue {
        match self.byte().unwrap_or(0) % 6 {
            0 => ScalarValue::Str(self.text().into()),
            1 => ScalarValue::Int(i64::from(self.byte().unwrap_or(0)) - 128),
            2 => ScalarValue::Uint(u64::from(self.byte().unwrap_or(0)) << 40),
            3 => ScalarValue::Boolean(self.byte().unwrap_or(0) & 1 == 1),
            4 => ScalarValue::Null,
            _ => ScalarValue::Timestamp(i64::from(self.byte().unwrap_or(0))),
        }
    }
}

/// Writes up to 64 operations under root, into maps and lists it made.
fn write_ops(doc: &mut AutoCommit, ops: &mut Ops<'_>) -> Result<(), automerge::AutomergeError> {
    let mut objects: Vec<(ObjId, bool)> = vec![(ROOT, false)];
    for _ in 0..64 {
        let Some(op) = ops.byte() else { break };
        let (obj, is_list) = objects[usize::from(ops.byte().unwrap_or(0)) % objects.len()].clone();
        let len = doc.length(&obj);
        match (op % 4, is_list) {
            (0, false) => {
                let k = ops.key();
                let v = ops.scalar();
                doc.put(&obj, k, v)?;
            }
            (0, true) => {
                let v = ops.scalar();
                doc.insert(&obj, len, v)?;
            }
            (1 | 2, _) => {
                let kind = if op % 4 == 1 {
                    ObjType::Map
                } else {
                    ObjType::List
                };
                let new = if is_list {
                    doc.insert_object(&obj, len, kind)?
                } else {
                    let k = ops.key();
                    doc.put_object(&obj, k, kind)?
                };
                objects.push((new, kind == ObjType::List));
            }
            (_, false) => {
                let k = ops.key();
                if doc.get(&obj, k.as_str())?.is_some() {
                    doc.delete(&obj, k.as_str())?;
                }
            }
            (_, true) => {
                if len > 0 {
                    doc.delete(&obj, len - 1)?;
                }
            }
        }
    }
    Ok(())
}

/// A member's validly signed change with arbitrary content (malformed
/// documents, wrong types, odd nesting): applied or kept aside, the
/// document still reads or reports an error, and nothing panics.
pub fn member_change(data: &[u8]) {
    let w = world();
    let mut ops = Ops { data };
    let author = &w.founders[0];
    let name = match ops.byte().unwrap_or(0) % 3 {
        0 => (DocKind::Advisory, "TM-2026-0001"),
        1 => (DocKind::Contacts, ""),
        _ => (DocKind::Tools, ""),
    };
    let Ok(doc_ref) = DocRef::new(name.0, author.id(), name.1.to_owned()) else {
        return;
    };
    let mut actor = author.id().as_bytes().to_vec();
    actor.extend_from_slice(&[7; 16]);
    let mut doc = AutoCommit::new().with_actor(ActorId::from(actor));
    if write_ops(&mut doc, &mut ops).is_err() {
        return;
    }
    let options = CommitOptions::default()
        .with_message(doc_ref.id().to_string())
        .with_time(1);
    let Some(hash) = doc.commit_with(options) else {
        return;
    };
    let Some(change) = doc.get_change_by_hash(&hash) else {
        return;
    };
    let Ok(signed) = SignedChange::sign(
        w.charter.network_id(),
        doc_ref.clone(),
        author,
        change.raw_bytes(),
    ) else {
        return;
    };
    let mut n = node(&w.founders[1]);
    let _ = n.handle_message(1, author.id(), Message::Changes(vec![signed]));
    drain(&mut n);
    let id = doc_ref.id();
    match doc_ref.kind() {
        DocKind::Advisory => {
            read::<Advisory>(n.documents(), &id);
            if let Ok(Some(d)) = n.documents().get::<AdvisoryDocument>(&id) {
                let _ = d.view();
                for v in [CsafVersion::V2_0, CsafVersion::V2_1] {
                    let _ = d.export_csaf(v, None).to_json();
                }
            }
        }
        DocKind::Contacts => read::<Contact>(n.documents(), &id),
        DocKind::Tools => read::<ToolRegistry>(n.documents(), &id),
    }
}

/// Reads a document as the API would; an error is fine, a panic is not.
fn read<T: Schema>(docs: &Documents, id: &trustmesh_protocol::DocId) {
    let _ = docs.get::<T>(id);
}

/// Valid inputs for every target, made with the same code a node uses:
/// the starting corpus (`fuzz/corpus/<target>/`). Deterministic, so the
/// committed seeds can be regenerated and compared.
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let w = world();
    let mut out: Vec<(&'static str, Vec<u8>)> = Vec::new();
    let ours = |msg: &str| -> ! { panic!("seed construction failed: {msg}") };

    // Files, and the statements inside them.
    let app = ApplicationFile::create(&w.charter, &w.outsider, profile("XX"), 1_700_000_100)
        .unwrap_or_else(|e| ours(&e.to_string()));
    let intros: Vec<IntroductionFile> = w.founders[..2]
        .iter()
        .map(|k| {
            IntroductionFile::create(&w.charter, k, &app, "met them", 1_700_000_200)
                .unwrap_or_else(|e| ours(&e.to_string()))
        })
        .collect();
    let revocation = RevocationFile::create(
        &w.charter,
        &w.founders[0],
        w.founders[2].id(),
        "key compromised",
        1_700_000_300,
        vec![],
        vec![],
    )
    .unwrap_or_else(|e| ours(&e.to_string()));
    let cards: Vec<CardFile> = w
        .founders
        .iter()
        .enumerate()
        .map(|(i, k)| CardFile::new(k, profile(&format!("F{i}"))))
        .collect();
    let draft = CharterDraftFile::new(
        "fuzz network",
        1_700_000_000,
        &cards,
        w.charter.body().policy(),
    )
    .unwrap_or_else(|e| ours(&e.to_string()));
    let files = [
        TrustFile::Card(cards[0].clone()),
        TrustFile::CharterDraft(draft),
        TrustFile::Charter(CharterFile::new(&w.charter)),
        TrustFile::Application(app.clone()),
        TrustFile::Introduction(intros[0].clone()),
        TrustFile::Revocation(revocation.clone()),
    ];
    for f in &files {
        out.push(("file", f.to_json().into_bytes()));
    }
    let mut statements: Vec<SignedStatement> =
        vec![app.statement().unwrap_or_else(|e| ours(&e.to_string()))];
    for i in &intros {
        let (_, intro) = i.statements().unwrap_or_else(|e| ours(&e.to_string()));
        statements.push(intro);
    }
    statements.push(
        revocation
            .statement()
            .unwrap_or_else(|e| ours(&e.to_string())),
    );
    for st in &statements {
        out.push(("statement", st.encode()));
    }

    // The join exchange.
    let request = JoinRequest {
        statements: statements[..3].to_vec(),
    };
    out.push(("join_request", request.encode()));
    let mut founder = node(&w.founders[0]);
    out.push((
        "join_response",
        founder
            .handle_join_request(0, w.outsider.id(), request)
            .encode(),
    ));
    out.push((
        "join_response",
        JoinResponse::Refused {
            reason: "no introductions".into(),
        }
        .encode(),
    ));

    // CSAF documents.
    for seed in [
        r#"{"document":{"category":"csaf_base","csaf_version":"2.0","title":"T","publisher":{"category":"vendor","name":"V","namespace":"https://v.example"},"distribution":{"tlp":{"label":"WHITE"}},"tracking":{"id":"V-1","status":"final","version":"1","initial_release_date":"2024-01-01T00:00:00Z","current_release_date":"2024-01-01T00:00:00Z","revision_history":[{"date":"2024-01-01T00:00:00Z","number":"1","summary":"Initial"}]}}}"#,
        r#"{"$schema":"https://docs.oasis-open.org/csaf/csaf/v2.1/schema/csaf.json","document":{"category":"csaf_security_advisory","csaf_version":"2.1","title":"T","publisher":{"category":"vendor","name":"V","namespace":"https://v.example"},"distribution":{"tlp":{"label":"AMBER"}},"aggregate_severity":{"text":"hoch"},"tracking":{"id":"V-2","status":"final","version":"1.0.0","initial_release_date":"2024-01-01T00:00:00Z","current_release_date":"2024-01-01T00:00:00Z","revision_history":[{"date":"2024-01-01T00:00:00Z","number":"1.0.0","summary":"Initial"}]}},"product_tree":{"branches":[{"category":"vendor","name":"V","branches":[{"category":"product_version","name":"1.0","product":{"name":"V 1.0","product_id":"P1","product_identification_helper":{"purls":["pkg:generic/v@1.0"]}}}]}]},"vulnerabilities":[{"cve":"CVE-2024-0001","cwes":[{"id":"CWE-79","name":"XSS","version":"4.13"}],"metrics":[{"products":["P1"],"content":{"cvss_v3":{"version":"3.1","vectorString":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H","baseScore":9.8,"baseSeverity":"CRITICAL"}}}],"product_status":{"known_affected":["P1"]},"x_vendor":[1,1.5,18446744073709551616]}]}"#,
        " {\"document\":{\"category\":\"csaf_base\",\"csaf_version\":\"2.0\",\"title\":\"no label\",\"publisher\":{\"category\":\"vendor\",\"name\":\"V\",\"namespace\":\"https://v.example\"},\"tracking\":{\"id\":\"V-3\",\"status\":\"final\",\"version\":\"1\"}}}",
    ] {
        out.push(("csaf_import", seed.as_bytes().to_vec()));
    }

    // API bodies, and the changes they make.
    let advisory = sample_advisory();
    let contact = Contact {
        name: "F0 Computer Emergency Response Team".into(),
        short_name: "F0".into(),
        country: "NL".into(),
        kind: TeamKind::National,
        constituency: "the national government".into(),
        postal_address: "Main street 1".into(),
        time_zone: "Europe/Amsterdam".into(),
        business_hours: "Mon-Fri 09:00-17:00".into(),
        email: "cert@example.org".into(),
        phone: "+31 70 000 0000".into(),
        emergency_phone: "+31 70 000 0001".into(),
        website: "https://example.org".into(),
        pgp_keys: vec![],
        representatives: vec![],
    };
    let tool = Tool {
        name: "triage".into(),
        version: "1.0.0".into(),
        description: "collects volatile evidence".into(),
        homepage: "https://example.org/triage".into(),
        download_url: String::new(),
        sha256: String::new(),
        license: "Apache-2.0".into(),
        tags: vec!["forensics".into()],
        maintainer: "F0".into(),
    };
    let json = |kind: u8, v: serde_json::Result<Vec<u8>>| -> Vec<u8> {
        let mut b = vec![kind];
        b.extend(v.unwrap_or_else(|e| ours(&e.to_string())));
        b
    };
    out.push(("api_body", json(0, serde_json::to_vec(&advisory))));
    out.push(("api_body", json(1, serde_json::to_vec(&contact))));
    out.push(("api_body", json(2, serde_json::to_vec(&tool))));
    let mut changes = Vec::new();
    let c = founder
        .publish_advisory(1000, &advisory)
        .unwrap_or_else(|e| ours(&e.to_string()));
    changes.push(c);
    if let Ok(Some(c)) = founder.edit_contact(1000, &contact) {
        changes.push(c);
    }
    if let Ok(Some(c)) = founder.upsert_tool(1000, &tool) {
        changes.push(c);
    }
    for c in &changes {
        out.push(("change", c.encode()));
    }
    let gossip = [
        Message::Statements(statements.clone()),
        Message::Changes(changes.clone()),
    ];
    for m in &gossip {
        out.push(("gossip", m.encode()));
        out.push(("message", m.encode()));
    }

    // Anti-entropy between two founders, one of which has documents: every
    // message of a whole exchange.
    let mut other = node(&w.founders[1]);
    founder.peer_connected(0, w.founders[1].id());
    other.peer_connected(0, w.founders[0].id());
    drain(&mut founder);
    drain(&mut other);
    founder.handle_timeout(60_000);
    let mut pending: Vec<(bool, Message)> = Vec::new();
    for _ in 0..50 {
        while let Some(t) = founder.poll_transmit() {
            pending.push((true, t.message));
        }
        while let Some(t) = other.poll_transmit() {
            pending.push((false, t.message));
        }
        if pending.is_empty() {
            break;
        }
        for (from_founder, m) in pending.drain(..) {
            out.push(("message", m.encode()));
            if from_founder {
                let _ = other.handle_message(60_000, w.founders[0].id(), m);
            } else {
                let _ = founder.handle_message(60_000, w.founders[1].id(), m);
            }
        }
    }

    // A member's hand-made change: one op program per document kind.
    for kind in 0..3u8 {
        out.push((
            "member_change",
            vec![kind, 0, 0, 0, 5, b't', b'i', b't', b'l', b'e'],
        ));
    }
    out
}

/// An advisory with every kind of field filled.
pub fn sample_advisory() -> Advisory {
    Advisory {
        id: "TM-2026-0001".into(),
        title: "Remote code execution in a VPN gateway".into(),
        category: AdvisoryCategory::Vulnerability,
        tlp: Tlp::Clear,
        audience: vec![],
        co_authors: vec![],
        severity: Severity::High,
        status: AdvisoryStatus::Final,
        revisions: vec![Revision {
            number: "1".into(),
            date: 1_700_000_000,
            summary: "initial".into(),
        }],
        cves: vec!["CVE-2026-0001".into()],
        products: vec![Product {
            vendor: "Example".into(),
            product: "Gateway".into(),
            versions: vec!["< 2.4.1".into()],
        }],
        indicators: vec![Indicator {
            kind: IndicatorKind::Ipv4,
            value: "192.0.2.1".into(),
        }],
        summary: "Patch now.".into(),
        body: "Details.".into(),
        references: vec![],
        acknowledgements: vec![],
    }
}
