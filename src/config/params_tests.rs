use super::*;

fn params() -> Params {
    let cli = <crate::config::Cli as clap::Parser>::parse_from(["corekv"]);
    Params::from_config(&Config::from_cli(cli).unwrap())
}

#[test]
fn set_validates_like_redis() {
    let mut p = params();
    let e = p.set(&[("foo".into(), "bar".into())]).unwrap_err();
    assert_eq!(
        e,
        "Unknown option or number of arguments for CONFIG SET - 'foo'"
    );
    let e = p.set(&[("maxmemory".into(), "abc".into())]).unwrap_err();
    assert!(e.ends_with("argument must be a memory value"), "{e}");
    let e = p.set(&[("daemonize".into(), "yes".into())]).unwrap_err();
    assert!(e.ends_with("can't set immutable config"), "{e}");
    p.set(&[("maxmemory".into(), "1gb".into())]).unwrap();
    assert_eq!(p.text("maxmemory"), "1073741824");
    p.set(&[("hz".into(), "1000000".into())]).unwrap();
    assert_eq!(p.text("hz"), "500");
    // atomic: a bad second pair leaves the first unchanged
    let e = p.set(&[("timeout".into(), "5".into()), ("hz".into(), "x".into())]);
    assert!(e.is_err());
    assert_eq!(p.text("timeout"), "0");
}

#[test]
fn get_matches_names_and_aliases() {
    let p = params();
    let got = p.get(&[b"hash-max-*"]);
    let names: Vec<_> = got.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"hash-max-listpack-entries"));
    assert!(names.contains(&"hash-max-ziplist-entries"));
}

#[test]
fn notify_flags_canonical() {
    assert_eq!(canonical_notify("KEA").unwrap(), "AKE");
    assert_eq!(canonical_notify("Kx").unwrap(), "xK");
    // Redis 7.0 prints `n` after the type letters and drops it next to `A`.
    assert_eq!(canonical_notify("KEmn").unwrap(), "nKEm");
    assert_eq!(canonical_notify("An").unwrap(), "A");
    assert_eq!(canonical_notify("g$n").unwrap(), "g$n");
    assert!(canonical_notify("Q").is_none());
}

fn set_one(p: &mut Params, name: &str, value: &str) -> Result<(), String> {
    p.set(&[(name.into(), value.into())])
}

#[test]
fn memory_values_follow_memtoull() {
    assert_eq!(parse_memory("1gb"), Some(1 << 30));
    assert_eq!(parse_memory("1GB"), Some(1 << 30));
    assert_eq!(parse_memory("5k"), Some(5000));
    assert_eq!(parse_memory("100B"), Some(100));
    assert_eq!(parse_memory(""), Some(0));
    assert_eq!(parse_memory("kb"), Some(0));
    assert_eq!(parse_memory("99999999999999999999"), Some(u64::MAX));
    for bad in ["-1", "+5", " 5", "5 ", "1.5", "5kib", "abc"] {
        assert_eq!(parse_memory(bad), None, "{bad:?}");
    }
    let mut p = params();
    set_one(&mut p, "maxmemory", "99999999999999999999").unwrap();
    assert_eq!(p.text("maxmemory"), "18446744073709551615");
    let e = set_one(&mut p, "proto-max-bulk-len", "99999999999999999999").unwrap_err();
    assert!(
        e.ends_with("between 1048576 and 9223372036854775807 inclusive"),
        "{e}"
    );
    set_one(&mut p, "hash-max-ziplist-value", "5kb").unwrap();
    assert_eq!(p.text("hash-max-listpack-value"), "5120");
}

#[test]
fn integers_follow_string2ll() {
    let mut p = params();
    for bad in ["+5", "007", "-0", " 5", "5 ", "1.5", ""] {
        let e = set_one(&mut p, "timeout", bad).unwrap_err();
        assert!(
            e.ends_with("couldn't be parsed into an integer"),
            "{bad:?}: {e}"
        );
    }
    let e = set_one(&mut p, "hz", "-1").unwrap_err();
    assert!(e.ends_with("between 0 and 2147483647 inclusive"), "{e}");
    set_one(&mut p, "hz", "0").unwrap();
    assert_eq!(p.text("hz"), "1");
    set_one(&mut p, "maxclients", "4294967295").unwrap();
    let e = set_one(&mut p, "maxclients", "0").unwrap_err();
    assert!(e.ends_with("between 1 and 4294967295 inclusive"), "{e}");
}

