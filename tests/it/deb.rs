//! The Debian package: `cargo deb` (cargo-deb, from crates.io) builds it
//! from node/Cargo.toml's `[package.metadata.deb]`, `lintian` reports no
//! error, and in a throwaway Debian root made by `mmdebstrap` (minbase and
//! systemd-standalone-sysusers, from the host's own apt mirror) it installs, creates the `trustmesh`
//! user and a 0700 data directory, leaves the unit disabled and says what
//! to do next, runs `trustmesh --version` and `init` as that user, and
//! purges without leaving a file of its own (the team key stays, as the
//! post-removal script says). Needs root; the tools are installed on first
//! use, and the base system is kept in `$HOME/.cache/trustmesh-deb`.
//!
//! The package holds this checkout's debug build (the tests' copy of the
//! binary, stripped by cargo-deb), so the test needs no release build of
//! RocksDB; `cargo deb -p trustmesh-node` builds the release package.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use crate::support::exe;

/// Runs `cmd`; `Err` with its output unless it succeeds.
fn try_run(cmd: &mut Command, what: &str) -> Result<Output, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{what}: cannot run {cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(format!(
            "{what} failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn must(cmd: &mut Command, what: &str) -> String {
    match try_run(cmd, what) {
        Ok(out) => String::from_utf8_lossy(&out.stdout).into_owned(),
        Err(e) => panic!("{e}"),
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Installs what the test needs; `Err` says why it cannot be.
fn tools() -> Result<(), String> {
    let t = Instant::now();
    let missing: Vec<&str> = [
        ("lintian", "lintian"),
        ("mmdebstrap", "mmdebstrap"),
        ("dpkg-shlibdeps", "dpkg-dev"),
    ]
    .into_iter()
    .filter(|(bin, _)| {
        !Command::new("sh")
            .args(["-c", &format!("command -v {bin}")])
            .output()
            .is_ok_and(|o| o.status.success())
    })
    .map(|(_, pkg)| pkg)
    .collect();
    if !missing.is_empty() {
        try_run(
            Command::new("apt-get").args(["update", "-qq"]),
            "apt-get update",
        )?;
        try_run(
            Command::new("apt-get")
                .args(["install", "-y", "-qq"])
                .args(&missing)
                .env("DEBIAN_FRONTEND", "noninteractive"),
            "apt-get install",
        )?;
        println!(
            "installed {missing:?} in {:.0} s",
            t.elapsed().as_secs_f64()
        );
    }
    let has_deb = Command::new("cargo")
        .args(["deb", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_deb {
        let t = Instant::now();
        try_run(
            // Not in the tests' target dir: the running `cargo test` holds it.
            Command::new("cargo")
                .args(["install", "--locked", "cargo-deb"])
                .env_remove("CARGO_TARGET_DIR"),
            "cargo install cargo-deb",
        )?;
        println!("installed cargo-deb in {:.0} s", t.elapsed().as_secs_f64());
    }
    Ok(())
}

/// The host's Debian release and the mirror its apt uses for it, as an
/// mmdebstrap source line.
fn host_source() -> Result<(String, String), String> {
    let release = std::fs::read_to_string("/etc/os-release").map_err(|e| e.to_string())?;
    let codename = release
        .lines()
        .find_map(|l| l.strip_prefix("VERSION_CODENAME="))
        .map(|c| c.trim_matches('"').to_owned())
        .filter(|c| !c.is_empty())
        .ok_or("not Debian: /etc/os-release names no VERSION_CODENAME")?;
    let mut texts = vec![std::fs::read_to_string("/etc/apt/sources.list").unwrap_or_default()];
    if let Ok(dir) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut files: Vec<PathBuf> = dir.flatten().map(|e| e.path()).collect();
        files.sort();
        for f in files {
            if f.extension().is_some_and(|x| x == "sources" || x == "list") {
                texts.push(std::fs::read_to_string(&f).unwrap_or_default());
            }
        }
    }
    for text in &texts {
        // One-line style: deb [options] URI SUITE COMPONENTS
        for l in text.lines() {
            let words: Vec<&str> = l
                .split_whitespace()
                .filter(|w| !w.starts_with('['))
                .collect();
            if words.first() == Some(&"deb") && words.get(2) == Some(&codename.as_str()) {
                return Ok((
                    codename.clone(),
                    format!("deb {} {codename} main", words[1]),
                ));
            }
        }
        // deb822 style: a stanza with URIs and Suites.
        for stanza in text.split("\n\n") {
            let field = |name: &str| {
                stanza
                    .lines()
                    .find_map(|l| l.strip_prefix(name))
                    .map(str::trim)
                    .unwrap_or("")
            };
            if field("Types:").split_whitespace().any(|t| t == "deb")
                && field("Suites:").split_whitespace().any(|s| s == codename)
                && let Some(uri) = field("URIs:").split_whitespace().next()
            {
                return Ok((codename.clone(), format!("deb {uri} {codename} main")));
            }
        }
    }
    Err(format!("no apt source for {codename} on this host"))
}

/// A minbase root of the host's release, made once and kept as a tarball.
fn base_tarball() -> Result<PathBuf, String> {
    let (codename, source) = host_source()?;
    let home = std::env::var_os("HOME").ok_or("HOME is not set")?;
    let cache = PathBuf::from(home).join(".cache/trustmesh-deb");
    std::fs::create_dir_all(&cache).map_err(|e| e.to_string())?;
    // With systemd-sysusers, which the package depends on, so dpkg -i
    // needs no network.
    let tar = cache.join(format!("{codename}-minbase-sysusers.tar"));
    if tar.exists() {
        return Ok(tar);
    }
    let t = Instant::now();
    let partial = cache.join(format!("{codename}-minbase-sysusers.tar.partial"));
    try_run(
        Command::new("timeout")
            .args([
                "900",
                "mmdebstrap",
                "--quiet",
                "--variant=minbase",
                "--mode=root",
            ])
            .args(["--format=tar", "--include=systemd-standalone-sysusers"])
            .arg(&codename)
            .arg(&partial)
            .arg(&source)
            .stdin(std::process::Stdio::null()),
        "mmdebstrap (a minbase root, at most 15 minutes)",
    )?;
    std::fs::rename(&partial, &tar).map_err(|e| e.to_string())?;
    println!(
        "mmdebstrap: {codename} minbase in {:.0} s",
        t.elapsed().as_secs_f64()
    );
    Ok(tar)
}

/// The unit's settings without comments and ExecStart: the hardening.
fn hardening(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .expect("unit file")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("ExecStart="))
        .map(str::to_owned)
        .collect()
}

fn in_root(root: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("chroot");
    cmd.arg(root)
        .args(args)
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
    cmd
}

#[test]
fn the_debian_package_passes_lintian_installs_runs_and_purges() {
    let started = Instant::now();
    if !is_root() {
        println!("SKIPPED the Debian package test: it needs root (apt, mmdebstrap, chroot)");
        return;
    }
    if let Err(why) = tools() {
        println!("SKIPPED the Debian package test: its tools cannot be installed: {why}");
        return;
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace");
    let node = workspace.join("node");
    assert_eq!(
        hardening(&node.join("dist/trustmesh.service")),
        hardening(&node.join("dist/debian/trustmesh.service")),
        "the packaged unit and node/dist/trustmesh.service must harden alike"
    );

    // cargo deb, on a copy of the tests' binary in a target dir of its own
    // (the tests' one is locked by the running `cargo test`).
    let scratch = tempfile::Builder::new()
        .prefix("trustmesh-deb-")
        .tempdir()
        .expect("tempdir");
    let target = scratch.path().join("target");
    std::fs::create_dir_all(target.join("release")).expect("target dir");
    std::fs::copy(exe(), target.join("release/trustmesh")).expect("copy the binary");
    let deb = scratch.path().join("trustmesh.deb");
    let t = Instant::now();
    must(
        Command::new("cargo")
            .args(["deb", "-p", "trustmesh-node", "--no-build", "--output"])
            .arg(&deb)
            .env("CARGO_TARGET_DIR", &target)
            .current_dir(workspace),
        "cargo deb",
    );
    let size = std::fs::metadata(&deb).map(|m| m.len()).unwrap_or(0);
    println!(
        "cargo deb: {:.1} MB in {:.1} s",
        size as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let contents = must(
        Command::new("dpkg-deb").arg("--contents").arg(&deb),
        "dpkg-deb --contents",
    );
    for path in [
        "./usr/bin/trustmesh",
        "./etc/trustmesh/config.toml",
        "./usr/lib/sysusers.d/trustmesh.conf",
        "/systemd/system/trustmesh.service",
        "./usr/share/doc/trustmesh/copyright",
        "./usr/share/doc/trustmesh/changelog.Debian.gz",
    ] {
        assert!(
            contents.contains(path),
            "{path} missing from the package:\n{contents}"
        );
    }
    let conffiles = must(
        Command::new("dpkg-deb")
            .arg("--info")
            .arg(&deb)
            .arg("conffiles"),
        "dpkg-deb --info conffiles",
    );
    assert_eq!(conffiles.trim(), "/etc/trustmesh/config.toml");
    let info = must(
        Command::new("dpkg-deb").arg("--info").arg(&deb),
        "dpkg-deb --info",
    );
    assert!(info.contains("Package: trustmesh"), "{info}");

    // lintian: no error.
    let t = Instant::now();
    let out = Command::new("lintian")
        .args(["--tag-display-limit", "0"])
        .arg(&deb)
        .output()
        .expect("lintian runs");
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    let errors: Vec<&str> = report.lines().filter(|l| l.starts_with("E:")).collect();
    let warnings = report.lines().filter(|l| l.starts_with("W:")).count();
    println!(
        "lintian: {} errors, {warnings} warnings in {:.1} s\n{report}",
        errors.len(),
        t.elapsed().as_secs_f64()
    );
    assert!(errors.is_empty(), "lintian errors:\n{report}");

    // A throwaway root.
    let tar = match base_tarball() {
        Ok(t) => t,
        Err(why) => {
            println!(
                "SKIPPED installing the package: no throwaway root could be made: {why}\n\
                 checked instead: cargo deb, the package's files and lintian"
            );
            return;
        }
    };
    let t = Instant::now();
    let root = scratch.path().join("root");
    std::fs::create_dir_all(&root).expect("root dir");
    must(
        Command::new("tar")
            .arg("-xf")
            .arg(&tar)
            .arg("-C")
            .arg(&root),
        "unpacking the base",
    );
    std::fs::copy(&deb, root.join("tmp/trustmesh.deb")).expect("copy the package");
    let installed = must(
        &mut in_root(&root, &["dpkg", "-i", "/tmp/trustmesh.deb"]),
        "dpkg -i",
    );
    println!(
        "dpkg -i in {:.1} s:\n{installed}",
        t.elapsed().as_secs_f64()
    );
    assert!(
        installed.contains("installed but not started") && installed.contains("trustmesh init"),
        "{installed}"
    );
    let version = must(
        &mut in_root(&root, &["trustmesh", "--version"]),
        "trustmesh --version",
    );
    assert_eq!(version.trim(), "trustmesh 0.0.0");
    must(
        &mut in_root(&root, &["getent", "passwd", "trustmesh"]),
        "the trustmesh user",
    );
    let modes = must(
        &mut in_root(
            &root,
            &[
                "stat",
                "-c",
                "%a %U %G %n",
                "/var/lib/trustmesh",
                "/etc/trustmesh",
                "/etc/trustmesh/config.toml",
            ],
        ),
        "stat",
    );
    assert_eq!(
        modes,
        "700 trustmesh trustmesh /var/lib/trustmesh\n750 root trustmesh /etc/trustmesh\n640 root trustmesh /etc/trustmesh/config.toml\n"
    );
    // Not enabled: no wants link.
    assert!(
        !root
            .join("etc/systemd/system/multi-user.target.wants/trustmesh.service")
            .exists()
    );
    // What postinst tells the operator to run works.
    must(
        &mut in_root(
            &root,
            &[
                "runuser",
                "-u",
                "trustmesh",
                "--",
                "trustmesh",
                "--data-dir",
                "/var/lib/trustmesh",
                "init",
                "--name",
                "CERT Test",
                "--short-name",
                "CERT-TT",
                "--country",
                "TT",
            ],
        ),
        "init as the trustmesh user",
    );
    assert!(root.join("var/lib/trustmesh/team.key").exists());

    let purged = Command::new("chroot")
        .arg(&root)
        .args(["dpkg", "--purge", "trustmesh"])
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .output()
        .expect("dpkg --purge runs");
    let said = String::from_utf8_lossy(&purged.stderr);
    assert!(purged.status.success(), "dpkg --purge: {said}");
    assert!(
        said.contains("/var/lib/trustmesh (the team key and store) is kept"),
        "{said}"
    );
    for gone in [
        "usr/bin/trustmesh",
        "etc/trustmesh",
        "usr/lib/sysusers.d/trustmesh.conf",
        "usr/share/doc/trustmesh",
        "lib/systemd/system/trustmesh.service",
        "usr/lib/systemd/system/trustmesh.service",
    ] {
        assert!(!root.join(gone).exists(), "/{gone} is left after purge");
    }
    assert!(
        try_run(&mut in_root(&root, &["dpkg", "-s", "trustmesh"]), "dpkg -s").is_err(),
        "still known to dpkg after purge"
    );
    println!(
        "Debian package: built, lintian-clean, installed, run and purged in {:.0} s",
        started.elapsed().as_secs_f64()
    );
}
