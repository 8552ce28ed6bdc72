//! Exports checked by the ecosystem's own validators: CSAF 2.0 by the
//! secvisogram csaf-validator-lib (schema and mandatory tests), STIX 2.1 by
//! the OASIS stix2-validator. The test installs both on first use:
//! `npm ci` in tests/js-csaf, and a Python venv in
//! `$HOME/.cache/trustmesh-py`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use trustmesh_node::api::{AdvisoryDetail, CsafImported};
use trustmesh_protocol::{EXPORT_SETS, Tlp};

use crate::support::{Workspace, npm_ci, python, run};

/// tests/js-csaf with its node_modules installed from the lock file.
fn csaf_validator() -> PathBuf {
    npm_ci("js-csaf", "@secvisogram/csaf-validator-lib")
}

/// The stix2_validator script of the tests' venv.
fn stix_validator() -> PathBuf {
    python().with_file_name("stix2_validator")
}

/// Runs the CSAF validator on `file`; returns its report.
fn validate_csaf(file: &Path) -> Value {
    let out = Command::new("node")
        .arg("validate.mjs")
        .arg(file)
        .current_dir(csaf_validator())
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "csaf-validator-lib rejects {}:\n{stdout}\n{}\n--- document ---\n{}",
        file.display(),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(file).unwrap_or_default()
    );
    let report: Value = serde_json::from_str(&stdout).expect("the validator prints JSON");
    assert_eq!(report["isValid"], true, "{report:#}");
    assert_eq!(report["tests_run"], report["tests_passed"], "{report:#}");
    report
}

/// Runs stix2-validator on `file`; returns its output.
fn validate_stix(file: &Path) -> String {
    let out = Command::new(stix_validator())
        .args(["--version", "2.1"])
        .arg(file)
        .output()
        .expect("stix2_validator runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.contains("STIX JSON: Valid") && !text.contains("Invalid"),
        "stix2-validator rejects {} ({}):\n{text}\n--- bundle ---\n{}",
        file.display(),
        out.status,
        std::fs::read_to_string(file).unwrap_or_default()
    );
    text
}

fn advisory(aa: &str, bb: &str) -> Value {
    let mut audience = vec![aa.to_owned(), bb.to_owned()];
    audience.sort();
    json!({
        "id": "AA-2026-0001",
        "title": "Backdoor in a compression library",
        "category": "vulnerability",
        "tlp": "amber",
        "audience": audience,
        "co_authors": [],
        "severity": "critical",
        "status": "updated",
        "revisions": [
            { "number": "1", "date": 1_711_843_200u64, "summary": "Initial release" },
            { "number": "2", "date": 1_711_929_600u64, "summary": "Affected versions added" }
        ],
        "cves": ["CVE-2024-3094", "CVE-2024-0001"],
        "products": [
            { "vendor": "Tukaani", "product": "xz", "versions": ["5.6.0", "5.6.1"] },
            { "vendor": "Tukaani", "product": "liblzma", "versions": ["versions before 5.6.2"] },
            { "vendor": "", "product": "sshd with systemd notify patches", "versions": [] }
        ],
        "indicators": [
            { "kind": "ipv4", "value": "192.0.2.7" },
            { "kind": "ipv4", "value": "198.51.100.0/24" },
            { "kind": "ipv6", "value": "2001:db8::7" },
            { "kind": "domain", "value": "bad.example" },
            { "kind": "url", "value": "https://bad.example/payload?id=1&x='y'" },
            { "kind": "sha256", "value": "a".repeat(64) },
            { "kind": "sha1", "value": "B".repeat(40) },
            { "kind": "md5", "value": "c".repeat(32) },
            { "kind": "email", "value": "phish@bad.example" },
            { "kind": "other", "value": "mutex Global\\xz-backdoor" }
        ],
        "summary": "A backdoor in liblzma lets an attacker run code through sshd.",
        "body": "Versions 5.6.0 and 5.6.1 carry a backdoor.\nDowngrade to 5.4.6.",
        "references": [
            { "url": "https://www.openwall.com/lists/oss-security/2024/03/29/4", "summary": "oss-security" },
            { "url": "https://nvd.nist.gov/vuln/detail/CVE-2024-3094", "summary": "" }
        ],
        "acknowledgements": ["Andres Freund"]
    })
}

