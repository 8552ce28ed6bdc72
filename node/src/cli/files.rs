//! Reading and writing the trust files people exchange.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use trustmesh_bootstrap::{CharterDraftFile, TrustFile};
use trustmesh_protocol::Charter;

use crate::datadir::DataDir;
use crate::store::RocksStore;

pub(super) fn read_file(path: &Path) -> Result<TrustFile> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    TrustFile::parse(&text).with_context(|| format!("{}", path.display()))
}

pub(super) fn write_file(path: &Path, file: &TrustFile) -> Result<()> {
    fs::write(path, file.to_json()).with_context(|| format!("writing {}", path.display()))
}

pub(super) fn expect_kind<T>(
    path: &Path,
    file: TrustFile,
    pick: fn(TrustFile) -> Option<T>,
    expected: &str,
) -> Result<T> {
    let found = file.kind_name();
    pick(file).ok_or_else(|| anyhow!("{} is a {found} file, not a {expected}", path.display()))
}

pub(super) fn read_draft(path: &Path) -> Result<CharterDraftFile> {
    expect_kind(
        path,
        read_file(path)?,
        |f| match f {
            TrustFile::CharterDraft(d) => Some(d),
            _ => None,
        },
        "charter draft",
    )
}

pub(super) fn read_charter(path: &Path) -> Result<Charter> {
    let f = expect_kind(
        path,
        read_file(path)?,
        |f| match f {
            TrustFile::Charter(c) => Some(c),
            _ => None,
        },
        "sealed charter",
    )?;
    Ok(f.charter()?)
}

pub(super) fn store_charter(store: &RocksStore, dir: &DataDir) -> Result<Charter> {
    store.charter()?.ok_or_else(|| {
        anyhow!(
            "{} belongs to no network yet: import a sealed charter first (`trustmesh import charter.json`)",
            dir.path().display()
        )
    })
}

pub(super) fn read_text(path: &Path) -> Result<String> {
    if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).context("reading standard input")
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
    }
}

pub(super) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    serde_json::from_str(&read_text(path)?).with_context(|| format!("parsing {}", path.display()))
}
