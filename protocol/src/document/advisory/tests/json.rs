//! The JSON tree: numbers keep what they were, text round-trips, the parser
//! refuses what is not JSON and what exceeds the limits, and agrees with
//! serde_json on everything else.

use proptest::prelude::*;

use super::*;

fn parse(s: &str) -> Result<Json, JsonError> {
    Json::parse(s.as_bytes())
}

/// How a number reads back: its text and whether it is an integer.
fn number(s: &str) -> (String, bool) {
    let n = Number::parse(s).expect("a JSON number");
    (n.to_string(), n.is_integer())
}

#[test]
fn numbers_keep_integer_against_float_and_their_value() {
    let cases = [
        // CVSS scores stay floats with their digits.
        ("9.8", "9.8", false),
        ("0.0", "0.0", false),
        ("10.0", "10.0", false),
        ("1.50", "1.5", false),
        ("1e2", "100.0", false),
        ("-2.5E-3", "-0.0025", false),
        // Integers stay integers, whatever their size.
        ("0", "0", true),
        ("42", "42", true),
        ("-9223372036854775808", "-9223372036854775808", true),
        ("18446744073709551615", "18446744073709551615", true),
        // What no machine number holds is kept as written.
        ("18446744073709551616", "18446744073709551616", true),
        (
            "123456789012345678901234567890",
            "123456789012345678901234567890",
            true,
        ),
        ("-0", "-0", true),
        ("1e400", "1e400", false),
        (
            "0.1000000000000000000001",
            "0.1000000000000000000001",
            false,
        ),
        (
            "3.141592653589793238462643",
            "3.141592653589793238462643",
            false,
        ),
    ];
    for (text, written, integer) in cases {
        assert_eq!(number(text), (written.to_owned(), integer), "{text}");
        // What is written reads back to the same number.
        assert_eq!(Number::parse(written), Number::parse(text), "{text}");
    }
    for bad in ["01", "1.", ".5", "+1", "1e", "--1", "0x10", "NaN", "1 "] {
        assert_eq!(Number::parse(bad), None, "{bad}");
    }
    assert_eq!(Number::from_f64(f64::NAN), None);
    assert_eq!(Number::from_f64(f64::INFINITY), None);
    assert_eq!(Number::from_u64(5), Number::from_i64(5));
}

#[test]
fn numbers_inside_documents_compare_as_serde_json_reads_them() {
    let text = r#"{"score":9.8,"count":3,"big":18446744073709551615,"zero":0.0,"neg":-1}"#;
    let ours = parse(text).expect("json");
    let back: serde_json::Value = serde_json::from_str(&ours.to_json()).expect("json");
    assert_eq!(
        back,
        serde_json::from_str::<serde_json::Value>(text).expect("json")
    );
    assert!(back["score"].is_f64() && back["zero"].is_f64());
    assert!(back["count"].is_u64() && back["big"].is_u64() && back["neg"].is_i64());
}

#[test]
fn strings_and_structure_round_trip() {
    let text = "{\"a\":[1,{},[],null,true,false,\"\\u00e9\\ud83d\\ude00\\n\\t\\\"\\\\\\/\"],\"é\":\"日本語\",\"\":\"\"}";
    let v = parse(text).expect("json");
    assert_eq!(
        v.pointer("/a/6").and_then(Json::as_str),
        Some("é😀\n\t\"\\/")
    );
    assert_eq!(v.get("é").and_then(Json::as_str), Some("日本語"));
    assert_eq!(parse(&v.to_json()), Ok(v.clone()));
    assert_eq!(parse(&v.to_json_pretty()), Ok(v.clone()));
    // Control characters are escaped on the way out.
    let c = Json::from("a\u{1}b");
    assert_eq!(c.to_json(), "\"a\\u0001b\"");
    assert_eq!(parse(&c.to_json()), Ok(c));
    // A byte order mark is ignored.
    assert_eq!(Json::parse(b"\xef\xbb\xbf[1]"), parse("[1]"));
}