#[test]
fn exports_pass_the_csaf_and_stix_validators_and_csaf_imports_back() {
    let w = Workspace::new();
    w.init("AA", "AA");
    w.init("BB", "BB");
    w.found(&["AA", "BB"], 2);
    let (aa, bb) = (w.team_id("AA"), w.team_id("BB"));
    let _a = w.start("AA", &["run"]);
    w.ok(
        Some("AA"),
        &[
            "contact",
            "set",
            "--email",
            "cert@aa.example",
            "--phone",
            "+49 30 1234567",
            "--emergency-phone",
            "+49 170 7654321",
            "--website",
            "https://www.aa.example/cert/",
            "--time-zone",
            "Europe/Berlin",
            "--business-hours",
            "Mo-Fr 08:00-17:00",
            "--postal-address",
            "1 Main Street\nAA City",
            "--constituency",
            "Everyone in AA",
        ],
    );

    let original = advisory(&aa, &bb);
    std::fs::write(w.path("advisory.json"), original.to_string()).expect("write");
    w.ok(
        Some("AA"),
        &["advisory", "publish", "--file", "advisory.json"],
    );

    // CSAF, through the CLI and the running node's API.
    let csaf_file = w.path("advisory.csaf.json");
    let v = w.ok(
        Some("AA"),
        &[
            "export",
            "advisory",
            "AA/AA-2026-0001",
            "--format",
            "csaf",
            "--out",
            "advisory.csaf.json",
        ],
    );
    assert!(v["written"].is_string(), "{v:#}");
    let csaf: Value =
        serde_json::from_str(&std::fs::read_to_string(&csaf_file).expect("read")).expect("JSON");
    let d = &csaf["document"];
    assert_eq!(d["category"], "csaf_security_advisory");
    assert_eq!(d["distribution"]["tlp"]["label"], "AMBER");
    assert_eq!(d["publisher"]["category"], "coordinator");
    assert_eq!(d["publisher"]["namespace"], "https://www.aa.example");
    assert_eq!(d["tracking"]["status"], "interim");
    assert_eq!(d["tracking"]["version"], "2");
    assert_eq!(
        d["tracking"]["initial_release_date"],
        "2024-03-31T00:00:00.000Z"
    );
    assert_eq!(csaf["vulnerabilities"].as_array().map(Vec::len), Some(2));
    let report = validate_csaf(&csaf_file);
    // The same advisory as CSAF 2.1: TLP 2.0 label, a sharing group for its
    // audience, and the library's 2.1 schema and mandatory tests.
    w.ok(
        Some("AA"),
        &[
            "export",
            "advisory",
            "AA/AA-2026-0001",
            "--format",
            "csaf",
            "--csaf-version",
            "2.1",
            "--out",
            "advisory.csaf21.json",
        ],
    );
    let csaf21: Value = serde_json::from_str(
        &std::fs::read_to_string(w.path("advisory.csaf21.json")).expect("read"),
    )
    .expect("JSON");
    assert_eq!(csaf21["document"]["csaf_version"], "2.1");
    assert_eq!(csaf21["document"]["distribution"]["tlp"]["label"], "AMBER");
    assert!(
        csaf21["document"]["distribution"]["sharing_group"]["id"].is_string(),
        "{csaf21:#}"
    );
    validate_csaf(&w.path("advisory.csaf21.json"));
    eprintln!(
        "csaf-validator-lib: {} of {} schema and mandatory tests passed; optional warnings {}",
        report["tests_passed"], report["tests_run"], report["optional_warnings"]
    );

    // The other shapes: csaf_base (CVEs, no products) under TLP:CLEAR, and a
    // draft under TLP:RED with products but no CVE and revision numbers CSAF
    // does not accept as they are.
    let mut base = original.clone();
    base["id"] = json!("AA-2026-0002");
    base["tlp"] = json!("clear");
    base["audience"] = json!([]);
    base["products"] = json!([]);
    base["status"] = json!("withdrawn");
    let mut draft = original.clone();
    draft["id"] = json!("AA-2026-0003");
    draft["tlp"] = json!("red");
    draft["cves"] = json!([]);
    draft["status"] = json!("draft");
    draft["revisions"] = json!([
        { "number": "0.9", "date": 1_711_843_200u64, "summary": "" },
        { "number": "1.0.0-rc1", "date": 1_711_929_600u64, "summary": "Candidate" }
    ]);
    for (a, category) in [(&base, "csaf_base"), (&draft, "csaf_security_advisory")] {
        let id = a["id"].as_str().expect("id");
        std::fs::write(w.path("other.json"), a.to_string()).expect("write");
        w.ok(Some("AA"), &["advisory", "publish", "--file", "other.json"]);
        let out = format!("{id}.csaf.json");
        let target = format!("AA/{id}");
        w.ok(
            Some("AA"),
            &[
                "export", "advisory", &target, "--format", "csaf", "--out", &out,
            ],
        );
        let doc: Value =
            serde_json::from_str(&std::fs::read_to_string(w.path(&out)).expect("read"))
                .expect("JSON");
        assert_eq!(doc["document"]["category"], category, "{doc:#}");
        validate_csaf(&w.path(&out));
        let out = format!("{id}.stix.json");
        w.ok(
            Some("AA"),
            &[
                "export", "advisory", &target, "--format", "stix", "--out", &out,
            ],
        );
        validate_stix(&w.path(&out));
    }

    // STIX, twice: the same bundle.
    for out in ["advisory.stix.json", "again.stix.json"] {
        w.ok(
            Some("AA"),
            &[
                "export",
                "advisory",
                "AA/AA-2026-0001",
                "--format",
                "stix",
                "--out",
                out,
            ],
        );
    }
    let stix_text = std::fs::read_to_string(w.path("advisory.stix.json")).expect("read");
    assert_eq!(
        stix_text,
        std::fs::read_to_string(w.path("again.stix.json")).expect("read"),
        "re-exports are stable"
    );
    let bundle: Value = serde_json::from_str(&stix_text).expect("JSON");
    let objects = bundle["objects"].as_array().expect("objects");
    let of_type = |t: &str| objects.iter().filter(|o| o["type"] == t).count();
    assert_eq!(of_type("identity"), 1);
    assert_eq!(of_type("marking-definition"), 1);
    assert_eq!(of_type("indicator"), 9, "every kind but other");
    let stix_report = validate_stix(&w.path("advisory.stix.json"));
    eprintln!(
        "stix2-validator: valid, {} warning(s)",
        stix_report.matches("Warning").count()
    );

    // Without --out the document itself is the output.
    let printed = w.ok(
        Some("AA"),
        &["export", "advisory", "AA/AA-2026-0001", "--format", "stix"],
    );
    assert_eq!(printed, bundle);

    // The CSAF file imports back as a CSAF document (under a name of its
    // own: AA-2026-0001 is the advisory written in trustmesh), and exports
    // as it was imported.
    let imported: CsafImported = w.api("AA", &["advisory", "import", "advisory.csaf.json"]);
    assert!(imported.id.starts_with("AA-2026-0001~"), "{}", imported.id);
    assert_eq!(imported.previous, None);
    assert_eq!(
        (imported.tlp, imported.tlp_from.as_str()),
        (Tlp::Amber, "document")
    );
    let target = format!("AA/{}", imported.id);
    let shown: AdvisoryDetail = w.api("AA", &["advisory", "show", &target]);
    assert!(shown.summary.imported);
    assert_eq!(
        shown.advisory, None,
        "an imported document has no short form"
    );
    assert_eq!(shown.summary.cves, ["CVE-2024-3094", "CVE-2024-0001"]);
    assert_eq!(shown.summary.severity.map(|s| s.name()), Some("critical"));
    w.ok(
        Some("AA"),
        &[
            "export",
            "advisory",
            &target,
            "--format",
            "csaf",
            "--out",
            "again.csaf.json",
        ],
    );
    let again: Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("again.csaf.json")).expect("read"))
            .expect("JSON");
    assert_eq!(differences(&csaf, &again), Vec::<String>::new());

    // The same revision again is refused naming the revision held;
    // something that is not CSAF is refused with a clear message.
    let err = w.fails(Some("AA"), &["advisory", "import", "advisory.csaf.json"]);
    assert!(
        err.contains("revision 2 of AA-2026-0001 is held here"),
        "{err}"
    );
    let err = w.fails(Some("AA"), &["advisory", "import", "advisory.stix.json"]);
    assert!(err.contains("not a CSAF document"), "{err}");

    // Contacts keep every RFC 2350 field.
    w.ok(
        Some("AA"),
        &["export", "contacts", "--out", "contacts.json"],
    );
    let contacts: Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("contacts.json")).expect("read"))
            .expect("JSON");
    assert_eq!(contacts["format"], "trustmesh-contacts/1");
    let entry = contacts["contacts"]
        .as_array()
        .and_then(|l| l.iter().find(|c| c["team"] == aa.as_str()))
        .unwrap_or_else(|| panic!("AA's entry: {contacts:#}"));
    for (field, value) in [
        ("short_name", json!("AA")),
        ("country", json!("AA")),
        ("kind", json!("national")),
        ("constituency", json!("Everyone in AA")),
        ("postal_address", json!("1 Main Street\nAA City")),
        ("time_zone", json!("Europe/Berlin")),
        ("business_hours", json!("Mo-Fr 08:00-17:00")),
        ("email", json!("cert@aa.example")),
        ("phone", json!("+49 30 1234567")),
        ("emergency_phone", json!("+49 170 7654321")),
        ("website", json!("https://www.aa.example/cert/")),
        ("pgp_keys", json!([])),
        ("representatives", json!([])),
        ("member", json!(true)),
    ] {
        assert_eq!(entry[field], value, "{field} in {entry:#}");
    }
    assert!(entry["name"].as_str().is_some_and(|n| n.contains("AA")));
}

