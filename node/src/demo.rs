//! `trustmesh demo`: founding a network and admitting a team, step by step,
//! by running this same binary as each team would, in a temporary directory.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use serde_json::{Value, json};

use crate::cli::Report;

struct Demo {
    exe: PathBuf,
    /// With `--json`, progress goes to standard error so standard output
    /// holds only the JSON result.
    json: bool,
    root: PathBuf,
    checks: Vec<(String, bool)>,
    started: Instant,
}

/// A team in the demo: its short name and data directory name.
const FOUNDERS: [(&str, &str, &str); 3] = [
    ("DEMO-EE", "Demo National CSIRT Estonia", "EE"),
    ("DEMO-FI", "Demo National CSIRT Finland", "FI"),
    ("DEMO-LV", "Demo National CSIRT Latvia", "LV"),
];
const APPLICANT: (&str, &str, &str) = ("DEMO-LT", "Demo National CSIRT Lithuania", "LT");

impl Demo {
    fn say(&self, line: &str) {
        if self.json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Runs `trustmesh --json [--data-dir team] args...`, echoing the command.
    fn run(&self, team: Option<&str>, args: &[&str]) -> Result<Value> {
        let mut cmd = Command::new(&self.exe);
        cmd.current_dir(&self.root).arg("--json");
        let mut shown = String::from("trustmesh");
        if let Some(t) = team {
            cmd.arg("--data-dir").arg(self.path(t));
            shown += &format!(" --data-dir {t}");
        }
        cmd.args(args);
        for a in args {
            shown += &format!(
                " {}",
                if a.contains(' ') {
                    format!("{a:?}")
                } else {
                    (*a).to_owned()
                }
            );
        }
        self.say(&format!("    $ {shown}"));
        let out = cmd
            .output()
            .with_context(|| format!("running {}", self.exe.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let value: Value = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
        if !out.status.success() {
            bail!(
                "`{shown}` failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(value)
    }

    fn step(&self, title: &str) {
        self.say(&format!(
            "\n[{:>6.2}s] {title}",
            self.started.elapsed().as_secs_f64()
        ));
    }

    fn check(&mut self, what: &str, ok: bool) {
        self.say(&format!("    {} {what}", if ok { "ok  " } else { "FAIL" }));
        self.checks.push((what.to_owned(), ok));
    }
}

/// How `members` output describes a team, for the walk-through.
fn shown(status: &Option<(String, String)>) -> String {
    match status {
        Some((status, reason)) => format!("{status} ({reason})"),
        None => "unknown".to_owned(),
    }
}

fn member_status(members: &Value, short: &str) -> Option<(String, String)> {
    members["standings"].as_array()?.iter().find_map(|s| {
        (s["profile"]["short_name"] == short).then(|| {
            (
                s["status"].as_str().unwrap_or_default().to_owned(),
                s["reason"].as_str().unwrap_or_default().to_owned(),
            )
        })
    })
}

/// Runs the walk-through; fails unless every check passed.
pub(crate) fn run(keep: bool, json: bool) -> Result<Report> {
    let tmp = tempfile::Builder::new()
        .prefix("trustmesh-demo-")
        .tempdir()?;
    let root = if keep {
        tmp.keep()
    } else {
        tmp.path().to_owned()
    };
    let mut d = Demo {
        exe: std::env::current_exe().context("locating the trustmesh binary")?,
        json,
        root,
        checks: vec![],
        started: Instant::now(),
    };
    d.say(&format!("trustmesh demo in {}", d.root.display()));

    d.step("Each team creates its key and profile");
    for (short, name, country) in FOUNDERS.iter().chain([&APPLICANT]) {
        let v = d.run(
            Some(short),
            &[
                "init",
                "--name",
                name,
                "--short-name",
                short,
                "--country",
                country,
            ],
        )?;
        d.say(&format!(
            "      {short}: team id {}",
            v["team_id"].as_str().unwrap_or("?")
        ));
    }
    let mode = std::fs::metadata(d.path("DEMO-EE").join("team.key"))
        .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777)
        .unwrap_or(0);
    d.check("secret key files are mode 0600", mode == 0o600);

    d.step("The founders exchange cards and draft a charter: 2 sponsors to join");
    let mut draft_args = vec![
        "charter",
        "draft",
        "--name",
        "Demo Baltic-Nordic CSIRT Network",
    ];
    let cards: Vec<String> = FOUNDERS
        .iter()
        .map(|(s, _, _)| format!("{s}.card.json"))
        .collect();
    for ((short, _, _), card) in FOUNDERS.iter().zip(&cards) {
        d.run(Some(short), &["card", "--out", card])?;
        draft_args.extend(["--founder", card.as_str()]);
    }
    draft_args.extend(["--sponsors-required", "2", "--out", "charter.draft.json"]);
    let draft = d.run(None, &draft_args)?;
    let network = draft["draft"]["network_id"]
        .as_str()
        .unwrap_or("?")
        .to_owned();
    d.say(&format!("      network id {network}"));

    d.step("Each founder signs the draft; the last one seals it");
    for (short, _, _) in &FOUNDERS {
        d.run(Some(short), &["charter", "sign", "charter.draft.json"])?;
    }
    d.run(
        None,
        &[
            "charter",
            "seal",
            "charter.draft.json",
            "--out",
            "charter.json",
        ],
    )?;
    for (short, _, _) in &FOUNDERS {
        d.run(Some(short), &["import", "charter.json"])?;
    }
    let ee = d.run(Some("DEMO-EE"), &["members"])?;
    d.check(
        "the three founders are members",
        ee["members"].as_array().map(Vec::len) == Some(3),
    );

    d.step("A new team applies; two founders sponsor it");
    d.run(
        Some(APPLICANT.0),
        &[
            "apply",
            "--charter",
            "charter.json",
            "--out",
            "lt.application.json",
        ],
    )?;
    d.run(
        Some("DEMO-EE"),
        &[
            "sponsor",
            "lt.application.json",
            "--note",
            "worked together on a 2025 incident",
            "--out",
            "lt.intro.ee.json",
        ],
    )?;
    d.run(
        Some("DEMO-FI"),
        &[
            "sponsor",
            "lt.application.json",
            "--note",
            "known through the regional forum",
            "--out",
            "lt.intro.fi.json",
        ],
    )?;

    d.step("Latvia has seen one introduction: the new team is pending there");
    d.run(Some("DEMO-LV"), &["import", "lt.intro.ee.json"])?;
    let lv = d.run(Some("DEMO-LV"), &["members"])?;
    let pending = member_status(&lv, APPLICANT.0);
    d.say(&format!("      {}: {}", APPLICANT.0, shown(&pending)));
    d.check(
        "with 1 of 2 introductions the applicant is pending, and the reason says so",
        pending
            .as_ref()
            .is_some_and(|(s, r)| s == "pending" && r.contains("1 of 2")),
    );

    d.step("The second introduction arrives: every founder computes the same membership");
    d.run(Some("DEMO-LV"), &["import", "lt.intro.fi.json"])?;
    d.run(Some("DEMO-EE"), &["import", "lt.intro.fi.json"])?;
    d.run(Some("DEMO-FI"), &["import", "lt.intro.ee.json"])?;
    d.run(
        Some(APPLICANT.0),
        &["import", "lt.intro.ee.json", "lt.intro.fi.json"],
    )?;
    let mut views = vec![];
    for (short, _, _) in FOUNDERS.iter().chain([&APPLICANT]) {
        let v = d.run(Some(short), &["members"])?;
        views.push(v["members"].clone());
    }
    let lv = d.run(Some("DEMO-LV"), &["members"])?;
    let admitted = member_status(&lv, APPLICANT.0);
    d.say(&format!("      {}: {}", APPLICANT.0, shown(&admitted)));
    d.check(
        "the applicant is a member, introduced by two sponsors",
        admitted
            .as_ref()
            .is_some_and(|(s, r)| s == "admitted" && r.contains("2 of 2")),
    );
    d.check(
        "all four teams compute the same four members",
        views.windows(2).all(|w| w[0] == w[1]) && views[0].as_array().map(Vec::len) == Some(4),
    );

    d.step("A tampered introduction is refused");
    let text = std::fs::read_to_string(d.path("lt.intro.fi.json"))?;
    std::fs::write(
        d.path("tampered.json"),
        text.replace("known through the regional forum", "never met them"),
    )?;
    let refused = d.run(None, &["verify", "tampered.json"]).is_err();
    d.check("verify rejects an edited introduction", refused);

    let failed: Vec<_> = d
        .checks
        .iter()
        .filter(|(_, ok)| !ok)
        .map(|(w, _)| w.clone())
        .collect();
    d.say(&format!(
        "\n[{:>6.2}s] {} of {} checks passed",
        d.started.elapsed().as_secs_f64(),
        d.checks.len() - failed.len(),
        d.checks.len()
    ));
    if keep {
        d.say(&format!("kept the demo directory {}", d.root.display()));
    }
    ensure!(
        failed.is_empty(),
        "demo checks failed: {}",
        failed.join("; ")
    );
    Ok(Report::new(
        "demo passed\n",
        json!({ "checks": d.checks.len(), "passed": true, "directory": keep.then_some(d.root.as_path()) }),
    ))
}
