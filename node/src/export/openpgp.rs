//! The team's OpenPGP key for the CSAF provider directory (rPGP, the
//! `pgp` crate: pure Rust).
//!
//! CSAF 2.0 requirements 19 and 20 ask a trusted provider to sign every
//! document with an OpenPGP key whose public part it publishes. A CSIRT
//! usually has such a key already (its RFC 2350 entry names it, and its
//! advisories are signed with it), so the operator can give the armored
//! secret key file (`[csaf] openpgp_key`, with `openpgp_passphrase_file`
//! when it is protected): readers then check the directory against the
//! key they already trust. A team without one gets a key made once by the
//! node (Ed25519, certify and sign, no expiry) and kept in the data
//! directory with mode 0600, like its team key; it is never replaced, so
//! the published fingerprint stays the same across restarts.
//!
//! Signatures are detached, binary-mode and ASCII-armored (`gpgv` checks
//! them). Their creation time is an argument, so a signature is a pure
//! function of the key, the bytes and that time: the directory the node
//! serves and the one `export csaf-provider` writes are the same bytes.

use pgp::composed::{
    ArmorOptions, Deserializable, DetachedSignature, KeyType, SecretKeyParamsBuilder,
    SignedPublicKey, SignedSecretKey, SubpacketConfig,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::{Subpacket, SubpacketData};
use pgp::types::{KeyDetails, Password, SigningKey, Timestamp};

/// Why a key could not be made, read or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenPgpError {
    /// The text is not an armored OpenPGP secret key.
    #[error("not an armored OpenPGP secret key (gpg --armor --export-secret-keys): {0}")]
    Parse(String),
    /// The key's self-signatures do not verify.
    #[error("the key's self-signatures do not verify: {0}")]
    Bindings(String),
    /// Neither the primary key nor a subkey may sign.
    #[error(
        "the key {0} has no key that may sign (neither the primary key nor a subkey has the sign flag)"
    )]
    NoSigningKey(String),
    /// Signing failed: most often a wrong or missing passphrase.
    #[error("signing with the key {fingerprint} failed (is the passphrase right?): {why}")]
    Sign {
        /// The key's fingerprint.
        fingerprint: String,
        /// What rPGP said.
        why: String,
    },
    /// Making a key failed.
    #[error("making an OpenPGP key failed: {0}")]
    Generate(String),
}

/// Which key of the certificate signs.
#[derive(Debug, Clone, Copy)]
enum Signer {
    Primary,
    Subkey(usize),
}

/// A secret key that signs CSAF documents, its signing key unlocked in
/// memory (a passphrase's S2K derivation, made costly on purpose, runs
/// once, not for every signature).
pub struct CsafKey {
    secret: SignedSecretKey,
    signer: Signer,
}

impl std::fmt::Debug for CsafKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret material.
        f.debug_struct("CsafKey")
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

impl CsafKey {
    /// A new Ed25519 key (v4, certify and sign) for `user_id`, created at
    /// `created` (Unix seconds).
    pub fn generate(user_id: &str, created: u64) -> Result<Self, OpenPgpError> {
        let mut params = SecretKeyParamsBuilder::default();
        params
            .key_type(KeyType::Ed25519Legacy)
            .can_certify(true)
            .can_sign(true)
            .created_at(Timestamp::from_secs(secs32(created)))
            .preferred_hash_algorithms(
                [HashAlgorithm::Sha512, HashAlgorithm::Sha256]
                    .into_iter()
                    .collect(),
            )
            .primary_user_id(user_id.to_owned());
        let params = params
            .build()
            .map_err(|e| OpenPgpError::Generate(e.to_string()))?;
        let secret = params
            .generate(rand_core_06::OsRng)
            .map_err(|e| OpenPgpError::Generate(e.to_string()))?;
        Self::new(secret, "")
    }

    /// Reads an armored secret key (as `gpg --armor --export-secret-keys`
    /// writes it), unlocked with `passphrase` (empty for none), and checks
    /// that it signs.
    pub fn from_armored(text: &str, passphrase: &str) -> Result<Self, OpenPgpError> {
        let (secret, _) =
            SignedSecretKey::from_string(text).map_err(|e| OpenPgpError::Parse(e.to_string()))?;
        secret
            .verify_bindings()
            .map_err(|e| OpenPgpError::Bindings(e.to_string()))?;
        let key = Self::new(secret, passphrase)?;
        // A wrong passphrase shows now, not at the first request.
        key.sign(b"trustmesh", key.created())?;
        Ok(key)
    }

    fn new(mut secret: SignedSecretKey, passphrase: &str) -> Result<Self, OpenPgpError> {
        // The newest subkey bound with the sign flag, else the primary key
        // if its self-signature allows signing.
        let subkey = secret
            .secret_subkeys
            .iter()
            .enumerate()
            .filter(|(_, k)| k.signatures.iter().any(|s| s.key_flags().sign()))
            .max_by_key(|(_, k)| k.key.created_at().as_secs())
            .map(|(i, _)| Signer::Subkey(i));
        let primary_signs = secret
            .details
            .users
            .iter()
            .flat_map(|u| &u.signatures)
            .chain(&secret.details.direct_signatures)
            .any(|s| s.key_flags().sign());
        let signer = match (subkey, primary_signs) {
            (Some(s), _) => s,
            (None, true) => Signer::Primary,
            (None, false) => {
                return Err(OpenPgpError::NoSigningKey(format!(
                    "{:X}",
                    secret.fingerprint()
                )));
            }
        };
        let password = Password::from(passphrase);
        let unlocked = match signer {
            Signer::Primary => secret.primary_key.remove_password(&password),
            Signer::Subkey(i) => match secret.secret_subkeys.get_mut(i) {
                Some(k) => k.key.remove_password(&password),
                None => secret.primary_key.remove_password(&password),
            },
        };
        unlocked.map_err(|e| OpenPgpError::Sign {
            fingerprint: format!("{:X}", secret.fingerprint()),
            why: format!("unlocking: {e}"),
        })?;
        Ok(Self { secret, signer })
    }