#[test]
fn maxmemory_clients_takes_percentages() {
    let mut p = params();
    set_one(&mut p, "maxmemory-clients", "10%").unwrap();
    assert_eq!(p.text("maxmemory-clients"), "10%");
    set_one(&mut p, "maxmemory-clients", "0%").unwrap();
    assert_eq!(p.text("maxmemory-clients"), "0");
    set_one(&mut p, "maxmemory-clients", "5mb").unwrap();
    assert_eq!(p.text("maxmemory-clients"), "5242880");
    let e = set_one(&mut p, "maxmemory-clients", "101%").unwrap_err();
    assert!(
        e.ends_with("percentage argument must be less or equal to 100"),
        "{e}"
    );
    let e = set_one(&mut p, "maxmemory-clients", "-1%").unwrap_err();
    assert!(
        e.ends_with("argument must be a memory or percent value"),
        "{e}"
    );
}

#[test]
fn save_and_output_buffer_limits() {
    let mut p = params();
    set_one(&mut p, "save", "0100 5 +60 0").unwrap();
    assert_eq!(p.text("save"), "100 5 60 0");
    for bad in ["0 1", "100 -1", " ", "3600  1", "5 1x", "1 2 3"] {
        let e = set_one(&mut p, "save", bad).unwrap_err();
        assert!(e.ends_with("Invalid save parameters"), "{bad:?}: {e}");
    }
    set_one(&mut p, "save", "").unwrap();
    assert_eq!(p.text("save"), "");
    set_one(&mut p, "client-output-buffer-limit", "pubsub 1mb 2kb 5").unwrap();
    set_one(&mut p, "client-output-buffer-limit", "NORMAL 1 2 ").unwrap();
    assert_eq!(
        p.text("client-output-buffer-limit"),
        "normal 1 2 0 slave 268435456 67108864 60 pubsub 1048576 2048 5"
    );
    set_one(&mut p, "client-output-buffer-limit", "").unwrap();
    for bad in [
        "normal  1 2 3",
        "master 1 2 3",
        "normal 1 2 -1",
        "normal 1 -2 3",
    ] {
        assert!(
            set_one(&mut p, "client-output-buffer-limit", bad).is_err(),
            "{bad:?}"
        );
    }
    assert_eq!(
        p.text("client-output-buffer-limit"),
        "normal 1 2 0 slave 268435456 67108864 60 pubsub 1048576 2048 5"
    );
}

#[test]
fn percentiles_are_validated_and_printed_like_redis() {
    let mut p = params();
    set_one(
        &mut p,
        "latency-tracking-info-percentiles",
        "50.0 1e1 0x10 99.123456789",
    )
    .unwrap();
    assert_eq!(
        p.text("latency-tracking-info-percentiles"),
        "50 10 16 99.123457"
    );
    for bad in ["abc", "50  99", " 50", "nan", "5kb"] {
        let e = set_one(&mut p, "latency-tracking-info-percentiles", bad).unwrap_err();
        assert!(
            e.ends_with("Invalid latency-tracking-info-percentiles parameters"),
            "{e}"
        );
    }
    for bad in ["-1", "101", "inf"] {
        let e = set_one(&mut p, "latency-tracking-info-percentiles", bad).unwrap_err();
        assert!(e.ends_with("should sit between [0.0,100.0]"), "{e}");
    }
}

#[test]
fn names_are_checked_before_values() {
    let mut p = params();
    let pair = |n: &str, v: &str| (n.to_string(), v.to_string());
    let e = p
        .set(&[pair("timeout", "x"), pair("foo", "1")])
        .unwrap_err();
    assert_eq!(
        e,
        "Unknown option or number of arguments for CONFIG SET - 'foo'"
    );
    let e = p
        .set(&[pair("DAEMONIZE", "yes"), pair("foo", "1")])
        .unwrap_err();
    assert!(
        e.contains("'DAEMONIZE') - can't set immutable config"),
        "{e}"
    );
    let e = p
        .set(&[pair("timeout", "1"), pair("TIMEOUT", "2")])
        .unwrap_err();
    assert!(e.contains("'TIMEOUT') - duplicate parameter"), "{e}");
    let e = set_one(&mut p, "DIR", "/tmp").unwrap_err();
    assert!(e.contains("'DIR') - can't set protected config"), "{e}");
    let e = set_one(&mut p, "MAXMEMORY", "x").unwrap_err();
    assert!(
        e.contains("'maxmemory') - argument must be a memory value"),
        "{e}"
    );
    // A parameter and its alias are two names: both apply, in order.
    p.set(&[
        pair("list-max-ziplist-size", "3"),
        pair("list-max-listpack-size", "4"),
    ])
    .unwrap();
    assert_eq!(p.text("list-max-listpack-size"), "4");
}

#[test]
fn get_echoes_exact_names_as_typed() {
    let p = params();
    assert_eq!(
        p.get(&[b"MAXMEMORY", b"maxmemory", b"max*ory"]),
        vec![("MAXMEMORY".to_string(), "0".to_string())]
    );
    assert!(p.get(&[b"nosuch"]).is_empty());
}
