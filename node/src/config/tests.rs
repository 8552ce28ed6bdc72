use super::*;

#[test]
fn a_missing_file_gives_the_defaults_and_they_validate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = NodeConfig::load(&dir.path().join("config.toml")).expect("defaults");
    let s = config.validate().expect("defaults are valid");
    assert_eq!(s.api.to_string(), "127.0.0.1:7701");
    assert_eq!(s.listen.len(), 2);
    assert_eq!(s.limits.target_peers, 8);
}

#[test]
fn a_file_overrides_some_keys_and_keeps_the_rest() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("config.toml"),
        "api = \"127.0.0.1:9000\"\n[sync]\ninterval_ms = 500\n[limits]\nban_secs = 5\n",
    )
    .expect("write");
    let s = NodeConfig::load(&dir.path().join("config.toml"))
        .expect("parses")
        .validate()
        .expect("valid");
    assert_eq!(s.api.port(), 9000);
    assert_eq!(s.sync_interval, Duration::from_millis(500));
    assert_eq!(s.sync_fanout, 2);
    assert_eq!(s.limits.ban_secs, 5);
    assert_eq!(s.limits.requests_per_second, 200);
}

#[test]
fn bad_files_and_values_are_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, "lisen = []\n").expect("write");
    let err = NodeConfig::load(&dir.path().join("config.toml")).expect_err("unknown key");
    assert!(err.to_string().contains("lisen"), "{err}");

    std::fs::write(&path, "bootstrap = [\"not an address\"]\n").expect("write");
    let err = NodeConfig::load(&dir.path().join("config.toml"))
        .expect("parses")
        .validate()
        .expect_err("bad multiaddr");
    assert!(err.to_string().contains("bootstrap"), "{err}");

    std::fs::write(&path, "[sync]\ninterval_ms = 0\n").expect("write");
    let err = NodeConfig::load(&dir.path().join("config.toml"))
        .expect("parses")
        .validate()
        .expect_err("zero interval");
    assert!(err.to_string().contains("sync.interval_ms"), "{err}");
}

#[test]
fn the_example_config_is_valid() {
    let example = include_str!("../../dist/config.example.toml");
    let config: NodeConfig = toml::from_str(example).expect("the example parses");
    let s = config.validate().expect("the example is valid");
    assert_eq!(s.api.to_string(), "127.0.0.1:7701");
    assert_eq!(s.alerts.len(), 1);
    assert_eq!(s.alerts[0].filter.min_severity, Some(Severity::High));
    // The commented-out webhook rule is valid too.
    let uncommented: String = example
        .lines()
        .map(|l| {
            l.strip_prefix("# ")
                .filter(|r| {
                    r.starts_with("[[")
                        || r.split_once(" = ").is_some_and(|(k, _)| {
                            k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                        })
                })
                .unwrap_or(l)
        })
        .collect::<Vec<_>>()
        .join("\n");
    let config: NodeConfig = toml::from_str(&uncommented).expect("uncommented parses");
    let s = config.validate().expect("uncommented is valid");
    assert_eq!(s.alerts.len(), 4);
    assert!(
        matches!(&s.alerts[1].action, Action::Webhook(w) if w.url.starts_with("http://127.0.0.1"))
    );
    assert!(
        matches!(&s.alerts[2].action, Action::Webhook(w) if w.format == crate::alerts::Format::Mattermost)
    );
    assert!(matches!(&s.alerts[3].action, Action::Mail(m) if m.starttls && m.port == 587));
    assert_eq!(
        s.alerts[3].web_url.as_deref(),
        Some("https://trustmesh.cert-xx.example")
    );
}

#[test]
fn alert_rules_need_distinct_names() {
    let text = "[[alerts]]\nname = \"a\"\ncommand = [\"true\"]\n[[alerts]]\nname = \"a\"\nwebhook = \"http://h/\"\n";
    let err = toml::from_str::<NodeConfig>(text)
        .expect("parses")
        .validate()
        .expect_err("duplicate");
    assert!(
        err.to_string().contains("two rules are named \"a\""),
        "{err}"
    );
}

#[test]
fn rule_files_are_read_beside_the_config_file_and_web_url_is_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("hook.key"), "0123456789abcdef\n").expect("write");
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        "web_url = \"https://tm.example.org/\"\n[[alerts]]\nname = \"h\"\nwebhook = \"https://h.example.org/x\"\nhmac_secret_file = \"hook.key\"\n",
    )
    .expect("write");
    // The working directory is elsewhere: the key is found beside the file.
    let s = NodeConfig::load(&path)
        .expect("parses")
        .validate()
        .expect("valid");
    assert_eq!(
        s.alerts[0].web_url.as_deref(),
        Some("https://tm.example.org")
    );
    assert!(
        matches!(&s.alerts[0].action, Action::Webhook(w) if w.hmac_secret.as_ref().is_some_and(|k| k.expose() == b"0123456789abcdef"))
    );
    std::fs::write(&path, "web_url = \"tm.example.org\"\n").expect("write");
    let err = NodeConfig::load(&path)
        .expect("parses")
        .validate()
        .expect_err("no scheme");
    assert!(err.to_string().contains("web_url"), "{err}");
}

