//! Requests bind as the package's Python methods bind them; envelopes read as its `_send`
//! writes them.

use super::*;

fn req(text: &str) -> Request {
    match parse(text) {
        Parsed::Request(r) => r,
        other => panic!("{text:?}: {other:?}"),
    }
}

fn invalid(text: &str) -> (String, Option<String>) {
    match parse(text) {
        Parsed::Invalid { error, client_ref } => (error, client_ref),
        other => panic!("{text:?}: {other:?}"),
    }
}

fn get(key: &str, field: Option<&str>, client_ref: Option<&str>) -> Request {
    Request::Get {
        key: key.into(),
        field: field.map(Into::into),
        client_ref: client_ref.map(Into::into),
    }
}

#[test]
fn get_binds_like_python() {
    assert_eq!(req("GET egg"), get("egg", None, None));
    assert_eq!(req("GET egg ref"), get("egg", Some("ref"), None));
    assert_eq!(
        req("GET egg ref cref"),
        get("egg", Some("ref"), Some("cref"))
    );
    assert_eq!(
        req("GET egg ref client_ref=cref"),
        get("egg", Some("ref"), Some("cref"))
    );
    assert_eq!(req("GET egg client_ref=c"), get("egg", None, Some("c")));
    assert_eq!(
        req("GET channel_name=egg ref=r"),
        get("egg", Some("r"), None)
    );
    assert_eq!(req("  GET\t egg \n"), get("egg", None, None));
    assert_eq!(req("GET\u{a0}egg\u{1f}r"), get("egg", Some("r"), None));
    assert_eq!(req("GET egg client_ref="), get("egg", None, Some("")));
    assert_eq!(
        req("GET egg client_ref=a client_ref=b=c"),
        get("egg", None, Some("b=c")),
        "split at the first =, the last one wins"
    );
}

#[test]
fn bad_arguments_are_errors_not_hangups() {
    assert!(
        invalid("GET")
            .0
            .contains("missing its argument 'channel_name'")
    );
    assert!(invalid("GET a b c d").0.contains("at most 3 arguments"));
    let (e, r) = invalid("GET a foo=1 client_ref=x");
    assert!(e.contains("unexpected keyword argument 'foo'"), "{e}");
    assert_eq!(r.as_deref(), Some("x"), "the client reference is echoed");
    assert!(
        invalid("GET a b ref=c")
            .0
            .contains("multiple values for argument 'ref'")
    );
    assert!(invalid("SUB").0.contains("missing"));
    assert!(invalid("SUB a b").0.contains("at most 1"));
    assert!(invalid("DEL a x=1").0.contains("unexpected keyword"));
    assert!(invalid("PING x=1").0.contains("no keyword arguments"));
    assert!(invalid("BBOX 1 2 3").0.contains("got 3"));
    assert!(invalid("BBOX 1 2 3 x").0.contains("'x'"));
    assert!(invalid("PROJECTION").0.contains("got 0"));
    assert!(invalid("PROJECTION e g").0.contains("got 2"));
    assert!(invalid("PROJECTION +proj=merc").0.contains("no keyword"));
}

#[test]
fn other_commands() {
    assert_eq!(req("SUB ch"), Request::Sub("ch".into()));
    assert_eq!(req("SUB channel_name=ch"), Request::Sub("ch".into()));
    assert_eq!(req("DEL ch"), Request::Del("ch".into()));
    assert_eq!(req("PING"), Request::Ping);
    assert_eq!(req("PING anything at all"), Request::Ping);
    assert_eq!(req("BBOX"), Request::BBox(None));
    assert_eq!(
        req("BBOX 1 -2.5 3e2 1_000"),
        Request::BBox(Some(BBox {
            left: 1.0,
            bottom: -2.5,
            right: 300.0,
            top: 1000.0
        }))
    );
    assert_eq!(
        req("PROJECTION epsg:3857"),
        Request::Projection("epsg:3857".into())
    );
    assert_eq!(
        req("PGET egg ref cref projection=epsg:3857"),
        Request::PGet {
            key: "egg".into(),
            field: Some("ref".into()),
            client_ref: Some("cref".into()),
            projection: Some("epsg:3857".into()),
        }
    );
}

#[test]
fn unknown_and_empty_are_ignored() {
    for text in [
        "",
        "   ",
        "get egg",
        "Sub ch",
        "HGETALL egg",
        "unknown cmd",
        "FLUSHALL",
    ] {
        assert_eq!(parse(text), Parsed::Ignored, "{text:?}");
    }
}

#[test]
fn python_floats() {
    assert_eq!(py_float("1_000.5"), Some(1000.5));
    assert_eq!(py_float("-inf"), Some(f64::NEG_INFINITY));
    assert_eq!(py_float("Infinity"), Some(f64::INFINITY));
    assert!(py_float("-NaN").is_some_and(f64::is_nan));
    assert_eq!(py_float(".5"), Some(0.5));
    assert_eq!(py_float("5."), Some(5.0));
    for bad in ["_1", "1_", "1__0", "1,5", "0x10", "", "e5", "1e"] {
        assert_eq!(py_float(bad), None, "{bad}");
    }
}

#[test]
fn envelopes() {
    let e = envelope(
        "egg ref",
        Content::Json(br#"{"hello": "world"}"#),
        1700000000123.456,
        Some("cref"),
    );
    assert_eq!(
        String::from_utf8(e).expect("ASCII"),
        r#"{"source": "egg ref", "content": {"hello": "world"}, "timestamp": 1700000000123.456, "client_reference": "cref"}"#
    );
    let e = envelope("websocket", Content::Str("PONG"), 1.0, None);
    assert_eq!(
        String::from_utf8(e).expect("ASCII"),
        r#"{"source": "websocket", "content": "PONG", "timestamp": 1.0, "client_reference": null}"#
    );
    let e = error_envelope("bad \"x\"", &[("request", "GET a b c d")], 2.5, None);
    let v: serde_json::Value = serde_json::from_slice(&e).expect("valid JSON");
    assert_eq!(v["source"], "error");
    assert_eq!(v["content"]["error"], "bad \"x\"");
    assert_eq!(v["content"]["request"], "GET a b c d");
    let ts = timestamp_ms();
    assert!(ts > 1.6e12 && ts.fract() >= 0.0, "{ts}");
}
