//! Prometheus metrics: the text exposition format (version 0.0.4), written
//! by hand, and the one histogram the engine keeps.
//!
//! `GET /metrics` on the API listener renders [`render`] on the engine, so
//! every value comes from one consistent state. The writer is small on
//! purpose: counters, gauges, labelled counters and histograms are all the
//! node needs, and a client library would bring far more.

use std::fmt::Write as _;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::Shared;
use super::auth;
use super::views::ApiError;
use crate::engine::{Histogram, Snapshot};

/// The content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `/metrics` (the path Prometheus scrapes by default), behind the API
/// token.
pub(super) fn router(state: Shared) -> Router {
    Router::new()
        .route("/metrics", get(metrics_text))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .with_state(state)
}

/// Prometheus metrics in the text exposition format.
async fn metrics_text(State(s): State<Shared>) -> Response {
    match s.client.call(|e| e.snapshot()).await {
        Ok(snapshot) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], render(&snapshot)).into_response(),
        Err(e) => ApiError {
            status: 503,
            message: e.to_string(),
        }
        .into_response(),
    }
}

/// A text exposition being written.
#[derive(Debug, Default)]
pub struct Text {
    out: String,
}

/// Escapes a label value (backslash, double quote, line feed).
fn escape_label(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

/// Escapes HELP text (backslash, line feed).
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

/// Formats a float as Prometheus reads it.
fn float(v: f64) -> String {
    if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        format!("{v}")
    }
}