/// Where two JSON trees differ, as JSON pointers.
fn differences(a: &Value, b: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![(String::new(), a, b)];
    while let Some((at, a, b)) = stack.pop() {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                for (k, v) in x {
                    let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                    match y.get(k) {
                        Some(w) => stack.push((p, v, w)),
                        None => out.push(p),
                    }
                }
                for k in y.keys().filter(|k| !x.contains_key(*k)) {
                    out.push(format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")));
                }
            }
            (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
                for (i, (v, w)) in x.iter().zip(y).enumerate() {
                    stack.push((format!("{at}/{i}"), v, w));
                }
            }
            (a, b) if a == b => {}
            _ => out.push(at),
        }
    }
    out.sort();
    out
}

/// Whether a difference is one trustmesh's export must make.
fn allowed(path: &str) -> bool {
    EXPORT_SETS.iter().any(|r| {
        path == r.path
            || path.starts_with(&format!("{}/", r.path))
            || r.path.starts_with(&format!("{path}/"))
    })
}

/// The shared corpus of real CSAF documents, if it is beside the checkout.
fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/csaf");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: no CSAF corpus at {}", dir.display());
        None
    }
}

/// Every corpus document goes through a running node: imported, shown,
/// exported in its own CSAF version; the export differs from the original
/// only where EXPORT_SETS says, and csaf-validator-lib (its CSAF 2.0
/// tests, and for 2.1 documents its csaf_2_1 schemas and mandatory tests)
/// finds no schema or mandatory test failing on the export that passes on
/// the original.
#[test]
fn real_documents_import_and_export_through_a_node() {
    let Some(dir) = corpus() else { return };
    let validator = csaf_validator();
    let w = Workspace::new();
    w.init("AA", "AA");
    w.found(&["AA"], 1);
    let _a = w.start("AA", &["run"]);
    let mut files: Vec<PathBuf> = ["2.0", "2.1"]
        .iter()
        .flat_map(|v| std::fs::read_dir(dir.join(v)).expect("corpus folder"))
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    for file in &files {
        let name = file.file_name().and_then(|n| n.to_str()).expect("a name");
        let original: Value =
            serde_json::from_str(&std::fs::read_to_string(file).expect("read")).expect("JSON");
        let version = original["document"]["csaf_version"]
            .as_str()
            .expect("a version")
            .to_owned();
        let path = file.to_str().expect("a path");
        // A document without a label is refused until one is named.
        let imported: CsafImported = if original.pointer("/document/distribution/tlp").is_none() {
            let err = w.fails(Some("AA"), &["advisory", "import", path]);
            assert!(err.contains("no TLP label"), "{name}: {err}");
            w.api("AA", &["advisory", "import", path, "--tlp", "GREEN"])
        } else {
            w.api("AA", &["advisory", "import", path, "--forwarded"])
        };
        let target = format!("AA/{}", imported.id);
        let shown = w.ok(Some("AA"), &["advisory", "show", &target]);
        assert!(shown["summary"]["imported"] == true, "{name}");
        let out = w.path(&format!("{name}.export.json"));
        w.ok(
            Some("AA"),
            &[
                "export",
                "advisory",
                &target,
                "--format",
                "csaf",
                "--csaf-version",
                &version,
                "--out",
                out.to_str().expect("a path"),
            ],
        );
        let exported: Value =
            serde_json::from_str(&std::fs::read_to_string(&out).expect("read")).expect("JSON");
        let unexpected: Vec<String> = differences(&original, &exported)
            .into_iter()
            .filter(|d| !allowed(d))
            .collect();
        assert!(unexpected.is_empty(), "{name}: {unexpected:?}");
        let o = Command::new("node")
            .arg("validate.mjs")
            .arg("--compare")
            .arg(file)
            .arg(&out)
            .current_dir(&validator)
            .output()
            .expect("node runs");
        let report = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success(),
            "{name}: the export fails tests its original passes:\n{report}{}",
            String::from_utf8_lossy(&o.stderr)
        );
        eprintln!("{name}: {}", report.replace('\n', " "));
    }
}