    /// The secret key, armored, for the data directory (its signing key
    /// as unlocked: call it on a key made here, which has no passphrase).
    pub fn secret_armored(&self) -> Result<String, OpenPgpError> {
        self.secret
            .to_armored_string(ArmorOptions::default())
            .map_err(|e| OpenPgpError::Generate(e.to_string()))
    }

    /// The public key (the certificate), armored: what the directory
    /// publishes.
    pub fn public_armored(&self) -> Result<String, OpenPgpError> {
        SignedPublicKey::from(self.secret.clone())
            .to_armored_string(ArmorOptions::default())
            .map_err(|e| OpenPgpError::Generate(e.to_string()))
    }

    /// The primary key's fingerprint, 40 uppercase hex digits (v4).
    pub fn fingerprint(&self) -> String {
        format!("{:X}", self.secret.fingerprint())
    }

    /// When the signing key was created (Unix seconds): no signature may
    /// be older (OpenPGP implementations refuse one that is).
    pub fn created(&self) -> u64 {
        let t = match self.signer {
            Signer::Primary => self.secret.primary_key.created_at(),
            Signer::Subkey(i) => self
                .secret
                .secret_subkeys
                .get(i)
                .map_or(self.secret.primary_key.created_at(), |k| k.key.created_at()),
        };
        u64::from(t.as_secs())
    }

    /// A detached, ASCII-armored binary signature over `data`, made at
    /// `at` (Unix seconds; moved up to the key's creation if earlier).
    pub fn sign(&self, data: &[u8], at: u64) -> Result<String, OpenPgpError> {
        let at = Timestamp::from_secs(secs32(at.max(self.created())));
        let signed = match self.signer {
            Signer::Primary => self.sign_with(&self.secret.primary_key, data, at),
            Signer::Subkey(i) => match self.secret.secret_subkeys.get(i) {
                Some(k) => self.sign_with(&k.key, data, at),
                None => self.sign_with(&self.secret.primary_key, data, at),
            },
        };
        signed
            .and_then(|s| s.to_armored_string(ArmorOptions::default()))
            .map_err(|e| OpenPgpError::Sign {
                fingerprint: self.fingerprint(),
                why: e.to_string(),
            })
    }

    fn sign_with(
        &self,
        key: &impl SigningKey,
        data: &[u8],
        at: Timestamp,
    ) -> pgp::errors::Result<DetachedSignature> {
        // What rPGP writes by default, with the time given instead of now.
        let subpackets = SubpacketConfig::UserDefined {
            hashed: vec![
                Subpacket::regular(SubpacketData::IssuerFingerprint(key.fingerprint()))?,
                Subpacket::regular(SubpacketData::SignatureCreationTime(at))?,
            ],
            unhashed: vec![Subpacket::regular(SubpacketData::IssuerKeyId(
                key.legacy_key_id(),
            ))?],
        };
        DetachedSignature::sign_binary_data_with_subpackets(
            rand_core_06::OsRng,
            key,
            &Password::empty(),
            HashAlgorithm::Sha512,
            data,
            subpackets,
        )
    }

    /// Checks an armored detached signature over `data` with this key.
    pub fn verify(&self, data: &[u8], armored: &str) -> bool {
        let Ok((sig, _)) = DetachedSignature::from_string(armored) else {
            return false;
        };
        let public = SignedPublicKey::from(self.secret.clone());
        sig.verify(&public.primary_key, data).is_ok()
            || public
                .public_subkeys
                .iter()
                .any(|k| sig.verify(&k.key, data).is_ok())
    }
}

/// Unix seconds as OpenPGP's 32-bit time (saturating in 2106).
fn secs32(secs: u64) -> u32 {
    u32::try_from(secs).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::CsafKey;

    #[test]
    fn a_generated_key_signs_deterministically_and_reads_back() {
        let key = CsafKey::generate("CERT-XX <cert@xx.example>", 1_700_000_000).expect("key");
        assert_eq!(key.fingerprint().len(), 40);
        assert_eq!(key.created(), 1_700_000_000);
        let a = key.sign(b"{}", 1_750_000_000).expect("sign");
        let b = key.sign(b"{}", 1_750_000_000).expect("sign");
        assert!(a.starts_with("-----BEGIN PGP SIGNATURE-----"), "{a}");
        assert_eq!(a, b, "Ed25519 signatures at one time are the same bytes");
        assert!(key.verify(b"{}", &a));
        assert!(!key.verify(b"{ }", &a));
        // Earlier than the key: moved up to its creation.
        assert_eq!(
            key.sign(b"{}", 1).expect("sign"),
            key.sign(b"{}", 1_700_000_000).expect("sign")
        );
        let back = CsafKey::from_armored(&key.secret_armored().expect("armor"), "").expect("read");
        assert_eq!(back.fingerprint(), key.fingerprint());
        assert_eq!(back.sign(b"{}", 1_750_000_000).expect("sign"), a);
        assert!(
            key.public_armored()
                .expect("public")
                .starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----")
        );
    }

    #[test]
    fn what_is_no_secret_key_is_refused() {
        let key = CsafKey::generate("CERT-XX", 1_700_000_000).expect("key");
        let public = key.public_armored().expect("public");
        assert!(CsafKey::from_armored(&public, "").is_err());
        assert!(CsafKey::from_armored("not a key", "").is_err());
    }
}
