//! The OpenAPI document against the code.
//!
//! - Every route [`routes`] serves is in the document and nothing else is,
//!   with the request body and answer its handler's signature names, and
//!   the token required on every route but the public one.
//! - `components/schemas` is what schemars derives from [`crate::api`]
//!   and the stand-ins in `api::schema`.
//! - A sample of every body, serialized with serde, has exactly the
//!   properties its schema lists, recursively; a property is required
//!   exactly when serde refuses the body without it, and nullable exactly
//!   when serde takes `null` for it; every value fits its schema's type and
//!   enum.
//!
//! `UPDATE_EXPECT=1 cargo test -p trustmesh-node openapi` rewrites the
//! generated parts of `openapi.json` (schemas and body references); the
//! prose and the parameters stay hand-written.

use std::collections::BTreeSet;

use schemars::generate::SchemaSettings;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use trustmesh_bootstrap::{ApplicationFile, IntroductionFile, RevocationFile, TrustFile};
use trustmesh_protocol as p;

use super::{OPENAPI, routes};
use crate::api::*;

const PATH: &str = "src/http/openapi.json";
const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

fn document() -> Value {
    serde_json::from_str(OPENAPI).expect("openapi.json is JSON")
}

fn generator() -> schemars::SchemaGenerator {
    SchemaSettings::draft2020_12()
        .with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        })
        .into_generator()
}

/// Whether a body is not one of ours (a CSAF document, a STIX bundle):
/// its schema is `true`, anything, and the document describes it in prose.
fn is_foreign(s: &Value) -> bool {
    *s == Value::Bool(true)
}

/// The document with its generated parts made anew from the code.
fn regenerate(doc: &Value) -> Value {
    let mut doc = doc.clone();
    let mut g = generator();
    for r in routes() {
        let Some(op) = doc.pointer_mut(&format!(
            "/paths/{}/{}",
            escape(r.path),
            r.method.as_str().to_lowercase()
        )) else {
            continue;
        };
        let op = op.as_object_mut().expect("an operation is an object");
        match r.body.map(|f| f(&mut g).to_value()) {
            Some(s) if !is_foreign(&s) => {
                op.insert(
                    "requestBody".into(),
                    json!({"required": true, "content": {"application/json": {"schema": s}}}),
                );
            }
            Some(_) => {}
            None => {
                op.remove("requestBody");
            }
        }
        let answer = (r.answer)(&mut g).to_value();
        if !is_foreign(&answer) {
            let name = answer["$ref"].as_str().unwrap_or_default();
            let what = g
                .definitions()
                .get(name.trim_start_matches("#/components/schemas/"))
                .and_then(|s| s["description"].as_str())
                .unwrap_or("The answer.")
                .to_string();
            let ok = op
                .entry("responses")
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("responses is an object")
                .entry("200")
                .or_insert_with(|| json!({"description": "OK"}));
            ok["description"] = json!(what);
            ok["content"] = json!({"application/json": {"schema": answer}});
        }
        if r.public {
            op.insert("security".into(), json!([]));
        } else {
            op.remove("security");
        }
    }
    let error = g.subschema_for::<ErrorBody>().to_value();
    doc["components"]["responses"]["Error"] = json!({
        "description": "An error: a 4xx or 5xx status with a message.",
        "content": {"application/json": {"schema": error}},
    });
    doc["components"]["schemas"] = Value::Object(g.take_definitions(true));
    doc
}

/// A path as a JSON pointer segment.
fn escape(path: &str) -> String {
    path.replace('~', "~0").replace('/', "~1")
}

#[test]
fn routes_build_one_router() {
    // axum merges the methods of one path and panics on a path or method
    // given twice.
    let _ = routes()
        .into_iter()
        .fold(axum::Router::<super::Shared>::new(), |router, r| {
            router.route(r.path, r.handler)
        });
}

#[test]
fn openapi_lists_every_route_and_no_other() {
    let doc = document();
    let served: BTreeSet<(String, String)> = routes()
        .iter()
        .map(|r| (r.method.as_str().to_lowercase(), r.path.to_string()))
        .collect();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, _) in item.as_object().expect("a path item") {
            assert!(METHODS.contains(&method.as_str()), "{path}: {method}?");
            documented.insert((method.clone(), path.clone()));
        }
    }
    let missing: Vec<_> = served.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&served).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "routes served but not in openapi.json: {missing:?}; in openapi.json but not served: {extra:?}"
    );
}

