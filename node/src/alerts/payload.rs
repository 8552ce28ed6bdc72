//! What an alert says, per format, and the signature over it. Pure: the
//! same candidate, rule and link base give the same bytes.
//!
//! - `raw`: the alert JSON ([`Candidate::payload`]), as command rules get it.
//! - `slack`: `{"text": ...}` with Slack's mrkdwn (`*bold*`, `<url|label>`,
//!   `&`, `<` and `>` escaped).
//! - `mattermost`: `{"text": ...}` with Markdown (`**bold**`, `[label](url)`).
//! - `teams`: a `message` with one Adaptive Card attachment (version 1.4),
//!   what Teams incoming webhooks and Workflows ("when a Teams webhook
//!   request is received") take.
//!
//! The readable line is the same in each: severity, TLP label, advisory id
//! and title, owner team, and a link to the advisory on the node's web
//! page when `web_url` is configured.

use hmac::{Hmac, Mac};
use serde_json::{Value, json};

use super::Candidate;
use crate::api::segment;

/// The signature header's name.
pub const SIGNATURE_HEADER: &str = "X-Trustmesh-Signature";

/// A header naming the delivery (document and version), the same on every
/// retry: receivers drop repeats by it (delivery is at least once).
pub const DELIVERY_HEADER: &str = "X-Trustmesh-Delivery";

/// A webhook's payload format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// The alert JSON.
    #[default]
    Raw,
    /// Slack incoming webhook.
    Slack,
    /// Mattermost incoming webhook.
    Mattermost,
    /// Microsoft Teams (incoming webhook or Workflows), an Adaptive Card.
    Teams,
}

impl Format {
    /// Parses a format name as written in `config.toml`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "raw" | "json" => Self::Raw,
            "slack" => Self::Slack,
            "mattermost" => Self::Mattermost,
            "teams" => Self::Teams,
            _ => return None,
        })
    }
}

/// The facts of the readable line, each as plain text.
struct Line<'a> {
    severity: String,
    tlp: String,
    id: &'a str,
    title: &'a str,
    owner: &'a str,
    link: Option<String>,
}

impl<'a> Line<'a> {
    fn of(c: &'a Candidate, web_url: Option<&str>) -> Self {
        let a = &c.advisory;
        let severity = match (a.severity, a.severity_text.as_deref()) {
            (Some(s), _) => s.name().to_ascii_uppercase(),
            (None, Some(t)) if !t.trim().is_empty() => t.trim().to_owned(),
            _ => "NO SEVERITY".to_owned(),
        };
        let owner = c
            .owner_name
            .as_deref()
            .filter(|n| !n.is_empty())
            .unwrap_or(a.owner_name.as_str());
        Self {
            severity,
            tlp: format!("TLP:{}", a.tlp.label()),
            id: &a.id,
            title: &a.title,
            owner,
            link: web_url.map(|base| advisory_link(base, c)),
        }
    }

    fn plain(&self) -> String {
        format!(
            "[{}] {} {}: {} (from {})",
            self.severity, self.tlp, self.id, self.title, self.owner
        )
    }
}

/// The advisory's page on the node's web page at `base`.
pub fn advisory_link(base: &str, c: &Candidate) -> String {
    format!(
        "{}/advisories/{}/{}",
        base.trim_end_matches('/'),
        segment(&c.owner.to_string()),
        segment(&c.advisory.id)
    )
}

/// The one-line summary mail subjects and logs use.
pub fn summary(c: &Candidate) -> String {
    Line::of(c, None).plain()
}

/// The body a webhook rule POSTs.
pub fn render(format: Format, rule: &str, c: &Candidate, web_url: Option<&str>) -> Vec<u8> {
    let value = match format {
        Format::Raw => c.payload(rule),
        Format::Slack => json!({ "text": slack_text(&Line::of(c, web_url)) }),
        Format::Mattermost => json!({ "text": mattermost_text(&Line::of(c, web_url)) }),
        Format::Teams => teams_card(rule, c, &Line::of(c, web_url)),
    };
    value.to_string().into_bytes()
}

fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn slack_text(l: &Line<'_>) -> String {
    let id = match &l.link {
        // A `|` or `>` in the URL would end the link; segments are
        // percent-encoded, so only a configured base could hold one.
        Some(url) => format!("<{}|{}>", slack_escape(url), slack_escape(l.id)),
        None => slack_escape(l.id),
    };
    format!(
        "*[{}] {}* {}: {} (from {})",
        slack_escape(&l.severity),
        slack_escape(&l.tlp),
        id,
        slack_escape(l.title),
        slack_escape(l.owner)
    )
}

/// Backslash-escapes what Markdown would read as formatting inside a line
/// (the line starts with `**`, so block markers such as `#` or `-` are
/// plain text; `(` is a link only after `]`, which is escaped).
fn markdown_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if "\\`*_[]|<>~".contains(ch) {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

fn mattermost_text(l: &Line<'_>) -> String {
    let id = match &l.link {
        Some(url) => format!("[{}]({})", markdown_escape(l.id), url.replace(')', "%29")),
        None => markdown_escape(l.id),
    };
    format!(
        "**\\[{}\\] {}** {}: {} (from {})",
        markdown_escape(&l.severity),
        markdown_escape(&l.tlp),
        id,
        markdown_escape(l.title),
        markdown_escape(l.owner)
    )
}

fn teams_card(rule: &str, c: &Candidate, l: &Line<'_>) -> Value {
    let a = &c.advisory;
    let color = match a.severity {
        Some(trustmesh_protocol::Severity::Critical | trustmesh_protocol::Severity::High) => {
            "Attention"
        }
        Some(trustmesh_protocol::Severity::Medium) => "Warning",
        _ => "Default",
    };
    let mut facts = vec![
        json!({ "title": "Severity", "value": l.severity }),
        json!({ "title": "TLP", "value": l.tlp }),
        json!({ "title": "Team", "value": l.owner }),
        json!({ "title": "Category", "value": a.category }),
    ];
    if !a.cves.is_empty() {
        facts.push(json!({ "title": "CVE", "value": a.cves.join(", ") }));
    }
    if let Some(r) = &a.revision {
        facts.push(json!({ "title": "Revision", "value": r }));
    }
    facts.push(json!({ "title": "Rule", "value": rule }));
    let mut card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": format!("[{}] {} {}", l.severity, l.tlp, l.id),
                "weight": "Bolder",
                "size": "Medium",
                "color": color,
                "wrap": true
            },
            { "type": "TextBlock", "text": l.title, "wrap": true },
            { "type": "FactSet", "facts": facts }
        ]
    });
    if let Some(url) = &l.link {
        card["actions"] = json!([
            { "type": "Action.OpenUrl", "title": "Open in trustmesh", "url": url }
        ]);
    }
    json!({
        "type": "message",
        "summary": l.plain(),
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": card
            }
        ]
    })
}

/// The mail body: the readable line, the link, and the alert JSON.
pub fn mail_body(rule: &str, c: &Candidate, web_url: Option<&str>) -> String {
    let l = Line::of(c, web_url);
    let mut out = format!("{}\n\n", l.plain());
    out.push_str(&format!("Severity: {}\nTLP: {}\n", l.severity, l.tlp));
    out.push_str(&format!(
        "Team: {}\nCategory: {}\n",
        l.owner, c.advisory.category
    ));
    if !c.advisory.cves.is_empty() {
        out.push_str(&format!("CVE: {}\n", c.advisory.cves.join(", ")));
    }
    if let Some(link) = &l.link {
        out.push_str(&format!("Link: {link}\n"));
    }
    out.push_str(&format!("Rule: {rule}\n\nThe alert as JSON:\n"));
    let json = serde_json::to_string_pretty(&c.payload(rule)).unwrap_or_default();
    out.push_str(&json);
    out.push('\n');
    out
}

/// `sha256=<hex>`: HMAC-SHA256 of `body` under `secret`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let mut mac =
        <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The delivery header's value: document id and version.
pub fn delivery_id(c: &Candidate) -> String {
    format!("{}.{}", c.doc, c.version)
}

#[cfg(test)]
mod tests;
