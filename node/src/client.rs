//! The CLI's side of the local API: finds the running node of a data
//! directory (`node.json`, `api.token`) and calls it.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

use crate::run::{node_file, token_file};

/// A connection to a running node's API.
pub struct ApiClient {
    base: String,
    token: String,
    agent: ureq::Agent,
}

impl ApiClient {
    /// The running node of `dir`, or `None` when none is running.
    pub fn find(dir: &Path) -> Result<Option<Self>> {
        let Ok(text) = std::fs::read_to_string(node_file(dir)) else {
            return Ok(None);
        };
        let info: Value = serde_json::from_str(&text)
            .with_context(|| format!("reading {}", node_file(dir).display()))?;
        if let Some(pid) = info["pid"].as_u64()
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            // A node that was killed leaves its file behind.
            return Ok(None);
        }
        let api = info["api"]
            .as_str()
            .ok_or_else(|| anyhow!("{} names no API address", node_file(dir).display()))?;
        let token = std::fs::read_to_string(token_file(dir))
            .with_context(|| format!("reading {}", token_file(dir).display()))?;
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(30)))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(Some(Self {
            base: format!("http://{api}/api/v1"),
            token: token.trim().to_owned(),
            agent,
        }))
    }

    /// The running node of `dir`, or a clear error.
    pub fn require(dir: &Path) -> Result<Self> {
        Self::find(dir)?.ok_or_else(|| {
            anyhow!(
                "no node is running on {}: start it with `trustmesh run`",
                dir.display()
            )
        })
    }

    fn finish(
        &self,
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
        what: &str,
    ) -> Result<Value> {
        let mut resp = result.map_err(|e| anyhow!("calling the node ({what}): {e}"))?;
        let status = resp.status();
        let body: Value = resp
            .body_mut()
            .read_json()
            .map_err(|e| anyhow!("reading the node's answer ({what}): {e}"))?;
        if !status.is_success() {
            bail!(
                "{}",
                body["error"]
                    .as_str()
                    .unwrap_or("the node refused the request")
            );
        }
        Ok(body)
    }

    fn auth(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// GET `path` (with a query string already in it, if any).
    pub fn get(&self, path: &str) -> Result<Value> {
        let r = self
            .agent
            .get(format!("{}{path}", self.base))
            .header("Authorization", self.auth())
            .call();
        self.finish(r, path)
    }

    /// Sends `body` with `method` (POST, PUT, DELETE).
    pub fn send(&self, method: &str, path: &str, body: &Value) -> Result<Value> {
        let url = format!("{}{path}", self.base);
        let r = match method {
            "POST" => self
                .agent
                .post(&url)
                .header("Authorization", self.auth())
                .send_json(body),
            "PUT" => self
                .agent
                .put(&url)
                .header("Authorization", self.auth())
                .send_json(body),
            "DELETE" => self
                .agent
                .delete(&url)
                .header("Authorization", self.auth())
                .call(),
            other => bail!("unsupported method {other}"),
        };
        self.finish(r, path)
    }
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