#[test]
fn openapi_bodies_and_schemas_are_the_code_s() {
    let doc = document();
    let expected = regenerate(&doc);
    if expected == doc {
        return;
    }
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        let text = serde_json::to_string_pretty(&expected).expect("JSON") + "\n";
        std::fs::write(PATH, text).expect("write openapi.json");
        return;
    }
    let mut differ = Vec::new();
    for (path, item) in expected["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            if doc["paths"][path][method] != *op {
                differ.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    for (name, s) in expected["components"]["schemas"]
        .as_object()
        .expect("schemas")
    {
        if doc["components"]["schemas"][name] != *s {
            differ.push(format!("schema {name}"));
        }
    }
    for name in doc["components"]["schemas"]
        .as_object()
        .expect("schemas")
        .keys()
    {
        if expected["components"]["schemas"].get(name).is_none() {
            differ.push(format!("schema {name} (no type has it)"));
        }
    }
    panic!(
        "openapi.json differs from the code at {differ:?}; \
         run `UPDATE_EXPECT=1 cargo test -p trustmesh-node openapi` and review the diff"
    );
}

#[test]
fn openapi_is_written_as_it_would_be_generated() {
    // So that an update shows only what changed.
    let text = serde_json::to_string_pretty(&document()).expect("JSON") + "\n";
    if text != OPENAPI && std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(PATH, text).expect("write openapi.json");
        return;
    }
    assert!(
        text == OPENAPI,
        "openapi.json is not in its canonical form; run `UPDATE_EXPECT=1 cargo test -p trustmesh-node openapi`"
    );
}

#[test]
fn openapi_references_resolve_and_parameters_match() {
    let doc = document();
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    for r in &refs {
        let target = r.strip_prefix('#').expect("a local reference");
        assert!(doc.pointer(target).is_some(), "{r} resolves to nothing");
    }
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            let params: Vec<&Value> = op["parameters"]
                .as_array()
                .map(|a| a.iter().collect())
                .unwrap_or_default();
            let named = |place: &str| -> BTreeSet<String> {
                params
                    .iter()
                    .filter(|p| p["in"] == place)
                    .map(|p| p["name"].as_str().expect("a name").to_string())
                    .collect()
            };
            let in_path: BTreeSet<String> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .map(str::to_string)
                .collect();
            assert_eq!(named("path"), in_path, "{method} {path}: path parameters");
            for p in params.iter().filter(|p| p["in"] == "path") {
                assert_eq!(p["required"], true, "{method} {path}: {}", p["name"]);
            }
            let query = match (method.as_str(), path.as_str()) {
                ("get", "/advisories") => properties::<AdvisoryQuery>(),
                ("get", "/tools") => properties::<TeamQuery>(),
                ("post", "/advisories/import-csaf") => properties::<ImportCsafQuery>(),
                ("get", "/advisories/{owner}/{id}/csaf") => properties::<CsafQuery>(),
                ("get", "/export/misp-feed") => properties::<MispFeedQuery>(),
                _ => BTreeSet::new(),
            };
            assert_eq!(named("query"), query, "{method} {path}: query parameters");
            for p in params.iter().filter(|p| p["in"] == "query") {
                assert_eq!(p["required"], false, "{method} {path}: {}", p["name"]);
            }
            let ok = &op["responses"]["200"];
            assert!(ok.is_object(), "{method} {path}: no 200 answer");
            if let Some(s) = ok.pointer("/content/application~1json/schema") {
                assert!(
                    s.get("$ref").is_some() || s["description"].is_string(),
                    "{method} {path}: an answer that is not one of ours says what it is"
                );
            }
        }
    }
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// The properties of a type's schema.
fn properties<T: schemars::JsonSchema>() -> BTreeSet<String> {
    let s = generator().into_root_schema_for::<T>().to_value();
    s["properties"]
        .as_object()
        .expect("an object schema")
        .keys()
        .cloned()
        .collect()
}

