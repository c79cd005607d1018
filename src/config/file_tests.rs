use super::*;
use clap::CommandFactory;

fn args(line: &str) -> Vec<String> {
    split_args(line).unwrap()
}

/// Loads `text` as a file's content.
fn load_text(text: &str) -> Result<Vec<Setting>, String> {
    let mut loader = Loader::default();
    for (i, raw) in text.lines().enumerate() {
        if let Some(args) = split_line(raw).map_err(|e| format!("{}: {e}", i + 1))? {
            loader
                .apply(i + 1, &args)
                .map_err(|e| format!("{}: {e}", i + 1))?;
        }
    }
    Ok(loader.settings)
}

fn value(settings: &[Setting], name: &str) -> String {
    settings
        .iter()
        .find(|s| s.name == name)
        .map(|s| s.text.clone())
        .unwrap_or_else(|| panic!("{name} not set"))
}

#[test]
fn splits_like_sdssplitargs() {
    assert_eq!(args("  port   6380 "), ["port", "6380"]);
    assert_eq!(
        args(r#"requirepass "a b\"c\\d""#),
        ["requirepass", r#"a b"c\d"#]
    );
    assert_eq!(args(r#"x "\x41\n\t""#), ["x", "A\n\t"]);
    assert_eq!(args(r"x 'it\'s'"), ["x", "it's"]);
    assert_eq!(args(r#"save """#), ["save", ""]);
    assert_eq!(args(r#"x a"b"#), ["x", "a\"b"]);
    assert_eq!(split_args(r#"x "open"#).unwrap_err(), "unbalanced quotes");
    assert_eq!(split_args("x 'open").unwrap_err(), "unbalanced quotes");
    assert!(
        split_args(r#"x "a"b"#).is_err(),
        "a closing quote ends the argument"
    );
    assert_eq!(split_line("   # comment").unwrap(), None);
    assert_eq!(split_line("\t\r").unwrap(), None);
}

#[test]
fn values_go_through_the_registry() {
    let s = load_text(
        "MaxMemory 1gb\nnotify-keyspace-events KEA\nhash-max-ziplist-entries 7\nhz 9999\n",
    )
    .unwrap();
    assert_eq!(value(&s, "maxmemory"), "1073741824");
    assert_eq!(value(&s, "notify-keyspace-events"), "AKE");
    assert_eq!(value(&s, "hash-max-listpack-entries"), "7");
    assert_eq!(value(&s, "hz"), "500");
    // Immutable and protected parameters are set in the file, as in redis.conf.
    let s = load_text("daemonize no\ndir /tmp\n").unwrap();
    assert_eq!(value(&s, "dir"), "/tmp");
}

#[test]
fn bad_lines_are_named() {
    let err = |text: &str| load_text(text).unwrap_err();
    assert_eq!(
        err("port 1\nmaxmemmory 5"),
        "2: unknown option 'maxmemmory'"
    );
    assert_eq!(
        err("maxclients 0"),
        "1: invalid value for 'maxclients': argument must be between 1 and 4294967295 inclusive"
    );
    assert_eq!(
        err("timeout 1 2"),
        "1: wrong number of arguments for 'timeout'"
    );
    assert_eq!(err("timeout"), "1: wrong number of arguments for 'timeout'");
    assert!(err("include other.conf").contains("'include' is not supported"));
    assert!(err("bind localhost").contains("not an IP address"));
    assert!(err("bind 127.0.0.1 -::1").contains("one address"));
    assert!(err("shards 0").contains("between 1 and 256"));
    assert!(err("log-format xml").contains("text, json"));
}

#[test]
fn repeated_options_follow_redis() {
    let s = load_text("timeout 1\ntimeout 2\n").unwrap();
    assert_eq!(value(&s, "timeout"), "2");
    assert_eq!(s[0].line, 2, "the line that set the value last");
    let s = load_text("save 100 1\nsave 200 2\n").unwrap();
    assert_eq!(value(&s, "save"), "100 1 200 2");
    let s = load_text("save 100 1\nsave \"\"\nsave 300 3\n").unwrap();
    assert_eq!(value(&s, "save"), "300 3");
    let s = load_text(
        "client-output-buffer-limit pubsub 1mb 2mb 3\nclient-output-buffer-limit normal 1 2 3\n",
    )
    .unwrap();
    assert_eq!(
        value(&s, "client-output-buffer-limit"),
        "normal 1 2 3 slave 268435456 67108864 60 pubsub 1048576 2097152 3"
    );
    let s = load_text("latency-tracking-info-percentiles 50 99.99\n").unwrap();
    assert_eq!(value(&s, "latency-tracking-info-percentiles"), "50 99.99");
}

#[test]
fn command_line_options_map_to_clap_arguments() {
    let cmd = Cli::command();
    for name in CLI_NAMES {
        let id = cli_arg_id(name).unwrap();
        assert!(
            cmd.get_arguments().any(|a| a.get_id() == id.as_str()),
            "--{name} is a flag"
        );
        assert!(lookup(name).is_some(), "{name} is a file option");
        let spec = lookup(name).unwrap();
        let mut cli = <Cli as clap::Parser>::parse_from(["corekv"]);
        let sample = if spec.default.is_empty() {
            "1"
        } else {
            spec.default
        };
        assert_eq!(set_cli_field(&mut cli, name, sample), Ok(true), "{name}");
    }
    let mut cli = <Cli as clap::Parser>::parse_from(["corekv"]);
    assert_eq!(set_cli_field(&mut cli, "maxclients", "5"), Ok(false));
    assert_eq!(cli_arg_id("maxclients"), None);
}

#[test]
fn own_options_text_follows_the_table() {
    let cli = <Cli as clap::Parser>::parse_from(["corekv", "--no-pin", "--shards", "3"]);
    let text = own_options_text(&cli);
    let names: Vec<&str> = text.iter().map(|(n, _)| *n).collect();
    let table: Vec<&str> = OWN_OPTIONS.iter().map(|s| s.name).collect();
    assert_eq!(names, table);
    assert_eq!(text[0], ("shards", "3".to_string()));
    assert_eq!(text[1], ("no-pin", "yes".to_string()));
    // Every default reads back as its own option's default text.
    let cli = <Cli as clap::Parser>::parse_from(["corekv"]);
    for ((name, text), spec) in own_options_text(&cli).iter().zip(OWN_OPTIONS) {
        assert_eq!(text, spec.default, "{name}");
    }
}

#[test]
fn no_own_option_shadows_a_registry_parameter() {
    for spec in OWN_OPTIONS {
        assert!(params::find(spec.name).is_none(), "{}", spec.name);
    }
}
