//! The limits an advisory document is held to, sized for real CSAF
//! documents (Red Hat's largest advisories list tens of thousands of
//! products; CISA's ICS advisories hundreds of vulnerabilities), and the
//! memory a node spends on one document.
//!
//! Every limit is named in the error that reports it, so a publisher whose
//! document is refused learns which bound it crossed.
//!
//! Memory, measured in release builds on generated documents: a replica
//! holding a 10 MiB advisory (10,000 products, 20 changes) takes about
//! 30 MiB more resident memory, one holding 15.7 MiB (20,000 products, 29
//! changes) about 45 MiB: the signed changes plus the Automerge document.
//! Importing peaks at about 15 times the document's size (its text, the
//! parsed tree, a working copy of the Automerge document, the changes).
//! So [`Limit::JsonBytes`] bounds what one advisory costs a node.
//! [`Limit::Values`] bounds the number of Automerge operations
//! independently of the text size: a document of small values costs more
//! per byte than one of long notes.

use std::fmt;

/// A bound on an imported or stored CSAF document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Limit {
    /// Bytes of JSON text.
    JsonBytes,
    /// Nesting of objects and arrays.
    Depth,
    /// JSON values (objects, arrays and scalars together).
    Values,
    /// Bytes of one string value.
    StringBytes,
    /// Bytes of one object key.
    KeyBytes,
    /// Characters of one number.
    NumberChars,
    /// Products (`full_product_name` objects anywhere in the product tree).
    Products,
    /// Entries of `vulnerabilities`.
    Vulnerabilities,
    /// Bytes of a detached OpenPGP signature.
    SignatureBytes,
}

impl Limit {
    /// Every limit.
    pub const ALL: &'static [Limit] = &[
        Limit::JsonBytes,
        Limit::Depth,
        Limit::Values,
        Limit::StringBytes,
        Limit::KeyBytes,
        Limit::NumberChars,
        Limit::Products,
        Limit::Vulnerabilities,
        Limit::SignatureBytes,
    ];

    /// The largest value allowed.
    pub const fn bound(self) -> usize {
        match self {
            // The issue asks for at least 16 MiB; the largest public CSAF
            // documents are a few MiB.
            Limit::JsonBytes => 16 << 20,
            // The deepest corpus document nests 10 levels (four branch
            // levels of a product tree); 64 leaves room for deep trees and
            // bounds every recursive walk over a document.
            Limit::Depth => 64,
            // About one value per 16 bytes of a 16 MiB document.
            Limit::Values => 1_000_000,
            // Half a change: one string is one Automerge operation, and a
            // change must stay under `MAX_CHANGE_BYTES`.
            Limit::StringBytes => 512 << 10,
            Limit::KeyBytes => 1 << 10,
            Limit::NumberChars => 256,
            Limit::Products => 50_000,
            Limit::Vulnerabilities => 10_000,
            Limit::SignatureBytes => 64 << 10,
        }
    }

    /// What the limit counts, in words.
    pub const fn what(self) -> &'static str {
        match self {
            Limit::JsonBytes => "bytes of JSON",
            Limit::Depth => "levels of nesting",
            Limit::Values => "JSON values",
            Limit::StringBytes => "bytes in one string",
            Limit::KeyBytes => "bytes in one object key",
            Limit::NumberChars => "characters in one number",
            Limit::Products => "products",
            Limit::Vulnerabilities => "vulnerabilities",
            Limit::SignatureBytes => "bytes of OpenPGP signature",
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.bound(), self.what())
    }
}