#[test]
fn openapi_enums_list_every_variant() {
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    fn names<T: Serialize>(all: &[T]) -> Vec<Value> {
        all.iter()
            .map(|v| serde_json::to_value(v).expect("an enum serializes"))
            .collect()
    }
    let cases = [
        ("AdvisoryCategory", names(p::AdvisoryCategory::ALL)),
        ("Tlp", names(p::Tlp::ALL)),
        ("Severity", names(p::Severity::ALL)),
        ("AdvisoryStatus", names(p::AdvisoryStatus::ALL)),
        ("IndicatorKind", names(p::IndicatorKind::ALL)),
    ];
    for (name, serde_names) in cases {
        assert_eq!(
            enum_values(&schemas[name]),
            serde_names,
            "schema {name} lists other values than serde writes"
        );
    }
    // TeamKind keeps its list private: every value listed must parse as a
    // kind and serialize back the same.
    let kinds = enum_values(&schemas["TeamKind"]);
    assert!(!kinds.is_empty());
    for k in kinds {
        let kind: p::TeamKind = serde_json::from_value(k.clone()).expect("a team kind");
        assert_eq!(serde_json::to_value(kind).expect("JSON"), k);
    }
}

/// The values an enum schema allows (`enum`, or `oneOf` of `const`s).
fn enum_values(s: &Value) -> Vec<Value> {
    if let Some(e) = s["enum"].as_array() {
        return e.clone();
    }
    s["oneOf"]
        .as_array()
        .map(|a| a.iter().map(|b| b["const"].clone()).collect())
        .unwrap_or_default()
}

fn team(n: u8) -> p::TeamId {
    p::TeamKey::from_secret_bytes([n; 32]).id()
}

fn hash<T: std::str::FromStr>(n: u8) -> T
where
    T::Err: std::fmt::Debug,
{
    format!("{n:02x}")
        .repeat(32)
        .parse()
        .expect("64 hex digits")
}

fn profile() -> p::Profile {
    p::Profile {
        name: "CERT Example".into(),
        short_name: "CERT-XY".into(),
        country: "XY".into(),
        kind: p::TeamKind::National,
        constituency: "Example".into(),
        email: "cert@example.org".into(),
        website: "https://cert.example.org".into(),
    }
}

fn advisory() -> p::Advisory {
    p::Advisory {
        id: "XY-2026-0001".into(),
        title: "A title".into(),
        category: p::AdvisoryCategory::Alert,
        tlp: p::Tlp::Amber,
        audience: vec![team(1), team(2)],
        co_authors: vec![team(2)],
        severity: p::Severity::High,
        status: p::AdvisoryStatus::Final,
        revisions: vec![p::Revision {
            number: "1".into(),
            date: 1_700_000_000,
            summary: "first".into(),
        }],
        cves: vec!["CVE-2024-3094".into()],
        products: vec![p::Product {
            vendor: "Vendor".into(),
            product: "Product".into(),
            versions: vec!["1.0".into()],
        }],
        indicators: vec![p::Indicator {
            kind: p::IndicatorKind::Ipv4,
            value: "192.0.2.1".into(),
        }],
        summary: "summary".into(),
        body: "body".into(),
        references: vec![p::Reference {
            url: "https://example.org".into(),
            summary: "ref".into(),
        }],
        acknowledgements: vec!["someone".into()],
    }
}

fn summary() -> AdvisorySummary {
    AdvisorySummary {
        doc: hash(9),
        owner: team(1),
        owner_name: "CERT-XY".into(),
        id: "XY-2026-0001".into(),
        title: "A title".into(),
        category: "warning".into(),
        tlp: p::Tlp::Clear,
        severity: Some(p::Severity::Low),
        severity_text: Some("niedrig".into()),
        status: p::AdvisoryStatus::Draft,
        cves: vec!["CVE-2024-3094".into()],
        revision: Some("1".into()),
        updated: Some(1_700_000_000),
        ahead_of_clock: true,
        imported: true,
        publisher: "Vendor".into(),
        csaf_version: "2.1".into(),
        complete: true,
    }
}

