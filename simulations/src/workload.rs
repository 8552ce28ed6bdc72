//! The content the simulated teams publish: advisories and contact
//! entries of realistic size, varied by a counter.

use trustmesh_protocol::{
    Advisory, AdvisoryCategory, AdvisoryStatus, Contact, Indicator, IndicatorKind, Product,
    Reference, Revision, Severity, TeamId, TeamKind, Tlp,
};

/// Advisory number `n`, with the given TLP and audience.
pub fn advisory(n: u64, tlp: Tlp, audience: &[TeamId]) -> Advisory {
    let mut audience = audience.to_vec();
    audience.sort();
    audience.dedup();
    Advisory {
        id: format!("SIM-{n:06}"),
        title: format!("Exploitation of appliance family {}", n % 97),
        category: AdvisoryCategory::Alert,
        tlp,
        audience,
        co_authors: vec![],
        severity: Severity::High,
        status: AdvisoryStatus::Final,
        revisions: vec![revision(1)],
        cves: vec![format!("CVE-2025-{:04}", 1000 + n % 9000)],
        products: vec![Product {
            vendor: "Example Networks".to_owned(),
            product: format!("Gate {}", n % 13),
            versions: vec!["< 10.2.9".to_owned()],
        }],
        indicators: vec![
            Indicator {
                kind: IndicatorKind::Ipv4,
                value: format!("192.0.2.{}", n % 250),
            },
            Indicator {
                kind: IndicatorKind::Sha256,
                value: format!("{:064x}", n),
            },
        ],
        summary: "Active exploitation observed; patch and hunt.".to_owned(),
        body: "Patch now.\nThen hunt for the indicators below.\n".repeat(4),
        references: vec![Reference {
            url: format!("https://example.org/advisories/{n}"),
            summary: "vendor advisory".to_owned(),
        }],
        acknowledgements: vec![],
    }
}

/// Revision `number` of an advisory.
pub fn revision(number: u32) -> Revision {
    Revision {
        number: number.to_string(),
        date: 1_700_000_000 + u64::from(number),
        summary: if number == 1 {
            "initial release".to_owned()
        } else {
            "indicators updated".to_owned()
        },
    }
}

/// A contact entry for team `n`, edit `edit`.
pub fn contact(n: usize, edit: u64) -> Contact {
    Contact {
        name: format!("Simulated CSIRT {n}"),
        short_name: format!("SIM{n}"),
        country: "NL".to_owned(),
        kind: TeamKind::National,
        constituency: "the national government".to_owned(),
        postal_address: String::new(),
        time_zone: "Europe/Amsterdam".to_owned(),
        business_hours: "Mon-Fri 09:00-17:00".to_owned(),
        email: format!("cert{n}@example.org"),
        phone: format!("+31 70 000 {edit:04}"),
        emergency_phone: String::new(),
        website: "https://example.org".to_owned(),
        pgp_keys: vec![],
        representatives: vec![],
    }
}
