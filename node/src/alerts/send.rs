//! The blocking ends of a delivery: one POST over http or https (ureq with
//! rustls), one mail over SMTP with STARTTLS (lettre with rustls). Both run
//! on tokio's blocking pool; `Err` says why an attempt failed.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport as _};
use tracing::debug;

use super::payload::{DELIVERY_HEADER, SIGNATURE_HEADER, signature};
use super::{Mail, Webhook};

/// The system's trust anchors (rustls-native-certs: `/etc/ssl/certs` on
/// Debian), read once; empty when there are none.
fn system_roots() -> &'static [ureq::tls::Certificate<'static>] {
    static ROOTS: OnceLock<Vec<ureq::tls::Certificate<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        debug!(
            certs = found.certs.len(),
            errors = found.errors.len(),
            "system trust anchors loaded"
        );
        found
            .certs
            .iter()
            .map(|c| ureq::tls::Certificate::from_der(c.as_ref()).to_owned())
            .collect()
    })
}

fn tls_config(ca: Option<&[Vec<u8>]>) -> ureq::tls::TlsConfig {
    use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};
    let roots = match ca {
        Some(ders) => RootCerts::new_with_certs(
            &ders
                .iter()
                .map(|d| Certificate::from_der(d).to_owned())
                .collect::<Vec<_>>(),
        ),
        None if !system_roots().is_empty() => RootCerts::new_with_certs(system_roots()),
        // No system store (a minimal container): Mozilla's roots.
        None => RootCerts::WebPki,
    };
    TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .root_certs(roots)
        .build()
}

/// POSTs `body` to the webhook, with its headers and signature.
pub(super) fn post(
    hook: &Webhook,
    body: &[u8],
    delivery: &str,
    timeout: Duration,
) -> Result<(), String> {
    let url = &hook.url;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        // A redirect is a failure, not a hop: the signature and custom
        // headers go to the configured host only.
        .max_redirects(0)
        .https_only(url.starts_with("https://"))
        .user_agent(concat!("trustmesh/", env!("CARGO_PKG_VERSION")))
        .tls_config(tls_config(hook.ca.as_deref()))
        .build()
        .into();
    let mut req = agent
        .post(url)
        .header("content-type", "application/json")
        .header(DELIVERY_HEADER, delivery);
    if let Some(secret) = &hook.hmac_secret {
        req = req.header(SIGNATURE_HEADER, signature(secret.expose(), body));
    }
    for (name, value) in &hook.headers {
        req = req.header(name, value);
    }
    let resp = req.send(body).map_err(|e| format!("POST {url}: {e}"))?;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(format!("POST {url}: HTTP {}", resp.status()))
    }
}

/// Sends one mail to every recipient of the rule.
pub(super) fn mail(m: &Mail, subject: &str, body: String, timeout: Duration) -> Result<(), String> {
    let mut msg = Message::builder().from(m.from.clone()).subject(subject);
    for to in &m.to {
        msg = msg.to(to.clone());
    }
    let msg = msg
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|e| format!("building the mail: {e}"))?;
    let server = &m.server;
    let tls = if m.starttls {
        let mut params = TlsParameters::builder(server.clone());
        if let Some(ca) = &m.ca {
            params = params.certificate_store(CertificateStore::None);
            for der in ca {
                let cert = Certificate::from_der(der.clone())
                    .map_err(|e| format!("the mail ca_file: {e}"))?;
                params = params.add_root_certificate(cert);
            }
        }
        Tls::Required(
            params
                .build_rustls()
                .map_err(|e| format!("TLS settings for {server}: {e}"))?,
        )
    } else {
        Tls::None
    };
    let mut transport = SmtpTransport::builder_dangerous(server.as_str())
        .port(m.port)
        .tls(tls)
        .timeout(Some(timeout));
    if let (Some(user), Some(password)) = (&m.username, &m.password) {
        let password = String::from_utf8_lossy(password.expose()).into_owned();
        transport = transport.credentials(Credentials::new(user.clone(), password));
    }
    transport
        .build()
        .send(&msg)
        .map(|_| ())
        .map_err(|e| format!("SMTP {server}:{}: {e}", m.port))
}