fn contact() -> p::Contact {
    p::Contact {
        name: "CERT Example".into(),
        short_name: "CERT-XY".into(),
        country: "XY".into(),
        kind: p::TeamKind::National,
        constituency: "Example".into(),
        postal_address: "1 Street".into(),
        time_zone: "UTC".into(),
        business_hours: "9-17".into(),
        email: "cert@example.org".into(),
        phone: "+1 555 0100".into(),
        emergency_phone: "+1 555 0199".into(),
        website: "https://cert.example.org".into(),
        pgp_keys: vec![p::PgpKey {
            fingerprint: "ab".repeat(20),
            armored: Some("-----BEGIN PGP PUBLIC KEY BLOCK-----".into()),
        }],
        representatives: vec![p::Representative {
            name: "A Person".into(),
            role: "team lead".into(),
            email: "a@example.org".into(),
            phone: "+1 555 0101".into(),
        }],
    }
}

fn tool() -> p::Tool {
    p::Tool {
        name: "scanner".into(),
        version: "1.0".into(),
        description: "scans".into(),
        homepage: "https://example.org".into(),
        download_url: "https://example.org/scanner.tgz".into(),
        sha256: "ab".repeat(32),
        license: "MIT".into(),
        tags: vec!["forensics".into()],
        maintainer: "CERT-XY".into(),
    }
}

fn meta() -> DocMeta {
    DocMeta {
        doc: hash(9),
        heads: vec![hash(8)],
        changes_applied: 2,
        changes_held: 1,
        signed_by: vec![team(1)],
    }
}

fn status() -> Status {
    Status {
        team_id: team(1),
        peer_id: "12D3KooW".into(),
        network_id: hash(3),
        network: "net".into(),
        member: true,
        members: 3,
        listen: vec!["/ip4/127.0.0.1/tcp/1".into()],
        peers: PeerCounts {
            connected: 2,
            members: 1,
            known_addresses: 1,
        },
        statements: 5,
        documents: 2,
        digest: "ab".into(),
        uptime_secs: 10,
        sync: SyncCounters {
            rejected: [("bad_signature".to_string(), 1)].into(),
            ..SyncCounters::default()
        },
        net: NetStats {
            invalid: [("decode".to_string(), 1)].into(),
            ..NetStats::default()
        },
        last_sync_secs: Some(3),
        progress: Progress::default(),
        alerts: AlertStats::default(),
        health: Health {
            state: HealthState::Degraded,
            reasons: vec!["no peers".into()],
            summary: "degraded".into(),
        },
        reachability: crate::api::Reachability {
            reachable: 0,
            unreachable: 1,
            members: vec![crate::api::MemberReach {
                team: team(2),
                reachable: false,
                for_secs: 30,
                last_sync_secs: Some(40),
                rtt_ms: Some(5),
                restricted: 2,
                path: None,
            }],
            restricted_without_path: 2,
            relaying: crate::api::Relaying {
                nat: crate::api::Nat::Private,
                nat_from: "config".into(),
                relays: vec![team(3)],
                server: false,
                circuits: 0,
                relayed_members: 0,
            },
        },
    }
}

fn members() -> Members {
    Members {
        network_id: hash(3),
        network: "net".into(),
        sponsors_required: 2,
        revocation_quorum: 2,
        members: vec![team(1)],
        standings: vec![MemberView {
            team: team(1),
            status: MemberStatus::Admitted,
            member: true,
            profile: Some(profile()),
            short_name: Some("CERT-XY".into()),
            name: Some("CERT Example".into()),
            country: Some("XY".into()),
            applied: true,
            introductions: vec![IntroductionView {
                id: hash(4),
                sponsor: team(2),
                ignored: Some(IntroductionIgnored::SponsorRevoked),
            }],
            revocations: vec![RevocationView {
                id: hash(5),
                revoker: team(2),
                reason: "why".into(),
                counted: false,
            }],
            policy: p::Policy::default(),
            reason: "admitted".into(),
            sponsors: vec![team(2)],
            revokers: vec![team(3)],
        }],
    }
}

fn introduction_file() -> TrustFile {
    TrustFile::Introduction(IntroductionFile {
        network_id: hash(3),
        statement_id: hash(4),
        sponsor: team(2),
        applicant: team(1),
        application_id: hash(6),
        created_at: 1,
        note: "known".into(),
        signed: "00".into(),
        application: ApplicationFile {
            network_id: hash(3),
            statement_id: hash(6),
            applicant: team(1),
            created_at: 1,
            profile: profile(),
            signed: "00".into(),
        },
    })
}

