//! The CLI's side of the local API: finds the running node of a data
//! directory (`node.json`, `api.token`) and calls it.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api::ErrorBody;

use crate::datadir::DataDir;

/// A connection to a running node's API.
pub struct ApiClient {
    base: String,
    token: String,
    agent: ureq::Agent,
}

/// The largest answer the CLI reads.
const ANSWER_LIMIT: u64 = 64 << 20;

impl ApiClient {
    /// The running node of `dir`, or `None` when none is running.
    pub fn find(dir: &DataDir) -> Result<Option<Self>> {
        let Some(info) = dir.node_info()? else {
            return Ok(None);
        };
        let token = dir.token()?;
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(30)))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(Some(Self {
            base: format!("http://{}/api/v1", info.api),
            token,
            agent,
        }))
    }

    /// The running node of `dir`, or a clear error.
    pub fn require(dir: &DataDir) -> Result<Self> {
        Self::find(dir)?.ok_or_else(|| {
            anyhow!(
                "no node is running on {}: start it with `trustmesh run`",
                dir.path().display()
            )
        })
    }

    fn finish<T: DeserializeOwned>(
        &self,
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
        what: &str,
    ) -> Result<T> {
        let mut resp = result.map_err(|e| anyhow!("calling the node ({what}): {e}"))?;
        let status = resp.status();
        // An advisory's detail carries its whole CSAF document (up to
        // 16 MiB as text, more once escaped and indented).
        let text = resp
            .body_mut()
            .with_config()
            .limit(ANSWER_LIMIT)
            .read_to_string()
            .map_err(|e| anyhow!("reading the node's answer ({what}): {e}"))?;
        if !status.is_success() {
            let why = serde_json::from_str::<ErrorBody>(&text).map_or_else(
                |_| format!("the node refused the request ({status})"),
                |e| e.error,
            );
            bail!("{why}");
        }
        serde_json::from_str(&text).with_context(|| format!("reading the node's answer ({what})"))
    }

    fn auth(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// GET `path` (with a query string already in it, if any).
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let r = self
            .agent
            .get(format!("{}{path}", self.base))
            .header("Authorization", self.auth())
            .call();
        self.finish(r, path)
    }

    /// POSTs `body` as JSON.
    pub fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        let r = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Authorization", self.auth())
            .send_json(body);
        self.finish(r, path)
    }

    /// POSTs `body` as it is (a document such as CSAF, sent unparsed).
    pub fn post_raw<T: DeserializeOwned>(&self, path: &str, body: &[u8]) -> Result<T> {
        let r = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Authorization", self.auth())
            .header("Content-Type", "application/json")
            .send(body);
        self.finish(r, path)
    }

    /// PUTs `body` as JSON.
    pub fn put<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        let r = self
            .agent
            .put(format!("{}{path}", self.base))
            .header("Authorization", self.auth())
            .send_json(body);
        self.finish(r, path)
    }

    /// DELETEs `path`.
    pub fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let r = self
            .agent
            .delete(format!("{}{path}", self.base))
            .header("Authorization", self.auth())
            .call();
        self.finish(r, path)
    }
}
