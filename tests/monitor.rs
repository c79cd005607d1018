//! MONITOR over real sockets: lines from clients on every core, Redis's quoting, what is never
//! shown (admin commands) or redacted (AUTH), MULTI/EXEC order, RESET, and pruning.

mod common;

use common::{Raw, Server};

const OK: &str = "+OK\r\n";

/// The part of a monitor line after the timestamp: `[db addr] "arg" ...`, with the address
/// replaced by `ADDR`.
fn shape(reply: &[u8]) -> String {
    let text = String::from_utf8_lossy(reply).into_owned();
    assert!(
        text.starts_with('+') && text.ends_with("\r\n"),
        "a status line: {text:?}"
    );
    let open = text.find('[').expect("a [db addr] part");
    let close = text.find(']').expect("a [db addr] part");
    let ts = &text[1..open - 1];
    let (secs, micros) = ts.split_once('.').expect("secs.micros");
    assert!(
        secs.parse::<u64>().is_ok() && micros.len() == 6,
        "timestamp {ts:?}"
    );
    let inner = &text[open + 1..close];
    let db = inner.split(' ').next().unwrap_or_default();
    format!("[{db} ADDR]{}", &text[close + 1..text.len() - 2])
}

fn start_monitor(server: &Server) -> Raw {
    let mut m = server.raw();
    assert_eq!(m.q(&["MONITOR"]), OK);
    m
}

#[test]
fn shows_commands_from_clients_on_every_core_quoted_like_redis() {
    let server = Server::start(2, &[]);
    let mut mon = start_monitor(&server);
    // Several connections, so both cores' accept loops serve some of them.
    let mut clients: Vec<Raw> = (0..6).map(|_| server.raw()).collect();
    for (i, c) in clients.iter_mut().enumerate() {
        let key = format!("k{i}");
        assert_eq!(c.q(&["SET", &key, "a b\"c\\\n\u{1}"]), OK);
        let line = shape(&mon.read_reply());
        assert_eq!(
            line,
            format!("[0 ADDR] \"SET\" \"{key}\" \"a b\\\"c\\\\\\n\\x01\"")
        );
    }
    let mut c = server.raw();
    assert_eq!(c.q(&["SELECT", "3"]), OK);
    assert_eq!(
        shape(&mon.read_reply()),
        "[3 ADDR] \"SELECT\" \"3\"",
        "shown after it ran"
    );
    c.q(&["GET", "x"]);
    assert_eq!(shape(&mon.read_reply()), "[3 ADDR] \"GET\" \"x\"");
}

#[test]
fn hides_admin_commands_redacts_auth_and_orders_exec() {
    let server = Server::start(2, &[]);
    let mut mon = start_monitor(&server);
    let mut c = server.raw();
    c.q(&["CONFIG", "GET", "port"]);
    c.q(&["CLIENT", "LIST"]);
    c.q(&["SLOWLOG", "LEN"]);
    c.q(&["AUTH", "nobody", "secret"]);
    assert_eq!(
        shape(&mon.read_reply()),
        "[0 ADDR] \"AUTH\" \"(redacted)\" \"(redacted)\"",
        "admin commands before it were not shown"
    );
    c.q(&["HELLO", "2", "AUTH", "default", "pw"]);
    assert_eq!(
        shape(&mon.read_reply()),
        "[0 ADDR] \"HELLO\" \"2\" \"AUTH\" \"(redacted)\" \"(redacted)\""
    );
    c.send(b"MULTI\r\nSET x 1\r\nGET x\r\nEXEC\r\n");
    for _ in 0..4 {
        c.read_reply();
    }
    let lines: Vec<String> = (0..4).map(|_| shape(&mon.read_reply())).collect();
    assert_eq!(
        lines,
        [
            "[0 ADDR] \"MULTI\"",
            "[0 ADDR] \"SET\" \"x\" \"1\"",
            "[0 ADDR] \"GET\" \"x\"",
            "[0 ADDR] \"EXEC\""
        ]
    );
    // An unknown command or an arity error is not run, so not shown.
    c.q(&["NOSUCH"]);
    c.q(&["GET"]);
    c.q(&["PING"]);
    assert_eq!(shape(&mon.read_reply()), "[0 ADDR] \"PING\"");
}

#[test]
fn client_list_flags_reset_and_disconnect() {
    let server = Server::start(2, &[]);
    let mut mon = start_monitor(&server);
    let mut c = server.raw();
    let list = c.q(&["CLIENT", "LIST"]);
    assert_eq!(list.matches("flags=O").count(), 1, "{list}");
    // RESET leaves monitor mode: the connection answers commands again and gets no lines.
    assert_eq!(mon.q(&["RESET"]), "+RESET\r\n");
    c.q(&["SET", "quiet", "1"]);
    assert_eq!(
        mon.q(&["PING"]),
        "+PONG\r\n",
        "no monitor line queued before PONG"
    );
    let list = c.q(&["CLIENT", "LIST"]);
    assert_eq!(list.matches("flags=O").count(), 0, "{list}");
    // A monitor that disconnects is pruned; the others keep receiving.
    let gone = start_monitor(&server);
    drop(gone);
    let mut stays = start_monitor(&server);
    for i in 0..20 {
        assert_eq!(c.q(&["SET", "k", &i.to_string()]), OK);
        let line = shape(&stays.read_reply());
        assert_eq!(line, format!("[0 ADDR] \"SET\" \"k\" \"{i}\""));
    }
}
