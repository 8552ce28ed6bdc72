//! Rendering: pure functions from the API's types to HTML. Every string
//! from a document goes through [`escape`]; only http(s) URLs become
//! links.

use std::fmt::Write as _;

use trustmesh_protocol::{AdvisoryCategory, Severity, TeamId, Tlp};

use super::WebFilter;
use crate::api::{Advisories, AdvisoryDetail, Contacts, Members, Peers, Status, Tools, segment};

pub(super) const LAYOUT: &str = include_str!("layout.html");

pub(super) const STYLE: &str = include_str!("style.css");

/// The pages, for the nav bar.
pub(super) const NAV: [(&str, &str); 5] = [
    ("/", "Advisories"),
    ("/contacts", "Contacts"),
    ("/tools", "Tools"),
    ("/members", "Members"),
    ("/peers", "Peers"),
];

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A link to `url` when it is an http(s) URL, else the escaped text, so a
/// document cannot plant a `javascript:` link.
pub(super) fn link(url: &str) -> String {
    let lower = url.trim_start().to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        format!(
            r#"<a href="{0}" rel="noopener noreferrer">{0}</a>"#,
            escape(url)
        )
    } else {
        escape(url)
    }
}

/// Fills `{{name}}` markers of `template` in one pass, so filled-in text is
/// never scanned for markers again.
pub(super) fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = &after[..end];
                match values.iter().find(|(k, _)| *k == name) {
                    Some((_, v)) => out.push_str(v),
                    None => out.push_str(&rest[start..start + 2 + end + 2]),
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// A whole page: the nav bar with `active` marked, the node line, `body`.
pub(super) fn layout(title: &str, active: &str, status: Option<&Status>, body: &str) -> String {
    let mut nav = String::new();
    for (href, label) in NAV {
        let class = if href == active {
            r#" class="active""#
        } else {
            ""
        };
        let _ = write!(nav, r#"<a href="{href}"{class}>{label}</a>"#);
    }
    nav.push_str(r#"<a href="/logout">Log out</a>"#);
    let node = match status {
        None => "node not answering".to_owned(),
        Some(status) => format!(
            "{} · team <span class=\"mono\">{}</span> · {} · {} peer(s)",
            escape(&status.network),
            escape(&status.team_id.short()),
            if status.member {
                "member"
            } else {
                "not a member yet"
            },
            status.peers.connected,
        ),
    };
    fill(
        LAYOUT,
        &[
            ("title", &escape(title)),
            ("style", STYLE),
            ("nav", &nav),
            ("node", &node),
            ("body", body),
        ],
    )
}

/// The login page, with `message` above the form.
pub fn login_html(message: Option<&str>) -> String {
    let mut body = String::new();
    if let Some(m) = message {
        let _ = write!(body, r#"<p class="error">{}</p>"#, escape(m));
    }
    body.push_str(
        r#"<form class="login" method="post" action="/login">
<p>This page needs the node's API token: run <code>trustmesh web</code> and open the address it prints, or paste the contents of <code>&lt;data-dir&gt;/api.token</code>.</p>
<label for="token">API token</label>
<input id="token" name="token" type="password" autocomplete="off" required>
<button type="submit">Log in</button>
</form>"#,
    );
    fill(
        LAYOUT,
        &[
            ("title", "Log in"),
            ("style", STYLE),
            ("nav", ""),
            ("node", ""),
            ("body", &body),
        ],
    )
}

/// A bare error page, for failures before there is a node to describe.
pub(super) fn error_html(status: u16, message: &str) -> String {
    layout(
        &format!("Error {status}"),
        "",
        None,
        &format!(r#"<p class="error">{}</p>"#, escape(message)),
    )
}

/// A team as its short name, with the id in a tooltip.
pub(super) fn team(members: &Members, id: &TeamId) -> String {
    format!(
        r#"<span title="{}">{}</span>"#,
        escape(&id.to_string()),
        escape(&members.short_name(id))
    )
}

pub(super) fn teams(members: &Members, ids: &[TeamId]) -> String {
    ids.iter()
        .map(|t| team(members, t))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn tlp_badge(tlp: Tlp) -> String {
    let label = match tlp {
        Tlp::AmberStrict => "AMBER+STRICT".to_owned(),
        t => t.name().to_ascii_uppercase(),
    };
    format!(
        r#"<span class="badge tlp tlp-{}">TLP:{}</span>"#,
        tlp.name(),
        escape(&label)
    )
}

pub(super) fn severity_badge(s: Severity) -> String {
    format!(r#"<span class="badge sev-{0}">{0}</span>"#, s.name())
}

pub(super) fn yes_no(b: bool) -> &'static str {
    if b {
        r#"<span class="badge yes">yes</span>"#
    } else {
        r#"<span class="badge no">no</span>"#
    }
}

/// Unix seconds as a UTC date and time.
pub fn date(secs: u64) -> String {
    let (y, m, d, h, mi, _) = crate::export::civil(secs);
    format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02} UTC")
}

pub(super) fn options(name: &str, label: &str, all: &[&str], selected: Option<&str>) -> String {
    let mut out = format!(r#"<label>{label}<select name="{name}"><option value="">any</option>"#);
    for v in all {
        let sel = if selected.is_some_and(|s| s.eq_ignore_ascii_case(v)) {
            " selected"
        } else {
            ""
        };
        let _ = write!(out, r#"<option value="{0}"{sel}>{0}</option>"#, escape(v));
    }
    out.push_str("</select></label>");
    out
}

/// The advisory list with its search form.
pub fn advisories_html(list: &Advisories, members: &Members, f: &WebFilter) -> String {
    let cats: Vec<&str> = AdvisoryCategory::ALL.iter().map(|c| c.name()).collect();
    let sevs: Vec<&str> = Severity::ALL.iter().map(|c| c.name()).collect();
    let tlps: Vec<&str> = Tlp::ALL.iter().map(|c| c.name()).collect();
    let names: Vec<String> = members
        .standings
        .iter()
        .map(|s| members.short_name(&s.team))
        .collect();
    let teams: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut out = String::from(r#"<form class="filters" method="get" action="/">"#);
    let _ = write!(
        out,
        r#"<label>Search<input type="search" name="q" value="{}" placeholder="id, title, CVE, text"></label>"#,
        escape(f.q.as_deref().unwrap_or(""))
    );
    out.push_str(&options(
        "category",
        "Category",
        &cats,
        f.category.as_deref(),
    ));
    out.push_str(&options(
        "severity",
        "Severity at least",
        &sevs,
        f.severity.as_deref(),
    ));
    out.push_str(&options("tlp", "TLP", &tlps, f.tlp.as_deref()));
    out.push_str(&options("team", "Team", &teams, f.team.as_deref()));
    out.push_str(r#"<button type="submit">Filter</button> <a href="/">Clear</a></form>"#);
    let items = &list.advisories;
    let _ = write!(
        out,
        r#"<p class="muted" id="count">{} advisor{}</p>"#,
        items.len(),
        if items.len() == 1 { "y" } else { "ies" }
    );
    if items.is_empty() {
        return out;
    }
    out.push_str(
        "<table id=\"advisories\"><thead><tr><th>Updated</th><th>Id</th><th>Title</th><th>Team</th>\
         <th>Category</th><th>TLP</th><th>Severity</th><th>Status</th><th>CVEs</th><th>Rev.</th></tr></thead><tbody>",
    );
    for a in items {
        let href = format!(
            "/advisories/{}/{}",
            segment(&a.owner.to_string()),
            segment(&a.id)
        );
        let cves: Vec<String> = a.cves.iter().map(|c| escape(c)).collect();
        let _ = write!(
            out,
            r#"<tr><td>{}</td><td class="mono nowrap">{}</td><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class="mono nowrap">{}</td><td>{}</td></tr>"#,
            match (a.updated.map(date), a.ahead_of_clock) {
                (Some(d), true) => format!(
                    r#"{d} <span class="badge no" title="dated ahead of this node's clock">future</span>"#
                ),
                (Some(d), false) => d,
                (None, _) => String::new(),
            },
            escape(&a.id),
            escape(&href),
            escape(&a.title),
            team(members, &a.owner),
            escape(&a.category),
            tlp_badge(a.tlp),
            a.severity.map(severity_badge).unwrap_or_default(),
            a.status.name(),
            cves.join("<br>"),
            escape(a.revision.as_deref().unwrap_or("")),
        );
    }
    out.push_str("</tbody></table>");
    out
}

/// The product tree as nested lists. Recursion follows the tree, whose
/// depth the node bounds.
fn branches_html(branches: &[trustmesh_protocol::BranchView], out: &mut String) {
    out.push_str("<ul>");
    for b in branches {
        let _ = write!(
            out,
            r#"<li><span class="muted">{}</span> {}"#,
            escape(&b.category),
            escape(&b.name)
        );
        if let Some(p) = &b.product {
            let _ = write!(out, r#" <code>{}</code>"#, escape(&p.id));
            for purl in &p.purls {
                let _ = write!(out, r#" <span class="mono muted">{}</span>"#, escape(purl));
            }
        }
        if !b.branches.is_empty() {
            branches_html(&b.branches, out);
        }
        out.push_str("</li>");
    }
    out.push_str("</ul>");
}

/// One advisory in full: what its CSAF document says (per vulnerability
/// its CVE, scores, CWE, products by status, remediations and threats; the
/// product tree to browse), its envelope, revision history and signers.
pub fn advisory_html(view: &AdvisoryDetail, members: &Members) -> String {
    let a = &view.summary;
    let env = &view.envelope;
    let meta = &view.meta;
    let csaf = trustmesh_protocol::Json::parse(view.csaf.to_string().as_bytes())
        .unwrap_or(trustmesh_protocol::Json::Null);
    let v = trustmesh_protocol::AdvisoryView::of(&csaf);
    let mut out = format!(
        r#"<p><strong id="title">{}</strong></p><table class="kv"><tbody>"#,
        escape(&a.title)
    );
    let row = |out: &mut String, k: &str, v: String| {
        let _ = write!(out, "<tr><th>{k}</th><td>{v}</td></tr>");
    };
    row(
        &mut out,
        "Id",
        format!(r#"<span class="mono">{}</span>"#, escape(&a.id)),
    );
    row(
        &mut out,
        if a.imported {
            "Forwarded by"
        } else {
            "Written by"
        },
        team(members, &view.owner),
    );
    let publisher = if v.publisher.namespace.is_empty() {
        escape(&v.publisher.name)
    } else {
        format!(
            "{} ({})",
            escape(&v.publisher.name),
            link(&v.publisher.namespace)
        )
    };
    row(&mut out, "Publisher", publisher);
    row(&mut out, "TLP", tlp_badge(a.tlp));
    let severity = match (&v.severity.text, v.severity.level) {
        (Some(t), Some(l)) => format!("{} {}", escape(t), severity_badge(l)),
        (Some(t), None) => escape(t),
        (None, Some(l)) => format!(
            "{} <span class=\"muted\">from CVSS</span>",
            severity_badge(l)
        ),
        (None, None) => r#"<span class="muted">not stated</span>"#.to_owned(),
    };
    row(&mut out, "Severity", severity);
    row(&mut out, "Category", escape(&a.category));
    row(&mut out, "Status", a.status.name().to_owned());
    row(
        &mut out,
        "CSAF",
        format!(
            "{} · tracking {} version {} ({})",
            escape(&v.csaf_version),
            escape(&v.tracking.id),
            escape(&v.tracking.version),
            escape(&v.tracking.status)
        ),
    );
    let cves: Vec<String> = a.cves.iter().map(|c| escape(c)).collect();
    row(
        &mut out,
        "CVEs",
        format!(r#"<span class="mono">{}</span>"#, cves.join(", ")),
    );
    row(&mut out, "Co-authors", teams(members, &env.co_authors));
    row(&mut out, "Audience", teams(members, &env.audience));
    if let Some(h) = &env.original_sha256 {
        row(
            &mut out,
            "Original",
            format!(
                "SHA-256 <code>{}</code>{}",
                escape(h),
                if env.original_signature.is_some() {
                    " · signed by its publisher (OpenPGP)"
                } else {
                    ""
                }
            ),
        );
    }
    out.push_str("</tbody></table>");
    if !a.complete {
        out.push_str(
            r#"<p class="muted">Still arriving: part of this document is not here yet.</p>"#,
        );
    }
    if a.tlp.is_restricted() {
        out.push_str(
            r#"<p class="muted" id="tlp-note">Only its audience receives this advisory. A label raised after publication cannot recall versions already shared more widely; a label lowered or an audience widened starts a new advisory.</p>"#,
        );
    }

    for n in &v.notes {
        let title = n.title.clone().unwrap_or_else(|| n.category.clone());
        let _ = write!(
            out,
            r#"<h2>{}</h2><div class="text">{}</div>"#,
            escape(&title),
            escape(&n.text)
        );
    }

    if !v.vulnerabilities.is_empty() {
        out.push_str(r#"<h2>Vulnerabilities</h2>"#);
    }
    for (k, vu) in v.vulnerabilities.iter().enumerate() {
        let _ = write!(
            out,
            r#"<h3 id="vulnerability-{k}"><span class="mono">{}</span> {}</h3>"#,
            escape(vu.cve.as_deref().unwrap_or("(no CVE id)")),
            escape(vu.title.as_deref().unwrap_or(""))
        );
        out.push_str(r#"<table class="kv"><tbody>"#);
        for sc in &vu.scores {
            row(
                &mut out,
                &escape(&sc.kind),
                format!(
                    "{} <span class=\"mono\">{}</span>",
                    sc.base_score.map(|b| b.to_string()).unwrap_or_default(),
                    escape(sc.vector.as_deref().unwrap_or(""))
                ),
            );
        }
        for c in &vu.cwes {
            row(
                &mut out,
                "CWE",
                format!("{} {}", escape(&c.id), escape(&c.name)),
            );
        }
        for g in [
            trustmesh_protocol::StatusGroup::Affected,
            trustmesh_protocol::StatusGroup::Fixed,
            trustmesh_protocol::StatusGroup::NotAffected,
            trustmesh_protocol::StatusGroup::UnderInvestigation,
            trustmesh_protocol::StatusGroup::Recommended,
            trustmesh_protocol::StatusGroup::Other,
        ] {
            let list = vu.products(g);
            if !list.is_empty() {
                let names: Vec<String> = list.iter().map(|p| escape(&p.name)).collect();
                row(&mut out, g.name(), names.join("<br>"));
            }
        }
        for m in &vu.remediations {
            row(
                &mut out,
                &format!("Remedy ({})", escape(&m.category)),
                format!(
                    "{}{}",
                    escape(&m.details),
                    m.url
                        .as_deref()
                        .map(|u| format!(" {}", link(u)))
                        .unwrap_or_default()
                ),
            );
        }
        for t in &vu.threats {
            row(
                &mut out,
                &format!("Threat ({})", escape(&t.category)),
                escape(&t.details),
            );
        }
        out.push_str("</tbody></table>");
    }

    let tree = &v.product_tree;
    if tree.product_count() > 0 {
        let _ = write!(
            out,
            r#"<details id="product-tree"><summary>Product tree ({} products)</summary>"#,
            tree.product_count()
        );
        branches_html(&tree.branches, &mut out);
        if !tree.full_product_names.is_empty() {
            out.push_str("<ul>");
            for p in &tree.full_product_names {
                let _ = write!(
                    out,
                    "<li>{} <code>{}</code></li>",
                    escape(&p.name),
                    escape(&p.id)
                );
            }
            out.push_str("</ul>");
        }
        out.push_str("</details>");
    }

    if !env.indicators.is_empty() {
        out.push_str(r#"<h2>Indicators of compromise</h2><table id="indicators"><thead><tr><th>Kind</th><th>Value</th></tr></thead><tbody>"#);
        for i in &env.indicators {
            let _ = write!(
                out,
                r#"<tr><td>{}</td><td class="mono">{}</td></tr>"#,
                i.kind.name(),
                escape(&i.value)
            );
        }
        out.push_str("</tbody></table>");
    }

    if !v.references.is_empty() {
        out.push_str("<h2>References</h2><ul>");
        for r in &v.references {
            let _ = write!(out, "<li>{} {}</li>", link(&r.url), escape(&r.summary));
        }
        out.push_str("</ul>");
    }

    if !v.acknowledgments.is_empty() {
        out.push_str("<h2>Acknowledgements</h2><ul>");
        for k in &v.acknowledgments {
            let mut who = k.names.join(", ");
            if let Some(o) = &k.organization {
                if !who.is_empty() {
                    who += ", ";
                }
                who += o;
            }
            if let Some(s) = &k.summary {
                if !who.is_empty() {
                    who += ": ";
                }
                who += s;
            }
            let _ = write!(out, "<li>{}</li>", escape(&who));
        }
        out.push_str("</ul>");
    }

    out.push_str(r#"<h2>Revision history</h2><table id="revisions"><thead><tr><th>Revision</th><th>Date</th><th>Summary</th></tr></thead><tbody>"#);
    for r in &v.tracking.revisions {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&r.number),
            trustmesh_protocol::parse_rfc3339(&r.date)
                .map(date)
                .unwrap_or_else(|| escape(&r.date)),
            escape(&r.summary)
        );
    }
    out.push_str("</tbody></table>");

    let heads: Vec<String> = meta
        .heads
        .iter()
        .map(|h| format!("<code>{h}</code>"))
        .collect();
    let _ = write!(
        out,
        r#"<h2>Signatures</h2><table class="kv" id="signatures"><tbody><tr><th>Signed by</th><td id="signed-by">{}</td></tr><tr><th>Changes applied</th><td>{}</td></tr><tr><th>Changes held back</th><td>{}</td></tr><tr><th>Heads</th><td>{}</td></tr><tr><th>Document</th><td><code>{}</code></td></tr></tbody></table>"#,
        teams(members, &meta.signed_by),
        meta.changes_applied,
        meta.changes_held,
        heads.join("<br>"),
        meta.doc,
    );
    out
}

/// The contacts directory.
pub fn contacts_html(v: &Contacts) -> String {
    if v.contacts.is_empty() {
        return r#"<p class="muted">No team has published a contact entry yet.</p>"#.to_owned();
    }
    let mut out = String::from(
        "<table id=\"contacts\"><thead><tr><th>Team</th><th>Country</th><th>Kind</th><th>Constituency</th>\
         <th>E-mail</th><th>Phone</th><th>Emergency</th><th>Web</th><th>Hours</th><th>PGP</th><th>Representatives</th><th>Member</th></tr></thead><tbody>",
    );
    for item in &v.contacts {
        let c = &item.contact;
        let pgp: Vec<String> = c
            .pgp_keys
            .iter()
            .map(|k| format!("<code>{}</code>", escape(&k.fingerprint)))
            .collect();
        let reps: Vec<String> = c
            .representatives
            .iter()
            .map(|r| {
                let mut s = escape(&r.name);
                if !r.role.is_empty() {
                    let _ = write!(s, " ({})", escape(&r.role));
                }
                s
            })
            .collect();
        let _ = write!(
            out,
            r#"<tr><td><strong>{}</strong><br>{}<br><span class="mono muted">{}</span></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            escape(&c.short_name),
            escape(&c.name),
            item.team.short(),
            escape(&c.country),
            c.kind.name(),
            escape(&c.constituency),
            if c.email.is_empty() {
                String::new()
            } else {
                format!(r#"<a href="mailto:{0}">{0}</a>"#, escape(&c.email))
            },
            escape(&c.phone),
            escape(&c.emergency_phone),
            link(&c.website),
            escape(
                &[c.business_hours.as_str(), c.time_zone.as_str()]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            pgp.join("<br>"),
            reps.join("<br>"),
            yes_no(item.member),
        );
    }
    out.push_str("</tbody></table>");
    out
}

/// The tool registries.
pub fn tools_html(v: &Tools) -> String {
    if v.tools.is_empty() {
        return r#"<p class="muted">No team has registered a tool yet.</p>"#.to_owned();
    }
    let mut out = String::from(
        "<table id=\"tools\"><thead><tr><th>Tool</th><th>Version</th><th>Team</th><th>Description</th>\
         <th>Licence</th><th>Tags</th><th>Home page</th><th>Download</th><th>Maintainer</th></tr></thead><tbody>",
    );
    for item in &v.tools {
        let t = &item.tool;
        let tags: Vec<String> = t.tags.iter().map(|g| escape(g)).collect();
        let _ = write!(
            out,
            r#"<tr><td><strong>{}</strong></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td></tr>"#,
            escape(&t.name),
            escape(&t.version),
            escape(&item.team_name),
            escape(&t.description),
            escape(&t.license),
            tags.join(", "),
            link(&t.homepage),
            link(&t.download_url),
            if t.sha256.is_empty() {
                String::new()
            } else {
                format!(
                    r#"<br><span class="mono muted">sha256 {}</span>"#,
                    escape(&t.sha256)
                )
            },
            escape(&t.maintainer),
        );
    }
    out.push_str("</tbody></table>");
    out
}

/// The members and every team the node knows, with why.
pub fn members_html(v: &Members) -> String {
    let mut out = format!(
        r#"<p>Network <strong>{}</strong> <span class="mono muted">{}</span>: a team is admitted with {} sponsor introduction(s) and revoked by {} member(s).</p>"#,
        escape(&v.network),
        v.network_id.short(),
        v.sponsors_required,
        v.revocation_quorum,
    );
    out.push_str(
        "<table id=\"members\"><thead><tr><th>Team</th><th>Name</th><th>Country</th><th>Status</th>\
         <th>Why</th><th>Sponsors</th><th>Id</th></tr></thead><tbody>",
    );
    for s in &v.standings {
        let status = s.status.name();
        let _ = write!(
            out,
            r#"<tr><td><strong>{}</strong></td><td>{}</td><td>{}</td><td><span class="badge st-{status}">{status}</span></td><td class="reason">{}</td><td>{}</td><td class="mono">{}</td></tr>"#,
            escape(s.short_name.as_deref().unwrap_or("")),
            escape(s.name.as_deref().unwrap_or("")),
            escape(s.country.as_deref().unwrap_or("")),
            escape(&s.reason),
            teams(v, &s.sponsors),
            s.team,
        );
    }
    out.push_str("</tbody></table>");
    out
}

/// Counters as rows, nested maps (such as rejections by reason) flattened.
/// Renders any of the API's counter structs generically, so a counter
/// added to one shows up here.
pub(super) fn counters(out: &mut String, prefix: &str, v: &serde_json::Value) {
    if let Some(map) = v.as_object() {
        for (k, v) in map {
            let name = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            if v.is_object() {
                counters(out, &name, v);
            } else {
                let _ = write!(
                    out,
                    "<tr><th>{}</th><td>{}</td></tr>",
                    escape(&name.replace('_', " ")),
                    escape(&v.to_string())
                );
            }
        }
    }
}

/// Connected peers, the node's state and its sync counters.
pub fn peers_html(status: &Status, peers: &Peers, members: &Members) -> String {
    let listen: Vec<String> = status
        .listen
        .iter()
        .map(|a| format!("<code>{}</code>", escape(a)))
        .collect();
    let mut out = String::from(r#"<h2>This node</h2><table class="kv" id="node"><tbody>"#);
    let _ = write!(
        out,
        "<tr><th>Team</th><td><code>{}</code></td></tr><tr><th>PeerId</th><td><code>{}</code></td></tr>\
         <tr><th>Listening</th><td>{}</td></tr><tr><th>Member</th><td>{}</td></tr>\
         <tr><th>Members</th><td>{}</td></tr><tr><th>Statements</th><td>{}</td></tr>\
         <tr><th>Documents</th><td>{}</td></tr><tr><th>Digest</th><td><code>{}</code></td></tr>\
         <tr><th>Up</th><td>{} s</td></tr>",
        status.team_id,
        escape(&status.peer_id),
        listen.join("<br>"),
        yes_no(status.member),
        status.members,
        status.statements,
        status.documents,
        escape(&status.digest),
        status.uptime_secs,
    );
    out.push_str("</tbody></table>");

    let _ = write!(
        out,
        r#"<h2>Peers</h2><p class="muted">{} connected; {} member address(es) known.</p>"#,
        peers.peers.len(),
        peers.known_addresses
    );
    if !peers.peers.is_empty() {
        out.push_str(
            "<table id=\"peers\"><thead><tr><th>Team</th><th>PeerId</th><th>Member</th><th>Syncing</th>\
             <th>Address</th><th>Agent</th><th>Connected</th></tr></thead><tbody>",
        );
        for p in &peers.peers {
            let _ = write!(
                out,
                r#"<tr><td>{}</td><td class="mono">{}</td><td>{}</td><td>{}</td><td class="mono">{}</td><td>{}</td><td>{} s</td></tr>"#,
                p.team.map_or_else(|| "?".to_owned(), |t| team(members, &t)),
                escape(&p.peer_id),
                yes_no(p.member),
                yes_no(p.open),
                escape(p.address.as_deref().unwrap_or("(inbound)")),
                escape(p.agent.as_deref().unwrap_or("")),
                p.connected_secs,
            );
        }
        out.push_str("</tbody></table>");
    }

    let r = &status.reachability;
    let _ = write!(
        out,
        r#"<h2>Members</h2><p class="muted" id="reachability">{} of {} other member(s) reachable.</p>"#,
        r.reachable,
        r.reachable + r.unreachable
    );
    if r.restricted_without_path > 0 {
        let _ = write!(
            out,
            r#"<p class="muted" id="restricted-waiting">{} restricted document(s) wait for an unreachable audience member: AMBER and RED travel only point to point, over a direct connection or a member's relay (which carries them encrypted end to end), never stored by another member.</p>"#,
            r.restricted_without_path
        );
    }
    let relaying = &r.relaying;
    let relays: Vec<String> = relaying.relays.iter().map(|t| team(members, t)).collect();
    let _ = write!(
        out,
        r#"<p class="muted" id="relaying">This node is reachable: {} ({}). Relay reservations: {}. Relaying for members: {}, {} circuit(s) now.</p>"#,
        match relaying.nat {
            crate::api::Nat::Public => "yes",
            crate::api::Nat::Private => "no",
            crate::api::Nat::Unknown => "not known yet",
        },
        escape(&relaying.nat_from),
        if relays.is_empty() {
            "none".to_owned()
        } else {
            relays.join(", ")
        },
        if relaying.server { "yes" } else { "no" },
        relaying.circuits,
    );
    if !r.members.is_empty() {
        out.push_str(
            "<table id=\"reach\"><thead><tr><th>Team</th><th>Reachable</th><th>For</th>\
             <th>Last sync</th><th>Round trip</th><th>Restricted for it</th><th>Path</th></tr></thead><tbody>",
        );
        for m in &r.members {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{} s</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                team(members, &m.team),
                yes_no(m.reachable),
                m.for_secs,
                m.last_sync_secs
                    .map_or_else(|| "never".to_owned(), |s| format!("{s} s ago")),
                m.rtt_ms.map_or_else(String::new, |ms| format!("{ms} ms")),
                match (m.restricted, m.reachable) {
                    (0, _) => String::new(),
                    (n, true) => n.to_string(),
                    (n, false) => format!(
                        r#"<span class="badge no" title="restricted documents travel only point to point">{n} waiting</span>"#
                    ),
                },
                match m.path {
                    Some(crate::api::Route::Direct) => "direct",
                    Some(crate::api::Route::Relayed) => "relayed",
                    None => "",
                },
            );
        }
        out.push_str("</tbody></table>");
    }

    out.push_str(r#"<h2>Sync</h2><table class="kv" id="sync"><tbody>"#);
    counters(
        &mut out,
        "",
        &serde_json::to_value(&status.sync).unwrap_or_default(),
    );
    out.push_str("</tbody></table>");
    out.push_str(r#"<h2>Network</h2><table class="kv" id="net"><tbody>"#);
    counters(
        &mut out,
        "",
        &serde_json::to_value(&status.net).unwrap_or_default(),
    );
    out.push_str("</tbody></table>");
    out
}
