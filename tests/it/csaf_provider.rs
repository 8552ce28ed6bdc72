//! The CSAF 2.0 trusted-provider directory, served by a real node and
//! written by `export csaf-provider --out DIR`: a crawler following CSAF
//! 2.0 section 7.3 from provider-metadata.json (ROLIE feeds, and
//! index.txt/changes.csv of every directory_url) finds every document;
//! provider-metadata.json and every document validate against the shared
//! OASIS schemas (Python jsonschema, in the tests' venv) and
//! csaf-validator-lib (npm); every .sha256/.sha512 matches; `gpgv`
//! (Debian's gnupg) verifies every .asc with the published key (an
//! operator's key made by gpg, and one the node made); AMBER and RED
//! documents never appear unless configured, and then only to a reader
//! token allowed them; the served tree and the written one are the same
//! bytes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use trustmesh_node::api::CsafImported;

use crate::support::{Running, Workspace, npm_ci, python, run};
use crate::taxii::{advisory, free_port, ip, publish, script, token};

fn shared(dir: &str) -> Option<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared")
        .join(dir);
    if d.is_dir() {
        Some(d)
    } else {
        eprintln!("skipped: no {}", d.display());
        None
    }
}

/// gpg and gpgv (Debian's gnupg), installed with apt-get if missing.
fn gnupg() -> bool {
    let has = |p: &str| Command::new(p).arg("--version").output().is_ok();
    if !(has("gpg") && has("gpgv")) {
        let _ = Command::new("apt-get")
            .args(["install", "-y", "-qq", "gnupg", "gpgv"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status();
    }
    let ok = has("gpg") && has("gpgv");
    if !ok {
        eprintln!(
            "skipped: gpg and gpgv (Debian's gnupg) are not installed and apt-get could not install them"
        );
    }
    ok
}

/// `team`'s config.toml: a TAXII listener on `port` with readers `green`
/// (CLEAR, GREEN) and `amber` (and AMBER), and the CSAF directory
/// published at `http://127.0.0.1:<port>` with `extra` lines.
fn configure(w: &Workspace, team: &str, port: u16, extra: &str) {
    let config = format!(
        r#"
[taxii]
listen = "127.0.0.1:{port}"

[[taxii.readers]]
name = "green"

[[taxii.readers]]
name = "amber"
tlp = ["clear", "green", "amber"]

[csaf]
url = "http://127.0.0.1:{port}"
{extra}
"#
    );
    std::fs::write(w.path(team).join("config.toml"), config).expect("config.toml");
}

/// Runs the crawler from `port`'s provider-metadata.json into `out`.
fn crawl(w: &Workspace, port: u16, out: &str, tok: Option<&str>) -> Value {
    let schemas = shared("schemas/csaf/2.0").expect("schemas checked before");
    let mut cmd = Command::new(python());
    cmd.arg(script("csaf_provider.py"))
        .arg("crawl")
        .arg(format!(
            "http://127.0.0.1:{port}/.well-known/csaf/provider-metadata.json"
        ))
        .arg(&schemas)
        .arg(w.path(out));
    if let Some(t) = tok {
        cmd.arg(t);
    }
    run(&mut cmd, "csaf_provider.py crawl");
    serde_json::from_str(
        &std::fs::read_to_string(w.path(out).join("report.json")).expect("report.json"),
    )
    .expect("JSON")
}

/// The HTTP status of a GET of `url`, with a Bearer token if given.
fn status(url: &str, tok: Option<&str>) -> u16 {
    let code = r#"
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[1])
if len(sys.argv) > 2:
    req.add_header("Authorization", "Bearer " + sys.argv[2])
try:
    print(urllib.request.urlopen(req, timeout=30).status)
except urllib.error.HTTPError as e:
    print(e.code)
"#;
    let mut cmd = Command::new(python());
    cmd.args(["-c", code, url]);
    if let Some(t) = tok {
        cmd.arg(t);
    }
    let out = run(&mut cmd, "a GET");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a status")
}

/// Every file under `dir`, by its path below it.
fn files(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).expect("below").to_string_lossy();
                out.insert(rel.into_owned());
            }
        }
    }
    out
}

