//! The contacts document: one per team, written only by that team. Fields
//! follow RFC 2350 section 2 and the FIRST / Trusted Introducer directory
//! entries.

use automerge::transaction::Transactable;
use automerge::{Automerge, AutomergeError, ObjId, ROOT, ReadDoc};
use serde::{Deserialize, Serialize};

use super::id::{DocKind, DocRef};
use super::schema::{
    Record, Schema, SchemaError, check_count, check_country, check_email, check_multiline,
    check_phone, check_text, check_url, is_hex, put_opt_str, put_records, put_str, read_enum,
    read_opt_str, read_records, read_str, sealed,
};
use crate::statement::TeamKind;

const MAX_PGP_KEYS: usize = 32;
const MAX_REPRESENTATIVES: usize = 64;
const MAX_ARMORED_KEY: usize = 64 * 1024;

/// A team's directory entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// The team's full name.
    pub name: String,
    /// Its short name (for example "CERT-XY").
    pub short_name: String,
    /// ISO 3166-1 alpha-2 country code, upper case.
    pub country: String,
    /// What kind of team it is.
    pub kind: TeamKind,
    /// Whom it serves (RFC 2350 3.1).
    pub constituency: String,
    /// Postal address, possibly several lines.
    pub postal_address: String,
    /// Time zone (RFC 2350 2.4), for example "Europe/Berlin" or "UTC+1".
    pub time_zone: String,
    /// Hours of operation (RFC 2350 2.11).
    pub business_hours: String,
    /// Main e-mail address.
    pub email: String,
    /// Main phone number.
    pub phone: String,
    /// Phone number for emergencies outside business hours.
    pub emergency_phone: String,
    /// Web site.
    pub website: String,
    /// PGP keys used for e-mail to and from the team.
    pub pgp_keys: Vec<PgpKey>,
    /// Team representatives (FIRST asks for at least one).
    pub representatives: Vec<Representative>,
}

/// A PGP key of the team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PgpKey {
    /// The fingerprint: 40 (v4) or 64 (v5/v6) hexadecimal digits.
    pub fingerprint: String,
    /// The ASCII-armored public key, if published here.
    pub armored: Option<String>,
}

/// A person who represents the team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Representative {
    /// Full name.
    pub name: String,
    /// Role, for example "team lead".
    pub role: String,
    /// E-mail address.
    pub email: String,
    /// Phone number.
    pub phone: String,
}

impl Contact {
    /// Checks every field: required fields present, lengths bounded, no
    /// control characters, well-formed addresses, phone numbers and keys.
    pub fn validate(&self) -> Result<(), SchemaError> {
        check_text("name", &self.name, 200, true)?;
        check_text("short name", &self.short_name, 64, true)?;
        check_country(&self.country)?;
        check_multiline("constituency", &self.constituency, 2000, false)?;
        check_multiline("postal address", &self.postal_address, 1000, false)?;
        check_text("time zone", &self.time_zone, 64, false)?;
        check_text("business hours", &self.business_hours, 200, false)?;
        check_email("email", &self.email, false)?;
        check_phone("phone", &self.phone)?;
        check_phone("emergency phone", &self.emergency_phone)?;
        check_url("website", &self.website, false)?;
        check_count("pgp keys", self.pgp_keys.len(), MAX_PGP_KEYS)?;
        for (i, k) in self.pgp_keys.iter().enumerate() {
            if !(is_hex(&k.fingerprint, 40) || is_hex(&k.fingerprint, 64)) {
                return Err(SchemaError::invalid(
                    format!("pgp keys[{i}].fingerprint"),
                    "must be 40 or 64 hexadecimal digits without spaces",
                ));
            }
            if let Some(armored) = &k.armored {
                let field = format!("pgp keys[{i}].armored");
                check_multiline(&field, armored, MAX_ARMORED_KEY, true)?;
                if !armored
                    .trim_start()
                    .starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----")
                {
                    return Err(SchemaError::invalid(
                        field,
                        "must be an ASCII-armored public key block",
                    ));
                }
            }
        }
        check_count(
            "representatives",
            self.representatives.len(),
            MAX_REPRESENTATIVES,
        )?;
        for (i, r) in self.representatives.iter().enumerate() {
            check_text(&format!("representatives[{i}].name"), &r.name, 200, true)?;
            check_text(&format!("representatives[{i}].role"), &r.role, 200, false)?;
            check_email(&format!("representatives[{i}].email"), &r.email, false)?;
            check_phone(&format!("representatives[{i}].phone"), &r.phone)?;
        }
        Ok(())
    }

