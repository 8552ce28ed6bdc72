//! The tool registry: one document per team, listing the tools it offers
//! other teams. Each tool is a map at the root keyed by its name, so
//! edits of different tools never conflict.

use std::collections::BTreeMap;

use automerge::transaction::Transactable;
use automerge::{Automerge, AutomergeError, ObjId, ROOT, ReadDoc};
use serde::{Deserialize, Serialize};

use super::id::{DocKind, DocRef};
use super::schema::{
    Record, Schema, SchemaError, check_count, check_multiline, check_text, check_url, ensure_map,
    is_hex, put_str, put_str_list, read_map, read_str, read_str_list, sealed,
};

/// A tool a team offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    /// Its name, unique within the registry.
    pub name: String,
    /// The current version.
    pub version: String,
    /// What it does.
    pub description: String,
    /// Its home page.
    pub homepage: String,
    /// Where to download the artifact.
    pub download_url: String,
    /// SHA-256 of the artifact, 64 lowercase hexadecimal digits; required
    /// when there is a download URL.
    pub sha256: String,
    /// Its licence (an SPDX expression where possible).
    pub license: String,
    /// Free tags, such as "forensics".
    pub tags: Vec<String>,
    /// Who maintains it.
    pub maintainer: String,
}

/// A team's tool registry, keyed by tool name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolRegistry {
    /// The tools, by name.
    pub tools: BTreeMap<String, Tool>,
}

impl Tool {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), SchemaError> {
        check_text("name", &self.name, 100, true)?;
        if self.name.trim() != self.name {
            return Err(SchemaError::invalid(
                "name",
                "must not start or end with whitespace",
            ));
        }
        check_text("version", &self.version, 64, false)?;
        check_multiline("description", &self.description, 5000, false)?;
        check_url("homepage", &self.homepage, false)?;
        check_url("download url", &self.download_url, false)?;
        if !self.sha256.is_empty() || !self.download_url.is_empty() {
            let lower = self.sha256.bytes().all(|b| !b.is_ascii_uppercase());
            if !is_hex(&self.sha256, 64) || !lower {
                return Err(SchemaError::invalid(
                    "sha256",
                    "must be 64 lowercase hexadecimal digits (required with a download url)",
                ));
            }
        }
        check_text("license", &self.license, 200, false)?;
        check_count("tags", self.tags.len(), 32)?;
        for (i, t) in self.tags.iter().enumerate() {
            check_text(&format!("tags[{i}]"), t, 64, true)?;
        }
        check_text("maintainer", &self.maintainer, 200, false)
    }

    /// Writes the tool's map at the root, field by field.
    pub(crate) fn write_entry<T: Transactable>(&self, tx: &mut T) -> Result<(), AutomergeError> {
        let obj = ensure_map(tx, &ROOT, &self.name)?;
        self.write(tx, &obj)
    }
}

impl Schema for ToolRegistry {
    const KIND: DocKind = DocKind::Tools;
}

impl sealed::Sealed for ToolRegistry {
    fn read(doc: &Automerge, _: &DocRef) -> Result<Self, SchemaError> {
        let mut tools = BTreeMap::new();
        for name in doc.keys(&ROOT) {
            let Some(obj) = read_map(doc, &ROOT, &name, "")? else {
                return Err(SchemaError::Malformed(name));
            };
            let mut tool = Tool::read(doc, &obj, &name)?;
            tool.name.clone_from(&name);
            tools.insert(name, tool);
        }
        Ok(Self { tools })
    }
}

impl Record for Tool {
    fn write<T: Transactable>(&self, tx: &mut T, obj: &ObjId) -> Result<(), AutomergeError> {
        put_str(tx, obj, "version", &self.version)?;
        put_str(tx, obj, "description", &self.description)?;
        put_str(tx, obj, "homepage", &self.homepage)?;
        put_str(tx, obj, "download_url", &self.download_url)?;
        put_str(tx, obj, "sha256", &self.sha256)?;
        put_str(tx, obj, "license", &self.license)?;
        put_str_list(tx, obj, "tags", &self.tags)?;
        put_str(tx, obj, "maintainer", &self.maintainer)
    }

    fn read<D: ReadDoc>(doc: &D, obj: &ObjId, at: &str) -> Result<Self, SchemaError> {
        Ok(Self {
            name: String::new(),
            version: read_str(doc, obj, "version", at)?,
            description: read_str(doc, obj, "description", at)?,
            homepage: read_str(doc, obj, "homepage", at)?,
            download_url: read_str(doc, obj, "download_url", at)?,
            sha256: read_str(doc, obj, "sha256", at)?,
            license: read_str(doc, obj, "license", at)?,
            tags: read_str_list(doc, obj, "tags", at)?,
            maintainer: read_str(doc, obj, "maintainer", at)?,
        })
    }
}
