use super::*;
use crate::config::file::{Loader, split_line};

/// `rewritten(old)` with every option at its default except `changed`.
fn rewrite_with(old: &str, changed: &[(&str, &str)]) -> String {
    let now = |spec: &ParamSpec| {
        changed
            .iter()
            .find(|(n, _)| *n == spec.name)
            .map_or(spec.default.to_string(), |(_, v)| v.to_string())
    };
    rewritten(old, &now)
}

#[test]
fn unchanged_file_stays_byte_for_byte() {
    let old = "# top\nmaxmemory 1gb\n\n\nhash-max-ziplist-entries 7   \nsome-unknown thing\n";
    let new = rewrite_with(
        old,
        &[
            ("maxmemory", "1073741824"),
            ("hash-max-listpack-entries", "7"),
        ],
    );
    assert_eq!(new, old);
}

#[test]
fn changed_values_replace_their_lines_in_place() {
    let old = "# top\nport 7000\ntimeout 5 # not a comment here\n# tail\n";
    let new = rewrite_with(old, &[("port", "7000"), ("timeout", "30")]);
    assert_eq!(new, "# top\nport 7000\ntimeout 30\n# tail\n");
}

#[test]
fn new_values_are_appended_after_the_signature_once() {
    let old = "port 7000\n";
    let new = rewrite_with(old, &[("port", "7000"), ("maxclients", "50")]);
    assert_eq!(new, format!("port 7000\n{SIGNATURE}\nmaxclients 50\n"));
    let again = rewrite_with(
        &new,
        &[("port", "7000"), ("maxclients", "50"), ("hz", "20")],
    );
    assert_eq!(
        again,
        format!("port 7000\n{SIGNATURE}\nmaxclients 50\nhz 20\n")
    );
}

#[test]
fn defaults_keep_their_line_and_empty_strings_lose_it() {
    let old = "timeout 5\nrequirepass secret\nmaxmemory 1mb\n";
    // Everything back at its default: timeout and maxmemory keep a line, with the default;
    // requirepass "" is no line at all (Redis's unset string).
    let new = rewrite_with(old, &[]);
    assert_eq!(new, "timeout 0\nmaxmemory 0\n");
    // At the default and not in the file: nothing is appended.
    assert_eq!(rewrite_with("# empty\n", &[]), "# empty\n");
}

#[test]
fn save_lines_are_reused_then_removed() {
    let old = "save 100 1\n# between\nsave 200 2\n";
    assert_eq!(
        rewrite_with(old, &[("save", "300 3")]),
        "save 300 3\n# between\n"
    );
    assert_eq!(
        rewrite_with("save 100 1\n", &[("save", "1 2 3 4")]),
        format!("save 1 2\n{SIGNATURE}\nsave 3 4\n")
    );
    assert_eq!(rewrite_with(old, &[]), "save \"\"\n# between\n");
}

#[test]
fn output_buffer_limits_keep_their_class_lines() {
    let default_normal = "normal 0 0 0";
    let old = "client-output-buffer-limit pubsub 32mb 8mb 60\n";
    let value = "normal 1048576 1048576 0 slave 268435456 67108864 60 pubsub 67108864 16777216 60";
    let new = rewrite_with(old, &[("client-output-buffer-limit", value)]);
    assert_eq!(
        new,
        format!(
            "client-output-buffer-limit pubsub 64mb 16mb 60\n{SIGNATURE}\nclient-output-buffer-limit normal 1mb 1mb 0\n"
        )
    );
    assert!(!new.contains(default_normal));
}

#[test]
fn quoting_round_trips_through_the_loader() {
    for value in [
        "plain",
        "two words",
        "",
        "quote\"s",
        "back\\slash",
        "#hash",
        "tab\there",
        "é",
    ] {
        let line = format!("requirepass {}", quote(value));
        let args = split_line(&line).unwrap().unwrap();
        let mut loader = Loader::default();
        loader.apply(1, &args).unwrap();
        assert_eq!(loader.value("requirepass"), Some(value), "{line}");
    }
    assert_eq!(quote("plain"), "plain");
    assert_eq!(quote("two words"), "\"two words\"");
}

#[test]
fn rewritten_file_loads_back_to_the_same_values() {
    let changed = [
        ("maxmemory", "3221225472"),
        ("save", "300 3 60 100"),
        ("notify-keyspace-events", "AKE"),
        ("requirepass", "p w"),
        (
            "client-output-buffer-limit",
            "normal 0 0 0 slave 1 2 3 pubsub 33554432 8388608 60",
        ),
        ("latency-tracking-info-percentiles", "50 99.99"),
        ("shards", "4"),
    ];
    let new = rewrite_with("# only a comment\n", &changed);
    let mut loader = Loader::default();
    for (i, raw) in new.lines().enumerate() {
        if let Some(args) = split_line(raw).unwrap() {
            loader.apply(i + 1, &args).unwrap();
        }
    }
    for (name, value) in changed {
        assert_eq!(loader.value(name), Some(value), "{name}\n{new}");
    }
}

#[test]
fn memory_is_written_with_units() {
    assert_eq!(memory_text("1073741824"), "1gb");
    assert_eq!(memory_text("3145728"), "3mb");
    assert_eq!(memory_text("2048"), "2kb");
    assert_eq!(memory_text("1000"), "1000");
    assert_eq!(memory_text("0"), "0");
}