/// Checks the crawled documents of `report` (saved under `crawled`) with
/// gpgv against the key the provider publishes, and with
/// csaf-validator-lib.
fn verify_documents(w: &Workspace, report: &Value, crawled: &Path, name: &str) {
    let key = &report["keys"][0];
    let key_file = crawled.join(key["path"].as_str().expect("key path"));
    let home = w.path(&format!("{name}-gnupg"));
    std::fs::create_dir_all(&home).expect("gnupg home");
    // The published key's fingerprint is the one provider-metadata names.
    let shown = run(
        Command::new("gpg")
            .arg("--homedir")
            .arg(&home)
            .args(["--batch", "--with-colons", "--show-keys"])
            .arg(&key_file),
        "gpg --show-keys",
    );
    let fpr = String::from_utf8_lossy(&shown.stdout)
        .lines()
        .find_map(|l| {
            l.strip_prefix("fpr:")
                .map(|r| r.trim_matches(':').to_owned())
        })
        .expect("a fingerprint");
    assert_eq!(Some(fpr.as_str()), key["fingerprint"].as_str());
    let keyring = w.path(&format!("{name}.gpg"));
    run(
        Command::new("gpg")
            .arg("--homedir")
            .arg(&home)
            .args(["--batch", "--yes", "--dearmor", "--output"])
            .arg(&keyring)
            .arg(&key_file),
        "gpg --dearmor",
    );
    let docs: Vec<PathBuf> = report["documents"]
        .as_object()
        .expect("documents")
        .keys()
        .map(|p| crawled.join(p))
        .collect();
    assert!(!docs.is_empty());
    for doc in &docs {
        let asc = PathBuf::from(format!("{}.asc", doc.display()));
        let out = Command::new("gpgv")
            .arg("--keyring")
            .arg(&keyring)
            .arg(&asc)
            .arg(doc)
            .output()
            .expect("gpgv runs");
        assert!(
            out.status.success(),
            "gpgv refuses {}: {}",
            doc.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // A byte changed: refused.
    let tampered = w.path(&format!("{name}-tampered.json"));
    let mut bytes = std::fs::read(&docs[0]).expect("document");
    bytes.push(b' ');
    std::fs::write(&tampered, bytes).expect("write");
    let out = Command::new("gpgv")
        .arg("--keyring")
        .arg(&keyring)
        .arg(format!("{}.asc", docs[0].display()))
        .arg(&tampered)
        .output()
        .expect("gpgv runs");
    assert!(!out.status.success(), "gpgv took a changed document");
    let validator = npm_ci("js-csaf", "@secvisogram/csaf-validator-lib");
    let out = Command::new("node")
        .arg("validate.mjs")
        .args(&docs)
        .current_dir(validator)
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "csaf-validator-lib rejects a document:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The document paths an export report lists.
fn paths(v: &Value) -> BTreeSet<String> {
    v["documents"]
        .as_array()
        .expect("documents")
        .iter()
        .filter_map(|d| d["path"].as_str().map(str::to_owned))
        .collect()
}

fn restart(w: &Workspace, node: Running, team: &str) -> Running {
    node.kill();
    w.start(team, &["run"])
}

#[test]
fn a_crawler_finds_every_document_signed_hashed_and_valid() {
    let (Some(corpus), Some(_)) = (shared("corpus/csaf"), shared("schemas/csaf/2.0")) else {
        return;
    };
    if !gnupg() {
        return;
    }
    let w = Workspace::new();
    w.init("AA", "AA");
    w.init("BB", "BB");
    w.found(&["AA", "BB"], 2);
    // AA's operator brings the team's own key, made by gpg, with a
    // passphrase; BB's node makes one.
    let home = w.path("operator-gnupg");
    std::fs::create_dir_all(&home).expect("gnupg home");
    let gpg = |args: &[&str]| {
        let mut c = Command::new("gpg");
        c.arg("--homedir").arg(&home).args([
            "--batch",
            "--yes",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "s3cret passphrase",
        ]);
        c.args(args);
        run(&mut c, "gpg");
    };
    gpg(&[
        "--quick-gen-key",
        "AA CSIRT <cert@aa.example>",
        "ed25519",
        "cert",
        "never",
    ]);
    let listed = run(
        Command::new("gpg").arg("--homedir").arg(&home).args([
            "--batch",
            "--with-colons",
            "--list-keys",
        ]),
        "gpg --list-keys",
    );
    let operator_fpr = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .find_map(|l| {
            l.strip_prefix("fpr:")
                .map(|r| r.trim_matches(':').to_owned())
        })
        .expect("the operator's fingerprint");
    // A signing subkey, as CSIRTs' keys usually have.
    gpg(&["--quick-add-key", &operator_fpr, "ed25519", "sign", "never"]);
    let secret = w.path("AA").join("csaf-signing.asc");
    gpg(&[
        "--armor",
        "--export-secret-keys",
        "--output",
        secret.to_str().expect("utf-8"),
    ]);
    std::fs::write(
        w.path("AA").join("csaf-signing.pass"),
        "s3cret passphrase\n",
    )
    .expect("pass");
    let (pa, pb) = (free_port(), free_port());
    configure(
        &w,
        "AA",
        pa,
        "openpgp_key = \"csaf-signing.asc\"\nopenpgp_passphrase_file = \"csaf-signing.pass\"",
    );
    configure(&w, "BB", pb, "");
    let a = w.start("AA", &["run"]);
    let _b = w.start("BB", &["run", "--bootstrap", &a.addr]);

    // AA's advisories: corpus documents of several labels (one CSAF 2.1)
    // and one written here; BB's own must not be in AA's directory.
    let import = |file: &str, tlp: Option<&str>| -> CsafImported {
        let path = corpus.join(file);
        let mut args = vec!["advisory", "import", path.to_str().expect("utf-8")];
        if let Some(t) = tlp {
            args.extend(["--tlp", t]);
        }
        w.api("AA", &args)
    };
    let bsi = import("2.0/bsi-2022-0001.json", None);
    import("2.0/cisco-sa-20180328-smi2.json", Some("GREEN"));
    import("2.0/wid-sec-w-2024-0001.json", Some("GREEN"));
    import("2.0/msrc_cve-2025-49704.json", None);
    import("2.1/sec-vex-2022-0001.json", None);
    import("2.0/cve-2023-1370.json", Some("AMBER"));
    import("2.1/rhsa-2022_0011.json", Some("RED"));
    publish(
        &w,
        "AA",
        &advisory("AA-2026-0001", "clear", &[], vec![ip("192.0.2.9")]),
    );
    publish(
        &w,
        "BB",
        &advisory("BB-2026-0001", "green", &[], vec![ip("192.0.2.10")]),
    );
    w.wait("AA", &["advisory", "list"], |v| {
        v.to_string().contains("BB-2026-0001")
    });

    let v = w.ok(Some("AA"), &["export", "csaf-provider", "--out", "out-aa"]);
    let metadata_url = format!("http://127.0.0.1:{pa}/.well-known/csaf/provider-metadata.json");
    assert_eq!(v["security_txt"], format!("CSAF: {metadata_url}"), "{v:#}");
    assert_eq!(v["fingerprint"], operator_fpr.as_str());
    let expected: BTreeSet<String> = [
        "white/2022/bsi-2022-0001.json",
        "green/2018/cisco-sa-20180328-smi2.json",
        "green/2024/wid-sec-w-2024-0001.json",
        "white/2025/msrc_cve-2025-49704.json",
        "white/2022/sec-vex-2022-0001.json",
        "white/2025/aa-2026-0001.json",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(paths(&v), expected, "{v:#}");
    let written = files(&w.path("out-aa"));
    // A web server reads the public folders (the binary's umask is 077).
    use std::os::unix::fs::PermissionsExt;
    for (f, want) in [
        ("white/2022/bsi-2022-0001.json", 0o644),
        ("white/2022", 0o755),
        ("provider-metadata.json", 0o644),
    ] {
        let mode = std::fs::metadata(w.path("out-aa").join(f))
            .expect("written")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, want, "{f}");
    }
    for f in &written {
        assert!(
            !f.starts_with("amber") && !f.starts_with("red"),
            "{f} is published"
        );
        let text = std::fs::read_to_string(w.path("out-aa").join(f)).expect("text");
        for restricted in ["CVE-2023-1370", "RHSA-2022:0011", "BB-2026-0001"] {
            assert!(!text.contains(restricted), "{f} names {restricted}");
        }
    }
    // The human output carries the security.txt line too.
    let human = Command::new(crate::support::exe())
        .arg("--data-dir")
        .arg(w.path("AA"))
        .args(["export", "csaf-provider", "--out"])
        .arg(w.path("out-aa-again"))
        .output()
        .expect("runs");
    assert!(
        String::from_utf8_lossy(&human.stdout).contains(&format!("CSAF: {metadata_url}\n")),
        "{}",
        String::from_utf8_lossy(&human.stdout)
    );

    // Served: the crawler finds every document both ways, with valid
    // hashes, from the public folders and without a token.
    let report = crawl(&w, pa, "crawl-aa", None);
    let crawled = w.path("crawl-aa").join("files");
    let found: BTreeSet<String> = report["documents"]
        .as_object()
        .expect("documents")
        .keys()
        .cloned()
        .collect();
    assert_eq!(found, expected);
    let labels: BTreeSet<&str> = report["metadata"]["distributions"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|d| d["rolie"]["feeds"].as_array().into_iter().flatten())
        .filter_map(|f| f["tlp_label"].as_str())
        .collect();
    assert_eq!(labels, BTreeSet::from(["GREEN", "WHITE"]));
    // The served tree is the written one, byte for byte, and the crawler
    // reached every file of it.
    let fetched = files(&crawled);
    assert_eq!(fetched, written);
    for f in &written {
        assert_eq!(
            std::fs::read(crawled.join(f)).expect("crawled"),
            std::fs::read(w.path("out-aa").join(f)).expect("written"),
            "{f} differs between the served and the written tree"
        );
    }
    // A document is the CSAF `export advisory` gives.
    let exported = w.ok(
        Some("AA"),
        &[
            "export",
            "advisory",
            &format!("AA/{}", bsi.id),
            "--format",
            "csaf",
        ],
    );
    let served: Value = serde_json::from_slice(
        &std::fs::read(crawled.join("white/2022/bsi-2022-0001.json")).expect("bsi"),
    )
    .expect("JSON");
    assert_eq!(served, exported);
    // The 2.1 document is published as CSAF 2.0.
    let vex: Value = serde_json::from_slice(
        &std::fs::read(crawled.join("white/2022/sec-vex-2022-0001.json")).expect("vex"),
    )
    .expect("JSON");
    assert_eq!(vex["document"]["csaf_version"], "2.0");
    verify_documents(&w, &report, &crawled, "aa");
    // No AMBER folder is served when none is configured, even to a token.
    let amber_token = token(&w, "AA", "amber");
    assert_eq!(
        status(
            &format!("http://127.0.0.1:{pa}/.well-known/csaf/amber/index.txt"),
            Some(&amber_token)
        ),
        404
    );

    // BB: the key the node made, kept with mode 0600; only BB's advisory.
    let bb = crawl(&w, pb, "crawl-bb", None);
    let bb_docs: Vec<&String> = bb["documents"].as_object().expect("docs").keys().collect();
    assert_eq!(bb_docs, ["green/2025/bb-2026-0001.json"]);
    let key_file = w.path("BB").join("csaf").join("openpgp-secret.asc");
    let mode = std::fs::metadata(&key_file)
        .expect("BB's key")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    verify_documents(&w, &bb, &w.path("crawl-bb").join("files"), "bb");

    // AMBER configured: its folder answers only a reader allowed AMBER;
    // RED stays out.
    configure(
        &w,
        "AA",
        pa,
        "tlp = [\"clear\", \"green\", \"amber\"]\nopenpgp_key = \"csaf-signing.asc\"\nopenpgp_passphrase_file = \"csaf-signing.pass\"",
    );
    let _a = restart(&w, a, "AA");
    let index = format!("http://127.0.0.1:{pa}/.well-known/csaf/amber/index.txt");
    assert_eq!(status(&index, None), 401);
    assert_eq!(status(&index, Some(&token(&w, "AA", "green"))), 401);
    assert_eq!(status(&index, Some(&amber_token)), 200);
    assert_eq!(
        status(
            &format!("http://127.0.0.1:{pa}/.well-known/csaf/provider-metadata.json"),
            None
        ),
        200
    );
    let with_amber = crawl(&w, pa, "crawl-aa-amber", Some(&amber_token));
    let found: BTreeSet<String> = with_amber["documents"]
        .as_object()
        .expect("documents")
        .keys()
        .cloned()
        .collect();
    let mut want = expected.clone();
    want.insert("amber/2023/cve-2023-1370.json".into());
    assert_eq!(found, want);
    assert!(
        !files(&w.path("crawl-aa-amber").join("files"))
            .iter()
            .any(|f| f.starts_with("red"))
    );
}