/// The gpg and gpgv programs (Debian's gnupg), installed with apt-get if
/// missing; `None` (the test skips, saying why) where that cannot be done.
fn gnupg() -> Option<()> {
    let has = |p: &str| Command::new(p).arg("--version").output().is_ok();
    if !(has("gpg") && has("gpgv")) {
        let ok = Command::new("apt-get")
            .args(["install", "-y", "-qq", "gnupg", "gpgv"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success());
        if !ok || !has("gpg") {
            eprintln!(
                "skipped: gpg and gpgv (Debian's gnupg) are not installed and apt-get could not install them"
            );
            return None;
        }
    }
    Some(())
}

/// A vendor's advisory forwarded with its detached OpenPGP signature: any
/// other member exports the publisher's exact bytes and signature, and
/// `gpgv` verifies them with the vendor's key (and refuses a byte changed).
#[test]
fn a_forwarded_advisory_keeps_the_publishers_bytes_and_signature() {
    let Some(dir) = corpus() else { return };
    let Some(()) = gnupg() else { return };
    let w = Workspace::new();
    let original = dir.join("2.0/cisco-sa-20180328-smi2.json");
    let bytes = std::fs::read(&original).expect("corpus file");
    // The vendor: a key of its own, a detached armored signature.
    let home = w.path("gnupg");
    std::fs::create_dir_all(&home).expect("gnupg home");
    let gpg = |args: &[&str]| {
        let mut c = Command::new("gpg");
        c.arg("--homedir").arg(&home).args([
            "--batch",
            "--yes",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
        ]);
        c.args(args);
        run(&mut c, "gpg");
    };
    gpg(&[
        "--quick-gen-key",
        "Vendor PSIRT <psirt@vendor.example>",
        "ed25519",
        "sign",
        "never",
    ]);
    let asc = w.path("advisory.json.asc");
    let asc_s = asc.to_str().expect("utf-8 path");
    gpg(&[
        "--armor",
        "--detach-sign",
        "--output",
        asc_s,
        original.to_str().expect("utf-8 path"),
    ]);
    let keyring = w.path("vendor.gpg");
    gpg(&[
        "--export",
        "--output",
        keyring.to_str().expect("utf-8 path"),
    ]);

    w.init("AA", "AA");
    w.init("BB", "BB");
    w.found(&["AA", "BB"], 1);
    let a = w.start("AA", &["run"]);
    let _b = w.start("BB", &["run", "--bootstrap", &a.addr]);
    let imported: CsafImported = w.api(
        "AA",
        &[
            "advisory",
            "import",
            original.to_str().expect("utf-8 path"),
            "--tlp",
            "CLEAR",
            "--signature",
            asc_s,
        ],
    );
    let target = format!("AA/{}", imported.id);
    let shown: AdvisoryDetail = w.wait_api("BB", &["advisory", "show", &target], |_| true);
    assert!(shown.envelope.original_signature.is_some());

    // At BB, which only received it: the exact bytes, the signature, gpgv.
    let (got, got_asc) = (w.path("got.json"), w.path("got.json.asc"));
    for (format, out) in [("original", &got), ("signature", &got_asc)] {
        w.ok(
            Some("BB"),
            &[
                "export",
                "advisory",
                &target,
                "--format",
                format,
                "--out",
                out.to_str().expect("utf-8 path"),
            ],
        );
    }
    assert_eq!(
        std::fs::read(&got).expect("written"),
        bytes,
        "the publisher's bytes, exactly"
    );
    let gpgv = |file: &Path| {
        Command::new("gpgv")
            .arg("--keyring")
            .arg(&keyring)
            .arg(&got_asc)
            .arg(file)
            .output()
            .expect("gpgv runs")
    };
    let ok = gpgv(&got);
    assert!(
        ok.status.success(),
        "gpgv: {}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let mut tampered = bytes.clone();
    let at = tampered.iter().position(|b| *b == b'{').expect("JSON") + 1;
    tampered.insert(at, b' ');
    let bad = w.path("tampered.json");
    std::fs::write(&bad, &tampered).expect("write");
    assert!(
        !gpgv(&bad).status.success(),
        "gpgv accepted a changed document"
    );

    // A missing advisory is a clear error.
    let err = w.fails(
        Some("AA"),
        &["export", "advisory", "AA/none", "--format", "original"],
    );
    assert!(
        err.contains("no advisory") || err.contains("keeps no"),
        "{err}"
    );
}