fn taxii(text: &str) -> Result<TaxiiSettings, ConfigError> {
    let c: NodeConfig = toml::from_str(text).expect("parses");
    c.validate().map(|s| s.taxii.expect("a [taxii] section"))
}

#[test]
fn taxii_readers_see_clear_and_green_unless_configured() {
    let t = taxii("[taxii]\nlisten = \"127.0.0.1:7702\"\n").expect("valid");
    assert_eq!(t.readers.len(), 1);
    assert_eq!(t.readers[0].name, "default");
    assert_eq!(t.readers[0].tlp, [Tlp::Clear, Tlp::Green]);
    let t = taxii(
        "[taxii]\nlisten = \"127.0.0.1:7702\"\n[[taxii.readers]]\nname = \"misp\"\n\
         [[taxii.readers]]\nname = \"opencti\"\ntlp = [\"TLP:AMBER+STRICT\", \"red\", \"green\"]\n",
    )
    .expect("valid");
    assert_eq!(t.readers[0].tlp, [Tlp::Clear, Tlp::Green]);
    assert_eq!(t.readers[1].tlp, [Tlp::Green, Tlp::AmberStrict, Tlp::Red]);
}

#[test]
fn taxii_beyond_loopback_needs_tls_and_readers_need_good_names() {
    let err = taxii("[taxii]\nlisten = \"0.0.0.0:7702\"\n").expect_err("no TLS");
    assert!(err.to_string().contains("tls_cert"), "{err}");
    let t =
        taxii("[taxii]\nlisten = \"0.0.0.0:7702\"\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n")
            .expect("valid with TLS");
    assert!(t.tls.is_some());
    let err =
        taxii("[taxii]\nlisten = \"127.0.0.1:1\"\ntls_cert = \"c.pem\"\n").expect_err("no key");
    assert!(err.to_string().contains("tls_key"), "{err}");
    for bad in ["../x", "", "a b"] {
        let err = taxii(&format!(
            "[taxii]\nlisten = \"127.0.0.1:1\"\n[[taxii.readers]]\nname = \"{bad}\"\n"
        ))
        .expect_err("bad name");
        assert!(err.to_string().contains("reader name"), "{err}");
    }
    let err = taxii(
        "[taxii]\nlisten = \"127.0.0.1:1\"\n[[taxii.readers]]\nname = \"a\"\ntlp = [\"purple\"]\n",
    )
    .expect_err("bad label");
    assert!(err.to_string().contains("purple"), "{err}");
}

#[test]
fn relay_settings_default_to_autonat_and_circuits_sized_for_our_messages() {
    let s = NodeConfig::default().validate().expect("defaults");
    assert_eq!((s.relay.reachable, s.relay.server), (None, None));
    assert_eq!(s.relay.reservations, 2);
    // Far beyond libp2p's 128 KiB and 2 minutes: eight largest messages.
    assert_eq!(
        s.relay.max_circuit_bytes,
        8 * trustmesh_protocol::MAX_MESSAGE_BYTES as u64
    );
    assert_eq!(s.relay.max_circuit_secs, 1800);

    let parse = |text: &str| {
        toml::from_str::<NodeConfig>(text)
            .expect("parses")
            .validate()
    };
    let s = parse("listen = []\n[relay]\nreachable = false\nserver = false\nreservations = 3\n")
        .expect("a node behind a firewall");
    assert!(s.listen.is_empty());
    assert_eq!(
        (s.relay.reachable, s.relay.server, s.relay.reservations),
        (Some(false), Some(false), 3)
    );
    for (text, key) in [
        (
            "[relay]\nmax_circuit_bytes = 131072\n",
            "relay.max_circuit_bytes",
        ),
        ("[relay]\nmax_circuit_secs = 0\n", "relay.max_circuit_secs"),
        (
            "[relay]\nmax_circuit_secs = 4294967296\n",
            "relay.max_circuit_secs",
        ),
        ("[relay]\nmax_circuits = 0\n", "relay.max_circuits"),
    ] {
        let err = parse(text).expect_err(text);
        assert!(err.to_string().contains(key), "{text}: {err}");
    }
}