fn revocation_file() -> TrustFile {
    TrustFile::Revocation(RevocationFile {
        network_id: hash(3),
        statement_id: hash(7),
        revoker: team(2),
        revoked: team(1),
        created_at: 1,
        reason: "why".into(),
        kept_introductions: vec![hash(4)],
        kept_heads: vec![hash(8)],
        signed: "00".into(),
    })
}

/// Checks every body against the document and records the schemas it
/// reached.
struct Checker {
    doc: Value,
    reached: BTreeSet<String>,
}

/// Whether serde takes the sample with the property `key` of the object
/// at a path removed (`None`) or set to a value.
type Probe<'a> = dyn Fn(&[Seg], &str, Option<Value>) -> bool + 'a;

#[derive(Clone, Debug)]
enum Seg {
    Key(String),
    Index(usize),
}

impl Checker {
    /// `sample` against the schema `name`, probing serde with variants of
    /// the sample: each property removed, each property set to null.
    fn check<T: Serialize + DeserializeOwned>(&mut self, name: &str, sample: &T) {
        let value = serde_json::to_value(sample).expect("a sample serializes");
        let schema = json!({"$ref": format!("#/components/schemas/{name}")});
        let probe = |path: &[Seg], key: &str, to: Option<Value>| -> bool {
            let mut v = value.clone();
            let obj = at(&mut v, path).as_object_mut().expect("an object");
            match to {
                Some(x) => obj.insert(key.to_string(), x),
                None => obj.remove(key),
            };
            serde_json::from_value::<T>(v).is_ok()
        };
        let mut path = Vec::new();
        if let Err(e) = self.fits(&schema, &value, &mut path, &probe) {
            panic!("{name}: {e}");
        }
    }

