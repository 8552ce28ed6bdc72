//! The node's data directory: its file layout is owned here and nowhere
//! else.
//!
//! ```text
//! <data-dir>/team.key      the secret key, 64 hex digits, mode 0600
//! <data-dir>/profile.json  the team profile given at init
//! <data-dir>/db/           the RocksDB store
//! <data-dir>/config.toml   the node's configuration (optional)
//! <data-dir>/api.token     the local API token, mode 0600, made on first run
//! <data-dir>/node.json     where a running node's API listens ([`NodeInfo`])
//! <data-dir>/alerts.json   the alert delivery cursor
//! <data-dir>/taxii/<reader>.token  a TAXII and MISP feed reader's token,
//!                          mode 0600, made on first run with `[taxii]`
//! <data-dir>/csaf/openpgp-secret.asc  the CSAF directory's OpenPGP key,
//!                          mode 0600, made once with `[csaf]` and no
//!                          `openpgp_key`
//! ```

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;
use trustmesh_protocol::{NetworkId, Profile, StatementError, TeamId, TeamKey};

use crate::store::{RocksStore, StoreError};

/// Why the data directory could not be used.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DataDirError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// `init` found a key already there.
    #[error("{0} already holds a team key; refusing to overwrite it")]
    AlreadyInitialised(PathBuf),
    /// No key yet.
    #[error("{0} holds no team key; run `trustmesh init` first")]
    NotInitialised(PathBuf),
    /// No charter was imported yet, so there is no store to read.
    #[error(
        "{0} belongs to no network yet: import a sealed charter first (`trustmesh import charter.json`)"
    )]
    NoNetwork(PathBuf),
    /// The key file is readable by others.
    #[error("{path} is readable by other users (mode {mode:o}); run `chmod 600 {path}`")]
    KeyPermissions {
        /// The key file.
        path: PathBuf,
        /// Its mode bits.
        mode: u32,
    },
    /// The key file is not 64 hex digits.
    #[error("{0} is not a trustmesh key file (64 hex digits)")]
    KeyFormat(PathBuf),
    /// The profile file is unreadable.
    #[error("{path}: {source}")]
    Profile {
        /// The file.
        path: PathBuf,
        /// The error.
        source: serde_json::Error,
    },
    /// The profile is invalid.
    #[error("invalid profile: {0}")]
    InvalidProfile(#[from] StatementError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The system gave no randomness for a new key or token.
    #[error("no randomness available for a new key: {0}")]
    Random(String),
    /// The data directory is open to other users.
    #[error("{path} is open to other users (mode {mode:o}); run `chmod 700 {path}`")]
    DirPermissions {
        /// The directory.
        path: PathBuf,
        /// Its mode bits.
        mode: u32,
    },
    /// The API token file is readable by others, or too short to be secret.
    #[error("{path} {why}; {fix}")]
    Token {
        /// The token file.
        path: PathBuf,
        /// What is wrong.
        why: String,
        /// What to run.
        fix: String,
    },
    /// Another process has the data directory open for writing.
    #[error(
        "{path} is in use by process {pid} ({command}); stop it first, or use the running node (its API) instead"
    )]
    InUse {
        /// The data directory.
        path: PathBuf,
        /// The process holding it.
        pid: u32,
        /// Its command line, as /proc shows it.
        command: String,
    },
    /// `node.json` is not what a node writes.
    #[error("{path}: {source}")]
    NodeInfo {
        /// The file.
        path: PathBuf,
        /// The error.
        source: serde_json::Error,
    },
}

/// What a running node says of itself in `<data-dir>/node.json`, so the
/// CLI and scripts can reach it. Written when the node starts and again
/// whenever its listen addresses change; removed on a clean exit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// The node's process id.
    pub pid: u32,
    /// Where its local API listens (`host:port`).
    pub api: String,
    /// Its libp2p PeerId.
    pub peer_id: String,
    /// Its team.
    pub team_id: TeamId,
    /// Its network.
    pub network_id: NetworkId,
    /// Its listen addresses, each ending in `/p2p/<peer id>`.
    pub listen: Vec<String>,
}

