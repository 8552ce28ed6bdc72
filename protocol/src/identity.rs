//! Team identities: an ed25519 key pair per team, and the libp2p PeerId
//! derived from the same public key.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use thiserror::Error;

/// Why a team id or key could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// The text is neither 64 hex digits nor a PeerId.
    #[error("not a team id (64 hex digits) or an ed25519 PeerId: {0:?}")]
    Unparsable(String),
    /// The bytes are not a usable ed25519 public key.
    #[error("not a valid ed25519 public key")]
    InvalidKey,
    /// The PeerId does not wrap an ed25519 public key.
    #[error("the PeerId does not carry an inline ed25519 public key")]
    NotEd25519PeerId,
}

/// A team's public identity: its ed25519 public key.
///
/// Displayed as 64 lowercase hex digits. The same key, wrapped as libp2p
/// wraps it, is the team node's PeerId, so a Noise-authenticated connection
/// proves which team is on the other end.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TeamId([u8; 32]);

/// The prefix of a PeerId that inlines an ed25519 public key: an identity
/// multihash (0x00) of 36 bytes (0x24) holding the protobuf `PublicKey`
/// message with field 1 `KeyType::Ed25519` (0x08 0x01) and field 2 the 32
/// key bytes (0x12 0x20).
const PEER_ID_PREFIX: [u8; 6] = [0x00, 0x24, 0x08, 0x01, 0x12, 0x20];

impl TeamId {
    /// Checks that `bytes` are a valid, non-weak ed25519 public key.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, IdentityError> {
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| IdentityError::InvalidKey)?;
        if key.is_weak() {
            return Err(IdentityError::InvalidKey);
        }
        Ok(Self(bytes))
    }

    /// Bytes this node wrote itself under a digest (a snapshot), not
    /// checked again: decompressing every key of a large store would cost
    /// seconds at start, and [`Self::verify`] checks the key anyway.
    pub(crate) fn from_stored_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 public key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Checks `signature` over `message` with this key, rejecting malleable
    /// signatures (`verify_strict`).
    pub fn verify(&self, message: &[u8], signature: &Signature) -> bool {
        match VerifyingKey::from_bytes(&self.0) {
            Ok(key) => key
                .verify_strict(message, &ed25519_dalek::Signature::from_bytes(&signature.0))
                .is_ok(),
            Err(_) => false,
        }
    }

    /// The binary libp2p PeerId of this team's node.
    pub fn to_peer_id_bytes(&self) -> Vec<u8> {
        let mut out = PEER_ID_PREFIX.to_vec();
        out.extend_from_slice(&self.0);
        out
    }

    /// Recovers the team id from a binary libp2p PeerId.
    pub fn from_peer_id_bytes(bytes: &[u8]) -> Result<Self, IdentityError> {
        let key = bytes
            .strip_prefix(&PEER_ID_PREFIX[..])
            .ok_or(IdentityError::NotEd25519PeerId)?;
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| IdentityError::NotEd25519PeerId)?;
        Self::from_bytes(key)
    }

    /// The PeerId as libp2p prints it (base58btc, `12D3KooW...`).
    pub fn peer_id(&self) -> String {
        bs58::encode(self.to_peer_id_bytes()).into_string()
    }

    /// The first 8 hex digits, for compact display next to a team name.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..4])
    }
}

impl fmt::Display for TeamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for TeamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TeamId({})", self.short())
    }
}

impl FromStr for TeamId {
    type Err = IdentityError;

    /// Accepts the 64-hex-digit form or a PeerId string.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.len() == 64 {
            let mut bytes = [0u8; 32];
            if hex::decode_to_slice(s, &mut bytes).is_ok() {
                return Self::from_bytes(bytes);
            }
        }
        match bs58::decode(s).into_vec() {
            Ok(bytes) => Self::from_peer_id_bytes(&bytes),
            Err(_) => Err(IdentityError::Unparsable(s.chars().take(80).collect())),
        }
    }
}

impl serde::Serialize for TeamId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for TeamId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An ed25519 signature.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub(crate) [u8; 64]);

impl Signature {
    /// Wraps 64 signature bytes (checked only when verified).
    pub fn from_bytes(bytes: [u8; 64]) -> Self {
        Self(bytes)
    }

    /// The 64 signature bytes.
    pub fn to_bytes(&self) -> [u8; 64] {
        self.0
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({}..)", hex::encode(&self.0[..6]))
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// A team's secret signing key. Never leaves the node; `Debug` hides it.
#[derive(Clone)]
pub struct TeamKey(SigningKey);

impl TeamKey {
    /// Builds the key from its 32 secret bytes. The caller supplies the
    /// randomness: this crate has no source of it.
    pub fn from_secret_bytes(secret: [u8; 32]) -> Self {
        Self(SigningKey::from_bytes(&secret))
    }

    /// The 32 secret bytes, for writing the key file.
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The public identity of this key.
    pub fn id(&self) -> TeamId {
        // A key derived from a secret scalar is always a valid, non-weak point.
        TeamId(self.0.verifying_key().to_bytes())
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.0.sign(message).to_bytes())
    }
}

impl fmt::Debug for TeamKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TeamKey({}, secret hidden)", self.id().short())
    }
}

#[cfg(test)]
mod tests;
