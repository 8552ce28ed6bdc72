use serde_json::json;
use trustmesh_protocol::Tlp;

use super::{feed, tlp_tag};

#[test]
fn tags_are_the_misp_tlp_taxonomy() {
    let names: Vec<_> = [
        Tlp::Clear,
        Tlp::Green,
        Tlp::Amber,
        Tlp::AmberStrict,
        Tlp::Red,
    ]
    .into_iter()
    .map(|t| tlp_tag(t)["name"].as_str().expect("test value").to_owned())
    .collect();
    assert_eq!(
        names,
        [
            "tlp:clear",
            "tlp:green",
            "tlp:amber",
            "tlp:amber+strict",
            "tlp:red"
        ]
    );
}

#[test]
fn the_manifest_and_hashes_follow_the_events() {
    let e = json!({ "Event": {
        "uuid": "u1", "info": "i", "date": "2026-12-01", "analysis": "2",
        "threat_level_id": "1", "timestamp": "1764547200",
        "Orgc": { "name": "AA", "uuid": "o" }, "Tag": [tlp_tag(Tlp::Green)],
        "Attribute": [{ "value": "192.0.2.1" }],
    }});
    let f = feed(&[e]);
    let manifest: serde_json::Value =
        serde_json::from_str(&f.files["manifest.json"]).expect("test value");
    assert_eq!(manifest["u1"]["timestamp"], 1_764_547_200u64);
    assert_eq!(manifest["u1"]["analysis"], 2);
    assert_eq!(manifest["u1"]["Tag"][0]["name"], "tlp:green");
    // md5("192.0.2.1"), as PyMISP's attributes_hashes("md5") gives it.
    assert_eq!(
        f.files["hashes.csv"],
        "d0f88d6c87767262ba8e93d6acccd784,u1\n"
    );
    assert!(f.files.contains_key("u1.json"));
}
