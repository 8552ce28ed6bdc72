//! JSON Schemas of the protocol and bootstrap types the API carries, for
//! the OpenAPI document. protocol/ and bootstrap/ do not depend on
//! schemars, so each type is described here by a stand-in that derives or
//! implements `JsonSchema` and is named after the type it describes; the
//! API types point their fields at these with `#[schemars(with = ...)]`.
//!
//! **Invariant:** a stand-in lists exactly the fields its type serializes.
//! Nothing here can check that at compile time; the OpenAPI test
//! (`http/api/tests.rs`) serializes a sample of every type and compares it
//! with these schemas, so a field added to `Advisory` without a line here
//! fails that test.

// The stand-ins are never built: they exist for their schemas.
#![allow(dead_code)]

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use trustmesh_protocol as p;

/// A 32-byte id written as 64 lowercase hex digits.
macro_rules! hex_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub struct $name;

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({
                    "type": "string",
                    "pattern": "^[0-9a-f]{64}$",
                    "description": concat!(stringify!($name), ": 64 lowercase hex digits."),
                })
            }
        }
    };
}

hex_id!(
    /// A team: its ed25519 public key.
    TeamId
);
hex_id!(
    /// A document.
    DocId
);
hex_id!(
    /// A network: the hash of its charter.
    NetworkId
);
hex_id!(
    /// A signed statement.
    StatementId
);
hex_id!(
    /// An Automerge change.
    ChangeHash
);

/// A protocol enum written as its lowercase name; the names come from the
/// type's own `ALL` list, so a new variant is in the schema at once.
macro_rules! named_enum {
    ($name:ident) => {
        pub struct $name;

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                let names: Vec<&str> = p::$name::ALL.iter().map(|v| v.name()).collect();
                json_schema!({ "type": "string", "enum": names })
            }
        }
    };
}

named_enum!(AdvisoryCategory);
named_enum!(Tlp);
named_enum!(Severity);
named_enum!(AdvisoryStatus);
named_enum!(IndicatorKind);

/// What kind of team this is (`TeamKind` keeps its list of kinds private,
/// so the names are listed here and the OpenAPI test checks each parses).
#[derive(JsonSchema)]
#[schemars(rename_all = "snake_case")]
pub enum TeamKind {
    /// A national CSIRT.
    National,
    /// A government CSIRT.
    Governmental,
    /// A sector CSIRT.
    Sector,
    /// A research and education CSIRT.
    Academic,
    /// A commercial or in-house CSIRT.
    Commercial,
    /// A product security incident response team.
    Product,
    /// Any other kind of team.
    Other,
}

/// An advisory: the envelope and content every member reads.
#[derive(JsonSchema)]
pub struct Advisory {
    /// The tracking id; also the document's name, so it never changes.
    pub id: String,
    /// Title.
    pub title: String,
    /// Category.
    pub category: AdvisoryCategory,
    /// TLP label.
    pub tlp: Tlp,
    /// Who may receive it when the label is amber, amber_strict or red.
    pub audience: Vec<TeamId>,
    /// Teams the owner lets edit the advisory.
    pub co_authors: Vec<TeamId>,
    /// Severity.
    pub severity: Severity,
    /// Status.
    pub status: AdvisoryStatus,
    /// Revision history, oldest first.
    pub revisions: Vec<Revision>,
    /// CVE ids.
    pub cves: Vec<String>,
    /// Affected products.
    pub products: Vec<Product>,
    /// Indicators of compromise.
    pub indicators: Vec<Indicator>,
    /// A short summary.
    pub summary: String,
    /// The full text.
    pub body: String,
    /// References.
    pub references: Vec<Reference>,
    /// Acknowledgements, one line each.
    pub acknowledgements: Vec<String>,
}

/// One entry of an advisory's revision history.
#[derive(JsonSchema)]
pub struct Revision {
    /// Version number, such as "1" or "1.0.1".
    pub number: String,
    /// When (Unix seconds).
    pub date: u64,
    /// What changed.
    pub summary: String,
}

/// An affected product.
#[derive(JsonSchema)]
pub struct Product {
    /// Vendor.
    pub vendor: String,
    /// Product name.
    pub product: String,
    /// Affected versions or version ranges.
    pub versions: Vec<String>,
}

/// An indicator of compromise.
#[derive(JsonSchema)]
pub struct Indicator {
    /// What kind of value it is.
    pub kind: IndicatorKind,
    /// The value.
    pub value: String,
}

/// A reference.
#[derive(JsonSchema)]
pub struct Reference {
    /// Where.
    pub url: String,
    /// What it is.
    pub summary: String,
}

/// A team's directory entry (RFC 2350).
#[derive(JsonSchema)]
pub struct Contact {
    /// The team's full name.
    pub name: String,
    /// Its short name.
    pub short_name: String,
    /// ISO 3166-1 alpha-2 country code, upper case.
    pub country: String,
    /// What kind of team it is.
    pub kind: TeamKind,
    /// Whom it serves.
    pub constituency: String,
    /// Postal address, possibly several lines.
    pub postal_address: String,
    /// Time zone.
    pub time_zone: String,
    /// Hours of operation.
    pub business_hours: String,
    /// Main e-mail address.
    pub email: String,
    /// Main phone number.
    pub phone: String,
    /// Phone number for emergencies outside business hours.
    pub emergency_phone: String,
    /// Web site.
    pub website: String,
    /// PGP keys.
    pub pgp_keys: Vec<PgpKey>,
    /// Team representatives.
    pub representatives: Vec<Representative>,
}

