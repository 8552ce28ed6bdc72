//! `status`, `peers` and `web`: what the running node says of itself.

use anyhow::{Context, Result, anyhow};
use serde_json::json;

use super::Report;
use super::client::ApiClient;
use crate::DataDir;
use crate::api::segment;
use crate::api::{Peers, Status};

pub(super) fn peers(dir: &DataDir) -> Result<Report> {
    let r: Peers = ApiClient::require(dir)?.get("/peers")?;
    let mut human = format!(
        "{} connected; {} member address(es) known\n",
        r.peers.len(),
        r.known_addresses
    );
    for p in &r.peers {
        human += &format!(
            "  {} {:<10} {:>5}s {}\n",
            p.peer_id,
            if p.open {
                "member"
            } else if p.member {
                "member*"
            } else {
                "non-member"
            },
            p.connected_secs,
            p.address.as_deref().unwrap_or("(inbound)")
        );
    }
    Report::of(human, &r)
}

pub(super) fn status(dir: &DataDir) -> Result<Report> {
    let r: Status = ApiClient::require(dir)?.get("/status")?;
    let mut human = format!("{}\n", r.health.summary);
    let p = &r.progress;
    if p.changes + p.statements + p.documents > 0 {
        human.push_str(&format!(
            "  receiving: +{} changes, +{} statements, +{} documents in the last {} s\n",
            p.changes, p.statements, p.documents, p.window_secs
        ));
    }
    let a = &r.alerts;
    if a.rules > 0 {
        human.push_str(&format!(
            "  alerts: {} rules, {} delivered, {} failed attempts, {} pending\n",
            a.rules, a.delivered, a.failed, a.pending
        ));
    }
    human += &format!(
        "node {} in network \"{}\" ({})\n  {}; {} member(s); {} statement(s); {} document(s)\n  peers: {} connected, {} with member protocols; up {} s\n  listening: {}\n  sync: {} rounds, {} changes received, {} rejected\n",
        r.team_id.short(),
        r.network,
        r.network_id.short(),
        if r.member {
            "a member"
        } else {
            "NOT a member yet"
        },
        r.members,
        r.statements,
        r.documents,
        r.peers.connected,
        r.peers.members,
        r.uptime_secs,
        r.listen.join(" "),
        r.sync.rounds_finished,
        r.sync.changes_new,
        r.sync.rejected_total(),
    );
    Report::of(human, &r)
}

/// `trustmesh web`: the running node's web page, and a link that logs a
/// browser in with the API token (it sets an HttpOnly cookie and redirects).
pub(super) fn web(dir: &DataDir) -> Result<Report> {
    let api = ApiClient::require(dir)?;
    let status: Status = api.get("/status")?;
    let info = dir.node_info()?.ok_or_else(|| {
        anyhow!(
            "no node is running on {}: start it with `trustmesh run`",
            dir.path().display()
        )
    })?;
    let mut addr: std::net::SocketAddr = info
        .api
        .parse()
        .with_context(|| format!("the API address in {}", dir.node_info_path().display()))?;
    if addr.ip().is_unspecified() {
        // Bound to every interface: the browser on this host uses loopback.
        addr.set_ip(match addr {
            std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let token = dir.token()?;
    let base = format!("http://{addr}/");
    let login = format!("{base}login?token={}", segment(token.trim()));
    let human = format!(
        "The web page of team {} in network \"{}\":\n  {login}\nOpen it in a browser on this host; the link holds the API token, so keep it to yourself.\n",
        status.team_id.short(),
        status.network,
    );
    Ok(Report::new(
        human,
        json!({ "url": base, "login_url": login }),
    ))
}