impl NodeInfo {
    /// Whether the process that wrote it is still there (a node that was
    /// killed leaves its file behind).
    pub fn is_alive(&self) -> bool {
        Path::new(&format!("/proc/{}", self.pid)).exists()
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DataDirError + '_ {
    move |source| DataDirError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A node's data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
    /// `--config`: the settings file, when not `<data-dir>/config.toml`.
    config: Option<PathBuf>,
}

impl DataDir {
    /// The data directory at `root` (not created until `init`).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            config: None,
        }
    }

    /// The same directory with its settings read from `config` (the
    /// Debian package's `/etc/trustmesh/config.toml`) instead of
    /// `<data-dir>/config.toml`.
    pub fn with_config(mut self, config: Option<PathBuf>) -> Self {
        self.config = config;
        self
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.root
    }

    fn key_path(&self) -> PathBuf {
        self.root.join("team.key")
    }

    fn profile_path(&self) -> PathBuf {
        self.root.join("profile.json")
    }

    /// Creates the directory and a fresh team key (mode 0600), and records
    /// the profile.
    pub fn init(&self, profile: &Profile) -> Result<TeamKey, DataDirError> {
        profile.validate()?;
        self.create()?;
        let key_path = self.key_path();
        if key_path.exists() {
            return Err(DataDirError::AlreadyInitialised(self.root.clone()));
        }
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| DataDirError::Random(e.to_string()))?;
        let key = TeamKey::from_secret_bytes(secret);
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&key_path)
            .map_err(io(&key_path))?;
        file.write_all(format!("{}\n", hex::encode(secret)).as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(io(&key_path))?;
        self.write_profile(profile)?;
        Ok(key)
    }

    /// Creates the directory, mode 0700, if it is missing.
    fn create(&self) -> Result<(), DataDirError> {
        if !self.root.exists() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&self.root)
                .map_err(io(&self.root))?;
        }
        self.check_private()
    }

    /// Refuses a data directory that other users can enter or list.
    fn check_private(&self) -> Result<(), DataDirError> {
        let meta = fs::metadata(&self.root).map_err(io(&self.root))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(DataDirError::DirPermissions {
                path: self.root.clone(),
                mode,
            });
        }
        Ok(())
    }

    /// Takes the data directory for this process alone (an advisory lock
    /// on `node.lock`, released when the process ends, however it ends).
    fn lock(&self) -> Result<fs::File, DataDirError> {
        let path = self.root.join("node.lock");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(io(&path))?;
        match file.try_lock() {
            Ok(()) => {
                file.set_len(0)
                    .and_then(|()| file.write_all(std::process::id().to_string().as_bytes()))
                    .map_err(io(&path))?;
                Ok(file)
            }
            Err(fs::TryLockError::WouldBlock) => {
                let pid = fs::read_to_string(&path)
                    .ok()
                    .and_then(|t| t.trim().parse::<u32>().ok())
                    .unwrap_or(0);
                let command = fs::read(format!("/proc/{pid}/cmdline"))
                    .map(|b| {
                        String::from_utf8_lossy(&b)
                            .split('\0')
                            .filter(|s| !s.is_empty())
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .unwrap_or_else(|_| "unknown command".to_owned());
                Err(DataDirError::InUse {
                    path: self.root.clone(),
                    pid,
                    command,
                })
            }
            Err(fs::TryLockError::Error(e)) => Err(io(&path)(e)),
        }
    }

    /// Loads the team key, refusing a key file others can read.
    pub fn key(&self) -> Result<TeamKey, DataDirError> {
        let path = self.key_path();
        let meta = match fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(DataDirError::NotInitialised(self.root.clone()));
            }
            Err(e) => return Err(io(&path)(e)),
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(DataDirError::KeyPermissions { path, mode });
        }
        let text = fs::read_to_string(&path).map_err(io(&path))?;
        let mut secret = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut secret)
            .map_err(|_| DataDirError::KeyFormat(path.clone()))?;
        Ok(TeamKey::from_secret_bytes(secret))
    }

    /// The team profile recorded at init.
    pub fn profile(&self) -> Result<Profile, DataDirError> {
        let path = self.profile_path();
        let text = fs::read_to_string(&path).map_err(io(&path))?;
        let profile: Profile =
            serde_json::from_str(&text).map_err(|source| DataDirError::Profile {
                path: path.clone(),
                source,
            })?;
        profile.validate()?;
        Ok(profile)
    }

    fn write_profile(&self, profile: &Profile) -> Result<(), DataDirError> {
        let path = self.profile_path();
        let json =
            serde_json::to_string_pretty(profile).map_err(|source| DataDirError::Profile {
                path: path.clone(),
                source,
            })?;
        fs::write(&path, json + "\n").map_err(io(&path))
    }

    /// The configuration file (which need not exist): `--config`, else
    /// `<data-dir>/config.toml`.
    pub fn config_path(&self) -> PathBuf {
        self.config
            .clone()
            .unwrap_or_else(|| self.root.join("config.toml"))
    }

    /// The API token file.
    pub fn token_path(&self) -> PathBuf {
        self.root.join("api.token")
    }

    /// The running node's description.
    pub fn node_info_path(&self) -> PathBuf {
        self.root.join("node.json")
    }

    /// The alert delivery cursor.
    pub fn alerts_path(&self) -> PathBuf {
        self.root.join("alerts.json")
    }

    /// Reads the API token, refusing one other users can read or one too
    /// short to be secret (under 128 bits: 32 hex digits).
    pub fn token(&self) -> Result<String, DataDirError> {
        read_token(self.token_path())
    }

    /// The token file of the TAXII reader `name` (a name the config
    /// checked: letters, digits, `-`, `_`).
    pub fn reader_token_path(&self, name: &str) -> PathBuf {
        self.root.join("taxii").join(format!("{name}.token"))
    }

    /// Reads the TAXII reader `name`'s token, creating it (mode 0600, 256
    /// random bits, in `<data-dir>/taxii/`, mode 0700) if it is missing.
    /// It is not the API token: it reads the TAXII collections and the
    /// MISP feed, nothing else.
    pub fn reader_token_or_create(&self, name: &str) -> Result<String, DataDirError> {
        let dir = self.root.join("taxii");
        if !dir.exists() {
            fs::DirBuilder::new()
                .mode(0o700)
                .create(&dir)
                .map_err(io(&dir))?;
        }
        token_or_create(self.reader_token_path(name))
    }

    /// The OpenPGP secret key the node made for the CSAF provider
    /// directory (armored), when the operator gave none.
    pub fn csaf_key_path(&self) -> PathBuf {
        self.root.join("csaf").join("openpgp-secret.asc")
    }

    /// Reads the CSAF directory's secret key file, refusing one other users
    /// can read, or, when there is none, writes the key `make` returns
    /// (mode 0600, in `<data-dir>/csaf/`, mode 0700) and returns it. It is
    /// made once and kept: the fingerprint the directory publishes stays.
    pub fn csaf_key_or_create(
        &self,
        make: impl FnOnce() -> Result<String, String>,
    ) -> Result<String, DataDirError> {
        let path = self.csaf_key_path();
        if path.exists() {
            let mode = fs::metadata(&path).map_err(io(&path))?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(DataDirError::Token {
                    why: format!("is readable by other users (mode {mode:o})"),
                    fix: format!("run `chmod 600 {}`", path.display()),
                    path,
                });
            }
            return fs::read_to_string(&path).map_err(io(&path));
        }
        let dir = self.root.join("csaf");
        if !dir.exists() {
            fs::DirBuilder::new()
                .mode(0o700)
                .create(&dir)
                .map_err(io(&dir))?;
        }
        let text = make().map_err(DataDirError::Random)?;
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(io(&path))?;
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(io(&path))?;
        Ok(text)
    }

    /// Reads the API token (checked as [`DataDir::token`] does), creating
    /// it (mode 0600, 256 random bits) if it is missing.
    pub fn token_or_create(&self) -> Result<String, DataDirError> {
        token_or_create(self.token_path())
    }
}