/// A PGP key of a team.
#[derive(JsonSchema)]
pub struct PgpKey {
    /// The fingerprint: 40 or 64 hexadecimal digits.
    pub fingerprint: String,
    /// The ASCII-armored public key, if published here.
    pub armored: Option<String>,
}

/// A person who represents a team.
#[derive(JsonSchema)]
pub struct Representative {
    /// Full name.
    pub name: String,
    /// Role.
    pub role: String,
    /// E-mail address.
    pub email: String,
    /// Phone number.
    pub phone: String,
}

/// A tool a team offers.
#[derive(JsonSchema)]
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
    /// SHA-256 of the artifact (64 lowercase hex digits); required with a
    /// download URL.
    pub sha256: String,
    /// Its licence.
    pub license: String,
    /// Free tags.
    pub tags: Vec<String>,
    /// Who maintains it.
    pub maintainer: String,
}

/// How a team presents itself in its application or the charter.
#[derive(JsonSchema)]
pub struct Profile {
    /// The team's full name.
    pub name: String,
    /// Its short name.
    pub short_name: String,
    /// ISO 3166-1 alpha-2 country code, upper case.
    pub country: String,
    /// What kind of team it is.
    pub kind: TeamKind,
    /// Whom it serves.
    pub constituency: String,
    /// Its main e-mail address (may be empty).
    pub email: String,
    /// Its web site (may be empty).
    pub website: String,
}

/// The rules a charter sets for admitting and revoking members.
#[derive(JsonSchema)]
pub struct Policy {
    /// k: introductions from distinct members needed to admit a team.
    pub sponsors_required: u16,
    /// r: revocations from distinct members needed to revoke a team.
    pub revocation_quorum: u16,
}

/// The `format` of an introduction file.
#[derive(JsonSchema)]
pub enum IntroductionFormat {
    /// The only one.
    #[schemars(rename = "trustmesh/introduction/v1")]
    V1,
}

/// An introduction file (a `TrustFile`), to give the applicant.
#[derive(JsonSchema)]
pub struct IntroductionFile {
    /// The file's kind.
    pub format: IntroductionFormat,
    /// The network.
    pub network_id: NetworkId,
    /// The introduction's statement id.
    pub statement_id: StatementId,
    /// The sponsor.
    pub sponsor: TeamId,
    /// The applicant.
    pub applicant: TeamId,
    /// The application vouched for.
    pub application_id: StatementId,
    /// When (Unix seconds).
    pub created_at: u64,
    /// How the sponsor knows the applicant.
    pub note: String,
    /// The signed introduction (hex).
    pub signed: String,
    /// The application it vouches for.
    pub application: ApplicationFile,
}

/// The application inside an introduction file.
#[derive(JsonSchema)]
pub struct ApplicationFile {
    /// The network applied to.
    pub network_id: NetworkId,
    /// The application's statement id.
    pub statement_id: StatementId,
    /// The applicant's key.
    pub applicant: TeamId,
    /// When it applied (Unix seconds).
    pub created_at: u64,
    /// How it presents itself.
    pub profile: Profile,
    /// The signed statement (hex).
    pub signed: String,
}

/// The `format` of a revocation file.
#[derive(JsonSchema)]
pub enum RevocationFormat {
    /// The only one.
    #[schemars(rename = "trustmesh/revocation/v1")]
    V1,
}

/// A revocation file (a `TrustFile`).
#[derive(JsonSchema)]
pub struct RevocationFile {
    /// The file's kind.
    pub format: RevocationFormat,
    /// The network.
    pub network_id: NetworkId,
    /// The revocation's statement id.
    pub statement_id: StatementId,
    /// Who revokes.
    pub revoker: TeamId,
    /// Whose membership is revoked.
    pub revoked: TeamId,
    /// When (Unix seconds).
    pub created_at: u64,
    /// Why.
    pub reason: String,
    /// The revoked key's introductions that stay valid.
    pub kept_introductions: Vec<StatementId>,
    /// The heads of the revoked key's documents that stay valid.
    pub kept_heads: Vec<ChangeHash>,
    /// The signed statement (hex).
    pub signed: String,
}

/// A CSAF document as an advisory holds it: described by the OASIS CSAF
/// 2.0 and 2.1 schemas, not here (it keeps properties beyond them).
pub struct CsafTree;

impl JsonSchema for CsafTree {
    fn schema_name() -> Cow<'static, str> {
        "CsafTree".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": ["object", "null"],
            "additionalProperties": true,
            "description": "A CSAF 2.0 or 2.1 document, as held (see the OASIS CSAF schemas); null only in a hand-made body.",
        })
    }
}