#[test]
fn what_is_not_json_is_refused_with_where() {
    let problem = |s: &str| match parse(s) {
        Err(JsonError::Syntax { offset, problem }) => format!("{offset}: {problem}"),
        other => format!("{other:?}"),
    };
    assert_eq!(problem(""), "0: the text ends where a value should start");
    assert_eq!(problem("{\"a\":1,\"a\":2}"), "12: an object repeats a key");
    assert_eq!(problem("[1,]"), "3: expected a value");
    assert_eq!(problem("{\"a\" 1}"), "5: expected : after a key");
    assert_eq!(problem("[1 2]"), "3: expected , or ] in an array");
    assert_eq!(
        problem("\"\\ud800\""),
        "7: a lone surrogate in a \\u escape"
    );
    assert_eq!(
        problem("\"\\udc00\""),
        "7: a lone surrogate in a \\u escape"
    );
    assert_eq!(
        problem("\"a\nb\""),
        "2: a control character inside a string"
    );
    assert_eq!(problem("\"\\x\""), "3: an unknown escape");
    assert_eq!(problem("[1] x"), "4: unexpected text after the document");
    assert_eq!(problem("tru"), "0: expected true, false or null");
    assert_eq!(Json::parse(b"[\"\xff\"]"), Err(JsonError::NotUtf8(2)));
}

#[test]
fn limits_are_named() {
    let deep = "[".repeat(Limit::Depth.bound() + 1) + &"]".repeat(Limit::Depth.bound() + 1);
    assert_eq!(parse(&deep), Err(JsonError::TooLarge(Limit::Depth)));
    let ok = "[".repeat(Limit::Depth.bound()) + &"]".repeat(Limit::Depth.bound());
    assert!(parse(&ok).is_ok());
    // Deep enough to overflow a recursive parser's stack: refused, not a
    // crash.
    let very = "[".repeat(1_000_000);
    assert_eq!(parse(&very), Err(JsonError::TooLarge(Limit::Depth)));
    let long = format!("\"{}\"", "x".repeat(Limit::StringBytes.bound() + 1));
    assert_eq!(parse(&long), Err(JsonError::TooLarge(Limit::StringBytes)));
    let key = format!("{{\"{}\":1}}", "k".repeat(Limit::KeyBytes.bound() + 1));
    assert_eq!(parse(&key), Err(JsonError::TooLarge(Limit::KeyBytes)));
    let num = "1".repeat(Limit::NumberChars.bound() + 1);
    assert_eq!(parse(&num), Err(JsonError::TooLarge(Limit::NumberChars)));
    let values = format!("[{}0]", "0,".repeat(Limit::Values.bound()));
    assert_eq!(parse(&values), Err(JsonError::TooLarge(Limit::Values)));
    let big = vec![b' '; Limit::JsonBytes.bound() + 1];
    assert_eq!(
        Json::parse(&big),
        Err(JsonError::TooLarge(Limit::JsonBytes))
    );
    assert_eq!(
        JsonError::TooLarge(Limit::JsonBytes).to_string(),
        "the document has more than 16777216 bytes of JSON"
    );
}

/// Any JSON value, with the number shapes that matter.
pub(crate) fn any_json() -> impl Strategy<Value = Json> {
    let number = prop_oneof![
        any::<i64>().prop_map(|i| Json::Number(Number::from_i64(i))),
        any::<u64>().prop_map(|u| Json::Number(Number::from_u64(u))),
        (-1e6f64..1e6).prop_map(|f| Json::Number(Number::from_f64(f).expect("finite"))),
        (0u32..100, 0u32..10)
            .prop_map(|(a, b)| Json::Number(Number::parse(&format!("{a}.{b}")).expect("a number"))),
        "[1-9][0-9]{20,30}".prop_map(|t| Json::Number(Number::parse(&t).expect("a number"))),
    ];
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        number,
        any::<String>().prop_map(Json::String),
    ];
    leaf.prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Json::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..8).prop_map(Json::Object),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_value_round_trips_through_its_text(v in any_json()) {
        prop_assert_eq!(parse(&v.to_json()), Ok(v.clone()));
        prop_assert_eq!(parse(&v.to_json_pretty()), Ok(v.clone()));
        // serde_json reads the same text as valid JSON.
        prop_assert!(serde_json::from_str::<serde_json::Value>(&v.to_json()).is_ok());
    }

    #[test]
    fn the_parser_agrees_with_serde_json(v in any_json()) {
        let text = serde_json::to_string(
            &serde_json::from_str::<serde_json::Value>(&v.to_json()).expect("json"),
        ).expect("serializes");
        let ours = parse(&text).expect("serde_json's output is JSON");
        let back: serde_json::Value = serde_json::from_str(&ours.to_json()).expect("json");
        prop_assert_eq!(back, serde_json::from_str::<serde_json::Value>(&text).expect("json"));
    }

    #[test]
    fn any_bytes_parse_or_fail_without_panicking(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = Json::parse(&bytes);
    }
}