/// Reads a token file, refusing one other users can read or one too short
/// to be secret (under 128 bits: 32 hex digits).
fn read_token(path: PathBuf) -> Result<String, DataDirError> {
    let mode = fs::metadata(&path).map_err(io(&path))?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(DataDirError::Token {
            why: format!("is readable by other users (mode {mode:o})"),
            fix: format!("run `chmod 600 {}`", path.display()),
            path,
        });
    }
    let text = fs::read_to_string(&path).map_err(io(&path))?;
    let token = text.trim();
    if token.len() < 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(DataDirError::Token {
            why: "is not at least 32 hex digits (128 random bits)".to_owned(),
            fix: format!(
                "remove it (`rm {}`) and restart the node to make a new one",
                path.display()
            ),
            path,
        });
    }
    Ok(token.to_owned())
}

/// Reads a token file (checked as [`read_token`] does), creating it (mode
/// 0600, 256 random bits) if it is missing.
fn token_or_create(path: PathBuf) -> Result<String, DataDirError> {
    if path.exists() {
        return read_token(path);
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| DataDirError::Random(e.to_string()))?;
    let token = hex::encode(bytes);
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(io(&path))?;
    f.write_all(token.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(io(&path))?;
    Ok(token)
}

impl DataDir {
    /// The running node's description, or `None` when no node runs here
    /// (no file, or the process that wrote it is gone).
    pub fn node_info(&self) -> Result<Option<NodeInfo>, DataDirError> {
        let path = self.node_info_path();
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&path)(e)),
        };
        let info: NodeInfo = serde_json::from_str(&text)
            .map_err(|source| DataDirError::NodeInfo { path, source })?;
        Ok(info.is_alive().then_some(info))
    }

    /// Writes the running node's description (replaced atomically, so a
    /// reader never sees half of it).
    pub fn write_node_info(&self, info: &NodeInfo) -> Result<(), DataDirError> {
        let path = self.node_info_path();
        let tmp = self.root.join("node.json.tmp");
        let json = serde_json::to_string_pretty(info).map_err(|source| DataDirError::NodeInfo {
            path: path.clone(),
            source,
        })?;
        fs::write(&tmp, json + "\n")
            .and_then(|()| fs::rename(&tmp, &path))
            .map_err(io(&path))
    }

    /// Removes the running node's description (on a clean exit).
    pub fn remove_node_info(&self) {
        let _ = fs::remove_file(self.node_info_path());
    }

    /// Opens the store for writing, for this process alone: a second
    /// writer is refused with the process that holds it.
    pub fn store(&self) -> Result<RocksStore, DataDirError> {
        self.create()?;
        let lock = self.lock()?;
        Ok(RocksStore::open(&self.root.join("db"))?.holding(lock))
    }

    /// Whether a store was ever opened here.
    pub fn has_store(&self) -> bool {
        self.root.join("db").exists()
    }

    /// Opens the store to read only; works while a node runs on it.
    pub fn store_read_only(&self) -> Result<RocksStore, DataDirError> {
        if !self.key_path().exists() {
            return Err(DataDirError::NotInitialised(self.root.clone()));
        }
        self.check_private()?;
        if !self.has_store() {
            return Err(DataDirError::NoNetwork(self.root.clone()));
        }
        Ok(RocksStore::open_read_only(&self.root.join("db"))?)
    }
}