    /// Writes the fields that differ from the document's.
    pub(crate) fn write<T: Transactable>(&self, tx: &mut T) -> Result<(), AutomergeError> {
        put_str(tx, &ROOT, "name", &self.name)?;
        put_str(tx, &ROOT, "short_name", &self.short_name)?;
        put_str(tx, &ROOT, "country", &self.country)?;
        put_str(tx, &ROOT, "kind", self.kind.name())?;
        put_str(tx, &ROOT, "constituency", &self.constituency)?;
        put_str(tx, &ROOT, "postal_address", &self.postal_address)?;
        put_str(tx, &ROOT, "time_zone", &self.time_zone)?;
        put_str(tx, &ROOT, "business_hours", &self.business_hours)?;
        put_str(tx, &ROOT, "email", &self.email)?;
        put_str(tx, &ROOT, "phone", &self.phone)?;
        put_str(tx, &ROOT, "emergency_phone", &self.emergency_phone)?;
        put_str(tx, &ROOT, "website", &self.website)?;
        put_records(tx, &ROOT, "pgp_keys", &self.pgp_keys)?;
        put_records(tx, &ROOT, "representatives", &self.representatives)
    }
}

impl Schema for Contact {
    const KIND: DocKind = DocKind::Contacts;
}

impl sealed::Sealed for Contact {
    fn read(doc: &Automerge, _: &DocRef) -> Result<Self, SchemaError> {
        let s = |key| read_str(doc, &ROOT, key, "");
        Ok(Self {
            name: s("name")?,
            short_name: s("short_name")?,
            country: s("country")?,
            kind: read_enum(doc, &ROOT, "kind", "", |v| v.parse().ok())?,
            constituency: s("constituency")?,
            postal_address: s("postal_address")?,
            time_zone: s("time_zone")?,
            business_hours: s("business_hours")?,
            email: s("email")?,
            phone: s("phone")?,
            emergency_phone: s("emergency_phone")?,
            website: s("website")?,
            pgp_keys: read_records(doc, &ROOT, "pgp_keys", "")?,
            representatives: read_records(doc, &ROOT, "representatives", "")?,
        })
    }
}

impl Record for PgpKey {
    fn write<T: Transactable>(&self, tx: &mut T, obj: &ObjId) -> Result<(), AutomergeError> {
        put_str(tx, obj, "fingerprint", &self.fingerprint)?;
        put_opt_str(tx, obj, "armored", self.armored.as_deref())
    }

    fn read<D: ReadDoc>(doc: &D, obj: &ObjId, at: &str) -> Result<Self, SchemaError> {
        Ok(Self {
            fingerprint: read_str(doc, obj, "fingerprint", at)?,
            armored: read_opt_str(doc, obj, "armored", at)?,
        })
    }
}

impl Record for Representative {
    fn write<T: Transactable>(&self, tx: &mut T, obj: &ObjId) -> Result<(), AutomergeError> {
        put_str(tx, obj, "name", &self.name)?;
        put_str(tx, obj, "role", &self.role)?;
        put_str(tx, obj, "email", &self.email)?;
        put_str(tx, obj, "phone", &self.phone)
    }

    fn read<D: ReadDoc>(doc: &D, obj: &ObjId, at: &str) -> Result<Self, SchemaError> {
        Ok(Self {
            name: read_str(doc, obj, "name", at)?,
            role: read_str(doc, obj, "role", at)?,
            email: read_str(doc, obj, "email", at)?,
            phone: read_str(doc, obj, "phone", at)?,
        })
    }
}