    fn resolve(&mut self, s: &Value) -> Value {
        match s.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let name = r
                    .strip_prefix("#/components/schemas/")
                    .expect("a schema reference");
                self.reached.insert(name.to_string());
                self.doc["components"]["schemas"][name].clone()
            }
            None => s.clone(),
        }
    }

    fn fits(
        &mut self,
        s: &Value,
        v: &Value,
        path: &mut Vec<Seg>,
        probe: &Probe<'_>,
    ) -> Result<(), String> {
        let s = self.resolve(s);
        let here = format!("{path:?}");
        let at = || here.clone();
        if s == Value::Bool(true) {
            return Ok(());
        }
        if s.is_null() {
            return Err(format!("{}: no such schema", at()));
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(branches) = s[key].as_array() {
                let mut errors = Vec::new();
                for b in branches {
                    match self.fits(b, v, path, probe) {
                        Ok(()) => return Ok(()),
                        Err(e) => errors.push(e),
                    }
                }
                return Err(format!("{}: fits no branch of {key}: {errors:?}", at()));
            }
        }
        if let Some(c) = s.get("const") {
            return (c == v)
                .then_some(())
                .ok_or_else(|| format!("{}: {v} is not {c}", at()));
        }
        if let Some(e) = s["enum"].as_array()
            && !e.contains(v)
        {
            return Err(format!("{}: {v} is not one of {e:?}", at()));
        }
        let types: Vec<&str> = match &s["type"] {
            Value::String(t) => vec![t.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => return Err(format!("{}: a schema without a type: {s}", at())),
        };
        let kind = match v {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_u64() || n.is_i64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        if !types.contains(&kind) {
            return Err(format!("{}: a {kind}, the schema says {types:?}", at()));
        }
        match v {
            Value::String(text) => match s["pattern"].as_str() {
                None => Ok(()),
                Some("^[0-9a-f]{64}$") => (text.len() == 64
                    && text
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
                .then_some(())
                .ok_or_else(|| format!("{}: {text:?} is not 64 hex digits", at())),
                Some(other) => Err(format!("{}: the test knows no pattern {other}", at())),
            },
            Value::Array(items) => {
                if items.is_empty() {
                    return Err(format!("{}: the sample leaves this array empty", at()));
                }
                for (i, item) in items.iter().enumerate() {
                    path.push(Seg::Index(i));
                    self.fits(&s["items"], item, path, probe)?;
                    path.pop();
                }
                Ok(())
            }
            Value::Object(obj) => self.fits_object(&s, obj, path, probe),
            _ => Ok(()),
        }
    }

    fn fits_object(
        &mut self,
        s: &Value,
        obj: &Map<String, Value>,
        path: &mut Vec<Seg>,
        probe: &Probe<'_>,
    ) -> Result<(), String> {
        let at = format!("{path:?}");
        if obj.is_empty() {
            return Err(format!("{at}: the sample leaves this object empty"));
        }
        let Some(props) = s["properties"].as_object() else {
            // A map: every value fits the value schema.
            let values = s
                .get("additionalProperties")
                .ok_or_else(|| format!("{at}: an object schema without properties"))?;
            for (k, item) in obj {
                path.push(Seg::Key(k.clone()));
                self.fits(values, item, path, probe)?;
                path.pop();
            }
            return Ok(());
        };
        let listed: BTreeSet<&String> = props.keys().collect();
        let present: BTreeSet<&String> = obj.keys().collect();
        if listed != present {
            return Err(format!(
                "{at}: serde writes {present:?}, the schema lists {listed:?}"
            ));
        }
        let required: BTreeSet<&str> = s["required"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for (k, item) in obj {
            let omissible = probe(path, k, None);
            if required.contains(k.as_str()) == omissible {
                return Err(format!(
                    "{at}: {k} is {} in the schema, but serde {} a body without it",
                    if omissible { "required" } else { "optional" },
                    if omissible { "takes" } else { "refuses" },
                ));
            }
            let nullable = probe(path, k, Some(Value::Null));
            let mut p = path.clone();
            p.push(Seg::Key(k.clone()));
            let schema_nullable = self.fits(&props[k], &Value::Null, &mut p, &|_, _, _| true);
            if nullable != schema_nullable.is_ok() {
                return Err(format!(
                    "{at}: serde {} null for {k}, the schema {}",
                    if nullable { "takes" } else { "refuses" },
                    if nullable { "does not" } else { "does" },
                ));
            }
            path.push(Seg::Key(k.clone()));
            self.fits(&props[k], item, path, probe)?;
            path.pop();
        }
        Ok(())
    }
}

fn at<'a>(v: &'a mut Value, path: &[Seg]) -> &'a mut Value {
    path.iter().fold(v, |v, seg| match seg {
        Seg::Key(k) => &mut v[k.as_str()],
        Seg::Index(i) => &mut v[*i],
    })
}

#[test]
fn openapi_schemas_fit_what_serde_writes() {
    let mut c = Checker {
        doc: document(),
        reached: BTreeSet::new(),
    };
    c.check(
        "ErrorBody",
        &ErrorBody {
            error: "bad".into(),
        },
    );
    c.check("Status", &status());
    c.check("Members", &members());
    c.check(
        "TeamRef",
        &TeamRef {
            team: team(2),
            short_name: "CERT-XY (aa00bb11)".into(),
            member: true,
        },
    );
    c.check(
        "Peers",
        &Peers {
            peers: vec![PeerView {
                peer_id: "12D3KooW".into(),
                team: Some(team(2)),
                member: true,
                open: true,
                address: Some("/ip4/127.0.0.1/tcp/1".into()),
                agent: Some("trustmesh/0".into()),
                connected_secs: 4,
            }],
            known_addresses: 1,
        },
    );
    c.check(
        "Advisories",
        &Advisories {
            advisories: vec![summary()],
        },
    );
    c.check(
        "AdvisoryDetail",
        &AdvisoryDetail {
            owner: team(1),
            owner_name: "CERT-XY".into(),
            summary: summary(),
            envelope: EnvelopeView {
                tlp: p::Tlp::Amber,
                audience: vec![team(1)],
                co_authors: vec![team(2)],
                indicators: advisory().indicators,
                status: p::AdvisoryStatus::Final,
                original_sha256: Some("ab".repeat(32)),
                original_sha512: Some("cd".repeat(64)),
                original_signature: Some("-----BEGIN PGP SIGNATURE-----".into()),
                sharing_group: Some("6f1c5e5a-0d7e-4f1a-9c3b-2d4e5f6a7b8c".into()),
            },
            advisory: Some(advisory()),
            csaf: json!({"document": {"title": "A title"}}),
            meta: meta(),
        },
    );
    c.check("Advisory", &advisory());
    c.check(
        "Published",
        &Published {
            doc: hash(9),
            change: hash(8),
            owner: team(1),
            id: "XY-2026-0001".into(),
        },
    );
    c.check(
        "CsafImported",
        &CsafImported {
            doc: hash(9),
            owner: team(1),
            id: "RHSA-2023:7831".into(),
            changes: vec![hash(8)],
            previous: Some("3".into()),
            tlp: p::Tlp::Clear,
            tlp_from: "document".into(),
        },
    );
    c.check(
        "Updated",
        &Updated {
            owner: team(1),
            id: "XY-2026-0001".into(),
            changed: true,
            change: Some(hash(8)),
            continued_as: Some("XY-2026-0001~2".into()),
            note: Some("XY-2026-0001 stays TLP:RED".into()),
        },
    );
    c.check(
        "OriginalDocument",
        &OriginalDocument {
            text: "{\"document\": {}}\n".into(),
            sha256: "ab".repeat(32),
            sha512: "cd".repeat(64),
            signature: Some("-----BEGIN PGP SIGNATURE-----".into()),
        },
    );
    c.check(
        "Contacts",
        &Contacts {
            contacts: vec![ContactEntry {
                team: team(1),
                member: true,
                contact: contact(),
            }],
        },
    );
    c.check(
        "ContactDetail",
        &ContactDetail {
            team: team(1),
            contact: contact(),
            meta: meta(),
        },
    );
    c.check("Contact", &contact());
    c.check(
        "Changed",
        &Changed {
            changed: true,
            change: Some(hash(8)),
        },
    );
    c.check(
        "Tools",
        &Tools {
            tools: vec![ToolEntry {
                team: team(1),
                team_name: "CERT-XY".into(),
                tool: tool(),
            }],
        },
    );
    c.check("Tool", &tool());
    c.check(
        "ToolChanged",
        &ToolChanged {
            name: "scanner".into(),
            changed: true,
        },
    );
    c.check(
        "ToolRemoved",
        &ToolRemoved {
            name: "scanner".into(),
            removed: true,
        },
    );
    c.check(
        "SponsorRequest",
        &SponsorRequest {
            application: "{}".into(),
            note: "known".into(),
        },
    );
    c.check(
        "Sponsored",
        &Sponsored {
            introduction: introduction_file(),
            applicant: team(1),
            applicant_is_member: false,
            sponsor_is_member: true,
            warnings: vec!["a clash".into()],
        },
    );
    c.check(
        "RevokeRequest",
        &RevokeRequest {
            team: "CERT-XY".into(),
            reason: "why".into(),
            keep_none: true,
        },
    );
    c.check(
        "Revoked",
        &Revoked {
            revocation: revocation_file(),
            status: Some(MemberStatus::Revoked),
            reason: Some("revoked".into()),
        },
    );
    c.check(
        "ImportRequest",
        &ImportRequest {
            files: vec!["{}".into()],
        },
    );
    c.check(
        "Imported",
        &Imported {
            added: 1,
            already_known: 2,
        },
    );
    c.check(
        "DialRequest",
        &DialRequest {
            address: "/ip4/127.0.0.1/tcp/1".into(),
        },
    );
    c.check(
        "Dialing",
        &Dialing {
            dialing: "/ip4/127.0.0.1/tcp/1".into(),
        },
    );
    let all: BTreeSet<String> = c.doc["components"]["schemas"]
        .as_object()
        .expect("schemas")
        .keys()
        .cloned()
        .collect();
    let unchecked: Vec<_> = all.difference(&c.reached).collect();
    assert!(
        unchecked.is_empty(),
        "schemas no sample reaches (add one here): {unchecked:?}"
    );
    // Every body a route takes or answers has a sample above.
    let mut g = generator();
    for r in routes() {
        for s in r.body.into_iter().chain([r.answer]) {
            let s = s(&mut g).to_value();
            if let Some(name) = s["$ref"].as_str() {
                let name = name.trim_start_matches("#/components/schemas/");
                assert!(c.reached.contains(name), "{}: {name} unchecked", r.path);
            }
        }
    }
}