impl Text {
    fn header(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    /// A counter (`name` should end in `_total`).
    pub fn counter(&mut self, name: &str, help: &str, v: u64) {
        self.header(name, "counter", help);
        let _ = writeln!(self.out, "{name} {v}");
    }

    /// A gauge.
    pub fn gauge(&mut self, name: &str, help: &str, v: u64) {
        self.header(name, "gauge", help);
        let _ = writeln!(self.out, "{name} {v}");
    }

    /// A counter with one label; an empty `values` still declares the metric.
    pub fn labelled<'a>(
        &mut self,
        name: &str,
        help: &str,
        label: &str,
        values: impl IntoIterator<Item = (&'a str, u64)>,
    ) {
        self.header(name, "counter", help);
        for (l, v) in values {
            let _ = writeln!(self.out, "{name}{{{label}=\"{}\"}} {v}", escape_label(l));
        }
    }

    /// A histogram.
    pub fn histogram(&mut self, name: &str, help: &str, h: &Histogram) {
        self.header(name, "histogram", help);
        let mut cumulative = 0;
        for (b, c) in h.buckets() {
            cumulative += c;
            let _ = writeln!(
                self.out,
                "{name}_bucket{{le=\"{}\"}} {cumulative}",
                float(b)
            );
        }
        let _ = writeln!(self.out, "{name}_bucket{{le=\"+Inf\"}} {}", h.count());
        let _ = writeln!(self.out, "{name}_sum {}", float(h.sum()));
        let _ = writeln!(self.out, "{name}_count {}", h.count());
    }

    /// The finished text.
    pub fn finish(self) -> String {
        self.out
    }
}

/// Every metric of a running node.
pub fn render(snap: &Snapshot) -> String {
    let s = &snap.core;
    let n = &snap.net;
    let peers = &snap.peers;
    let mut t = Text::default();
    t.gauge(
        "trustmesh_peers_connected",
        "Connected peers.",
        peers.len() as u64,
    );
    t.gauge(
        "trustmesh_peers_members",
        "Connected peers the member protocols run with.",
        peers.iter().filter(|p| p.open).count() as u64,
    );
    t.gauge(
        "trustmesh_members",
        "Members in this node's view.",
        snap.members as u64,
    );
    t.gauge(
        "trustmesh_members_reachable",
        "Other members the member protocols run with now.",
        snap.reachability.reachable as u64,
    );
    t.gauge(
        "trustmesh_members_unreachable",
        "Other members with no working connection now.",
        snap.reachability.unreachable as u64,
    );
    t.gauge(
        "trustmesh_restricted_without_path",
        "Restricted documents waiting for an unreachable audience member (one per document and member): they travel only point to point, directly or through a relay.",
        snap.reachability.restricted_without_path as u64,
    );
    let relaying = &snap.reachability.relaying;
    t.gauge(
        "trustmesh_reachable",
        "1 when other members can dial this node (AutoNAT or config), else 0 (they cannot, or it is not known yet).",
        u64::from(relaying.nat == crate::api::Nat::Public),
    );
    t.gauge(
        "trustmesh_relay_reservations",
        "Members' relays holding a reservation for this node.",
        relaying.relays.len() as u64,
    );
    t.gauge(
        "trustmesh_members_relayed",
        "Other members reached only through a relay now.",
        relaying.relayed_members as u64,
    );
    t.gauge(
        "trustmesh_relay_serving",
        "1 when this node relays for members.",
        u64::from(relaying.server),
    );
    t.gauge(
        "trustmesh_relay_circuits",
        "Circuits between members this node's relay carries now.",
        relaying.circuits as u64,
    );
    t.counter(
        "trustmesh_relay_reservations_accepted_total",
        "Reservations this node's relay accepted for members.",
        n.relay_reservations_accepted,
    );
    t.counter(
        "trustmesh_relay_reservations_denied_total",
        "Reservations this node's relay denied (over its limits).",
        n.relay_reservations_denied,
    );
    t.counter(
        "trustmesh_relay_circuits_accepted_total",
        "Circuits between members this node's relay opened.",
        n.relay_circuits_accepted,
    );
    t.counter(
        "trustmesh_relay_circuits_denied_total",
        "Circuits this node's relay denied.",
        n.relay_circuits_denied,
    );
    t.counter(
        "trustmesh_relay_circuits_closed_total",
        "Circuits this node's relay carried that closed (a limit reached, or an end gone).",
        n.relay_circuits_closed,
    );
    t.counter(
        "trustmesh_reservations_accepted_total",
        "Reservations this node got on members' relays.",
        n.reservations_accepted,
    );
    t.counter(
        "trustmesh_reservations_lost_total",
        "Reservations on members' relays refused or lost.",
        n.reservations_lost,
    );
    t.labelled(
        "trustmesh_holepunch_total",
        "Hole punches (DCUtR) on relayed connections, by result.",
        "result",
        [("ok", n.holepunch_ok), ("failed", n.holepunch_failed)],
    );
    t.counter(
        "trustmesh_circuits_replaced_total",
        "Circuits closed because their member was reached directly.",
        n.circuits_replaced,
    );
    t.counter(
        "trustmesh_ping_failures_total",
        "Pings that failed (each closed its connection).",
        n.ping_failures,
    );
    t.counter(
        "trustmesh_sync_queued_total",
        "Core messages that waited for room in a peer's window of requests in flight.",
        n.sync_queued,
    );
    t.counter(
        "trustmesh_sync_dropped_total",
        "Core messages dropped because a peer's queue was full (anti-entropy brings what they carried).",
        n.sync_dropped,
    );
    t.gauge(
        "trustmesh_member",
        "1 when this node is a member in its own view.",
        u64::from(snap.member),
    );
    t.gauge(
        "trustmesh_documents",
        "Documents held.",
        snap.documents as u64,
    );
    t.gauge(
        "trustmesh_documents_cached",
        "Documents held materialized in memory (at most limits.cached_documents); the others are read back from the store and rebuilt when written or read.",
        snap.cached_documents as u64,
    );
    t.gauge(
        "trustmesh_documents_cold",
        "Documents whose changes are left in the store, read back when needed.",
        snap.cold_documents as u64,
    );
    t.counter(
        "trustmesh_store_read_failures_total",
        "Reads of documents' changes from the store that failed (the operation that needed one went without it).",
        snap.store_read_failures,
    );
    t.gauge(
        "trustmesh_statements",
        "Statements held.",
        snap.statements as u64,
    );
    t.gauge(
        "trustmesh_uptime_seconds",
        "Seconds since the engine started.",
        snap.uptime.as_secs(),
    );
    t.counter(
        "trustmesh_changes_applied_total",
        "New changes stored.",
        s.changes_new,
    );
    t.counter(
        "trustmesh_changes_duplicate_total",
        "Changes received that were already stored.",
        s.changes_duplicate,
    );
    t.labelled(
        "trustmesh_changes_dropped_total",
        "Changes dropped unstored, by reason: an author that is no member, or a revoked author's change its revocations did not keep.",
        "reason",
        [
            ("unknown_author", s.changes_unknown_author),
            ("revoked_author", s.changes_revoked_author),
        ],
    );
    t.counter(
        "trustmesh_statements_new_total",
        "New statements stored.",
        s.statements_new,
    );
    t.labelled(
        "trustmesh_rejected_total",
        "Messages the core refused, by reason.",
        "reason",
        s.rejected.iter().map(|(k, v)| (*k, *v)),
    );
    t.labelled(
        "trustmesh_invalid_total",
        "Messages that did not decode or verify (the sender was banned), by reason.",
        "reason",
        n.invalid.iter().map(|(k, v)| (k.as_str(), *v)),
    );
    t.counter(
        "trustmesh_store_failures_total",
        "Store writes that failed.",
        s.store_failures,
    );
    t.counter(
        "trustmesh_sync_rounds_total",
        "Anti-entropy rounds finished.",
        s.rounds_finished,
    );
    t.counter(
        "trustmesh_sync_requests_in_total",
        "Sync requests received.",
        n.sync_in,
    );
    t.counter(
        "trustmesh_sync_requests_out_total",
        "Sync requests sent.",
        n.sync_out,
    );
    t.counter(
        "trustmesh_bytes_in_total",
        "Bytes of core messages received (gossip and sync).",
        n.bytes_in,
    );
    t.counter(
        "trustmesh_bytes_out_total",
        "Bytes of core messages sent (gossip and sync).",
        n.bytes_out,
    );
    t.counter(
        "trustmesh_gossip_in_total",
        "Gossip messages received.",
        n.gossip_in,
    );
    t.counter(
        "trustmesh_gossip_out_total",
        "Gossip messages published.",
        n.gossip_out,
    );
    t.counter(
        "trustmesh_bans_total",
        "Peers banned for invalid data.",
        n.bans,
    );
    t.counter(
        "trustmesh_rate_limited_total",
        "Requests and gossip refused for exceeding a peer's rate.",
        n.rate_limited,
    );
    let a = &snap.alerts;
    t.counter(
        "trustmesh_alerts_delivered_total",
        "Alert deliveries that succeeded.",
        a.delivered,
    );
    t.counter(
        "trustmesh_alerts_failed_total",
        "Alert delivery attempts that failed.",
        a.failed,
    );
    t.gauge(
        "trustmesh_alerts_pending",
        "Alert deliveries waiting, running or parked for a retry.",
        a.pending,
    );
    t.histogram(
        "trustmesh_gossip_latency_seconds",
        "Receive time minus the change's stated time, for changes arriving by gossip.",
        &snap.gossip_latency,
    );
    t.finish()
}

#[cfg(test)]
mod tests;
