//! Connection commands: PING, ECHO, QUIT, RESET, HELLO, AUTH, SELECT, CLIENT.
//! They act on the connection's own state and never touch a shard's data.

use bytes::Bytes;

use crate::commands::exec::CoordOp;
use crate::commands::spec::{CommandSpec, Exec, flag::*};
use crate::core::{ClientHandle, Core, Session};
use crate::protocol::Reply;
use crate::util::parse_i64;

pub static SPECS: &[CommandSpec] = &[
    CommandSpec::new("ping", -1, FAST, (0, 0, 0), Exec::Coord(CoordOp::Ping))
        .acl(&["fast", "connection"])
        .doc("connection", "1.0.0", "Ping the server", "O(1)"),
    CommandSpec::new(
        "echo",
        2,
        LOADING | STALE | FAST,
        (0, 0, 0),
        Exec::Coord(CoordOp::Echo),
    )
    .acl(&["fast", "connection"])
    .doc("connection", "1.0.0", "Echo the given string", "O(1)"),
    CommandSpec::new(
        "quit",
        -1,
        ALLOW_BUSY | NOSCRIPT | LOADING | STALE | FAST | NO_AUTH,
        (0, 0, 0),
        Exec::Coord(CoordOp::Quit),
    )
    .acl(&["fast", "connection"])
    .doc("connection", "1.0.0", "Close the connection", "O(1)"),
    CommandSpec::new(
        "reset",
        1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        (0, 0, 0),
        Exec::Coord(CoordOp::Reset),
    )
    .acl(&["fast", "connection"])
    .doc("connection", "6.2.0", "Reset the connection", "O(1)"),
    CommandSpec::new(
        "hello",
        -1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        (0, 0, 0),
        Exec::Coord(CoordOp::Hello),
    )
    .acl(&["fast", "connection"])
    .doc("connection", "6.0.0", "Handshake with Redis", "O(1)"),
    CommandSpec::new(
        "auth",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        (0, 0, 0),
        Exec::Coord(CoordOp::Auth),
    )
    .acl(&["fast", "connection"])
    .doc(
        "connection",
        "1.0.0",
        "Authenticate to the server",
        "O(N) where N is the number of passwords defined for the user",
    ),
    CommandSpec::new(
        "select",
        2,
        LOADING | STALE | FAST,
        (0, 0, 0),
        Exec::Coord(CoordOp::Select),
    )
    .acl(&["fast", "connection"])
    .doc(
        "connection",
        "1.0.0",
        "Change the selected database for the current connection",
        "O(1)",
    ),
    CommandSpec::new("client", -2, 0, (0, 0, 0), Exec::Coord(CoordOp::Client))
        .acl(&["slow"])
        .doc(
            "connection",
            "2.4.0",
            "A container for client connection commands",
            "Depends on subcommand.",
        ),
];

pub fn ping(sess: &Session, args: &[Bytes]) -> Reply {
    // A RESP2 client in subscribed mode gets ["pong", <argument or "">], as in Redis.
    if sess.proto == 2 && sess.subs.any() && args.len() <= 2 {
        let arg = args.get(1).cloned().unwrap_or_default();
        return Reply::Array(vec![
            Reply::Bulk(Bytes::from_static(b"pong")),
            Reply::Bulk(arg),
        ]);
    }
    match args.len() {
        1 => Reply::Status(Bytes::from_static(b"PONG")),
        2 => Reply::Bulk(args[1].clone()),
        _ => crate::commands::dispatch::wrong_arity("ping"),
    }
}

pub fn select(core: &Core, sess: &mut Session, args: &[Bytes]) -> Reply {
    // Redis reads the index as an int (getIntFromObjectOrReply).
    match parse_i64(&args[1]) {
        None => Reply::error("ERR value is not an integer or out of range"),
        Some(n) if i32::try_from(n).is_err() => {
            Reply::error("ERR value is out of range, value must between -2147483648 and 2147483647")
        }
        Some(n) if n < 0 || n as usize >= core.config.databases => {
            Reply::error("ERR DB index is out of range")
        }
        Some(n) => {
            sess.set_db(n as usize);
            Reply::ok()
        }
    }
}

/// Checks a username/password pair against the only user, `default`.
fn check_password(core: &Core, user: &[u8], pass: &[u8]) -> bool {
    if user != b"default" {
        return false;
    }
    let params = core.params.borrow();
    let required = params.text("requirepass");
    required.is_empty() || required.as_bytes() == pass
}

fn wrongpass() -> Reply {
    Reply::error("WRONGPASS invalid username-password pair or user is disabled.")
}

pub fn auth(core: &Core, sess: &mut Session, args: &[Bytes]) -> Reply {
    if args.len() > 3 {
        return Reply::error("ERR syntax error");
    }
    if args.len() == 2 && core.params.borrow().text("requirepass").is_empty() {
        return Reply::error(
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        );
    }
    let (user, pass) = if args.len() == 3 {
        (&args[1][..], &args[2][..])
    } else {
        (&b"default"[..], &args[1][..])
    };
    if check_password(core, user, pass) {
        sess.set_authenticated(true);
        Reply::ok()
    } else {
        wrongpass()
    }
}

pub fn hello(core: &Core, sess: &mut Session, args: &[Bytes]) -> Reply {
    let mut proto = sess.proto;
    let mut i = 1;
    if args.len() > 1 {
        match parse_i64(&args[1]) {
            None => return Reply::error("ERR Protocol version is not an integer or out of range"),
            Some(v) if !(2..=3).contains(&v) => {
                return Reply::error("NOPROTO unsupported protocol version");
            }
            Some(v) => proto = v as u8,
        }
        i = 2;
    }
    // Options are all parsed (and client names checked) before the credentials are, as in
    // Redis.
    let mut setname: Option<Bytes> = None;
    let mut credentials: Option<(&Bytes, &Bytes)> = None;
    while i < args.len() {
        let more = args.len() - i - 1;
        if args[i].eq_ignore_ascii_case(b"AUTH") && more >= 2 {
            credentials = Some((&args[i + 1], &args[i + 2]));
            i += 3;
        } else if args[i].eq_ignore_ascii_case(b"SETNAME") && more >= 1 {
            if let Err(e) = valid_client_name(&args[i + 1]) {
                return e;
            }
            setname = Some(args[i + 1].clone());
            i += 2;
        } else {
            return Reply::error(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(&args[i])
            ));
        }
    }
    let authed = match credentials {
        Some((user, pass)) if !check_password(core, user, pass) => return wrongpass(),
        Some(_) => true,
        None => false,
    };
    if !sess.authenticated && !authed {
        return Reply::error(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
        );
    }
    if authed {
        sess.set_authenticated(true);
    }
    if let Some(name) = setname {
        sess.handle.meta.borrow_mut().name = (!name.is_empty()).then_some(name);
    }
    sess.set_proto(proto);
    Reply::Map(vec![
        (bulk("server"), bulk("redis")),
        (bulk("version"), bulk(crate::REDIS_VERSION)),
        (bulk("proto"), Reply::Integer(proto as i64)),
        (bulk("id"), Reply::Integer(sess.id() as i64)),
        (bulk("mode"), bulk("standalone")),
        (bulk("role"), bulk("master")),
        (bulk("modules"), Reply::Array(vec![])),
    ])
}

fn bulk(s: &str) -> Reply {
    Reply::Bulk(Bytes::copy_from_slice(s.as_bytes()))
}

pub fn reset(core: &Core, sess: &mut Session) -> Reply {
    crate::commands::monitor::stop(sess);
    sess.set_db(0);
    sess.set_proto(2);
    let needs_auth = !core.params.borrow().text("requirepass").is_empty();
    sess.set_authenticated(!needs_auth);
    {
        let mut m = sess.handle.meta.borrow_mut();
        m.name = None;
    }
    Reply::Status(Bytes::from_static(b"RESET"))
}

/// Redis refuses client names with spaces, newlines or other characters outside '!'..'~'.
fn valid_client_name(name: &[u8]) -> Result<(), Reply> {
    if name.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(Reply::error(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(())
}

fn sub_arity(sub: &str) -> Reply {
    Reply::error(format!(
        "ERR wrong number of arguments for 'client|{sub}' command"
    ))
}

pub async fn client(core: &Core, sess: &mut Session, args: &[Bytes]) -> Reply {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    let n = args.len();
    match sub.as_str() {
        "id" if n == 2 => Reply::Integer(sess.id() as i64),
        "getname" if n == 2 => match &sess.handle.meta.borrow().name {
            Some(name) => Reply::Bulk(name.clone()),
            None => Reply::Nil,
        },
        "setname" if n == 3 => {
            if let Err(e) = valid_client_name(&args[2]) {
                return e;
            }
            let name = (!args[2].is_empty()).then(|| args[2].clone());
            sess.handle.meta.borrow_mut().name = name;
            Reply::ok()
        }
        "setinfo" if n == 4 => client_setinfo(sess, &args[2], &args[3]),
        "info" if n == 2 => Reply::Verbatim(
            "txt",
            Bytes::from(format!(
                "{}\n",
                sess.handle.info_line(crate::util::now_ms())
            )),
        ),
        "list" => client_list(core, sess, &args[2..]).await,
        "kill" if n >= 3 => client_kill(core, sess, &args[2..]).await,
        "no-evict" | "no-touch" if n == 3 => on_off(&args[2]),
        "unblock" if n == 3 || n == 4 => {
            crate::commands::blocking::client_unblock(core, &args[2..]).await
        }
        "help" if n == 2 => Reply::Array(
            CLIENT_HELP
                .iter()
                .map(|l| Reply::Status(Bytes::from_static(l.as_bytes())))
                .collect(),
        ),
        "id" | "getname" | "setname" | "setinfo" | "info" | "kill" | "no-evict" | "no-touch"
        | "unblock" | "help" => sub_arity(&sub),
        _ => Reply::error(format!(
            "ERR unknown subcommand '{}'. Try CLIENT HELP.",
            String::from_utf8_lossy(&args[1])
        )),
    }
}

const CLIENT_HELP: &[&str] = &[
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "    * ID <client-id>",
    "      Kill connections by client id.",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "SETINFO <option> <value>",
    "    Set client meta attr. Options are:",
    "    * LIB-NAME: the client lib name.",
    "    * LIB-VER: the client lib version.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "HELP",
    "    Print this help.",
];

fn on_off(arg: &[u8]) -> Reply {
    if arg.eq_ignore_ascii_case(b"on") || arg.eq_ignore_ascii_case(b"off") {
        Reply::ok()
    } else {
        Reply::error("ERR syntax error")
    }
}

fn client_setinfo(sess: &mut Session, attr: &[u8], value: &Bytes) -> Reply {
    // LIB-NAME / LIB-VER follow the same character rules as client names, and LIB-NAME
    // may not contain spaces.
    if value.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Reply::error(format!(
            "ERR {} cannot contain spaces, newlines or special characters.",
            String::from_utf8_lossy(attr).to_ascii_uppercase()
        ));
    }
    let v = (!value.is_empty()).then(|| value.clone());
    let mut m = sess.handle.meta.borrow_mut();
    if attr.eq_ignore_ascii_case(b"lib-name") {
        m.lib_name = v;
    } else if attr.eq_ignore_ascii_case(b"lib-ver") {
        m.lib_ver = v;
    } else {
        return Reply::error(format!(
            "ERR Unrecognized option '{}'",
            String::from_utf8_lossy(attr)
        ));
    }
    Reply::ok()
}

/// A CLIENT LIST / KILL filter, Send so it can travel to every core.
#[derive(Clone, Default)]
struct ClientFilter {
    ids: Option<Vec<u64>>,
    addr: Option<String>,
    laddr: Option<String>,
    /// "normal" or "pubsub"; "master"/"replica" match nothing (no replication).
    kind: Option<String>,
    user: Option<String>,
    skip_id: Option<u64>,
}

impl ClientFilter {
    fn matches(&self, c: &ClientHandle) -> bool {
        if self.skip_id == Some(c.id) {
            return false;
        }
        if let Some(ids) = &self.ids
            && !ids.contains(&c.id)
        {
            return false;
        }
        if let Some(a) = &self.addr
            && *a != c.addr.to_string()
        {
            return false;
        }
        if let Some(a) = &self.laddr
            && *a != c.laddr.to_string()
        {
            return false;
        }
        if let Some(u) = &self.user
            && u != "default"
        {
            return false;
        }
        if let Some(k) = &self.kind {
            let m = c.meta.borrow();
            let pubsub = m.subscriptions + m.psubscriptions > 0;
            return match k.as_str() {
                "normal" => !pubsub,
                "pubsub" => pubsub,
                _ => false,
            };
        }
        true
    }
}

fn parse_type(v: &[u8]) -> Result<String, Reply> {
    let t = String::from_utf8_lossy(v).to_ascii_lowercase();
    match t.as_str() {
        "normal" | "pubsub" | "master" | "replica" => Ok(t),
        "slave" => Ok("replica".into()),
        _ => Err(Reply::error(format!(
            "ERR Unknown client type '{}'",
            String::from_utf8_lossy(v)
        ))),
    }
}

/// CLIENT LIST [TYPE type | ID id [id ...]]: one filter or none, as in Redis 7.0 (which
/// does not combine them). IDs may be any integer; those that match no client list nothing.
async fn client_list(core: &Core, _sess: &Session, opts: &[Bytes]) -> Reply {
    let mut filter = ClientFilter::default();
    match opts {
        [] => {}
        [kind, t] if kind.eq_ignore_ascii_case(b"type") => match parse_type(t) {
            Ok(t) => filter.kind = Some(t),
            Err(e) => return e,
        },
        [id, ids @ ..] if id.eq_ignore_ascii_case(b"id") && !ids.is_empty() => {
            let mut wanted = Vec::with_capacity(ids.len());
            for v in ids {
                match parse_i64(v) {
                    Some(id) => wanted.extend(u64::try_from(id).ok()),
                    None => return Reply::error("ERR Invalid client ID"),
                }
            }
            filter.ids = Some(wanted);
        }
        _ => return syntax_error(),
    }
    let lines = core
        .router
        .run_on_all(move |_shard| {
            let now = crate::util::now_ms();
            Core::current()
                .map(|c| {
                    let clients = c.clients.borrow();
                    let mut v: Vec<(u64, String)> = clients
                        .values()
                        .filter(|h| filter.matches(h))
                        .map(|h| (h.id, h.info_line(now)))
                        .collect();
                    v.sort_unstable_by_key(|(id, _)| *id);
                    v
                })
                .unwrap_or_default()
        })
        .await;
    let mut all: Vec<(u64, String)> = lines.into_iter().flatten().flatten().collect();
    all.sort_unstable_by_key(|(id, _)| *id);
    let mut text = String::new();
    for (_, l) in all {
        text.push_str(&l);
        text.push('\n');
    }
    Reply::Verbatim("txt", Bytes::from(text))
}

/// CLIENT KILL, both forms. Options are parsed left to right and the first bad one is the
/// error, as in Redis. A client that kills itself (SKIPME no) gets its reply before the
/// connection closes.
async fn client_kill(core: &Core, sess: &mut Session, opts: &[Bytes]) -> Reply {
    // Old form: CLIENT KILL ip:port, an error when nobody matched.
    if opts.len() == 1 {
        let filter = ClientFilter {
            addr: Some(String::from_utf8_lossy(&opts[0]).into_owned()),
            ..ClientFilter::default()
        };
        return if kill_clients(core, sess, filter).await > 0 {
            Reply::ok()
        } else {
            Reply::error("ERR No such client")
        };
    }
    let mut filter = ClientFilter::default();
    let mut skipme = true;
    let mut i = 0;
    while i < opts.len() {
        let Some(v) = opts.get(i + 1) else {
            return syntax_error();
        };
        let k = &opts[i];
        let text = String::from_utf8_lossy(v).into_owned();
        if k.eq_ignore_ascii_case(b"id") {
            match parse_i64(v) {
                Some(id) if id > 0 => filter.ids = Some(vec![id as u64]),
                _ => return Reply::error("ERR client-id should be greater than 0"),
            }
        } else if k.eq_ignore_ascii_case(b"addr") {
            filter.addr = Some(text);
        } else if k.eq_ignore_ascii_case(b"laddr") {
            filter.laddr = Some(text);
        } else if k.eq_ignore_ascii_case(b"type") {
            match parse_type(v) {
                Ok(t) => filter.kind = Some(t),
                Err(e) => return e,
            }
        } else if k.eq_ignore_ascii_case(b"user") {
            // The only user is `default`.
            if text != "default" {
                return Reply::error(format!("ERR No such user '{text}'"));
            }
            filter.user = Some(text);
        } else if k.eq_ignore_ascii_case(b"skipme") {
            if v.eq_ignore_ascii_case(b"yes") {
                skipme = true;
            } else if v.eq_ignore_ascii_case(b"no") {
                skipme = false;
            } else {
                return syntax_error();
            }
        } else {
            return syntax_error();
        }
        i += 2;
    }
    if skipme {
        filter.skip_id = Some(sess.id());
    }
    Reply::Integer(kill_clients(core, sess, filter).await as i64)
}

fn syntax_error() -> Reply {
    Reply::error("ERR syntax error")
}

/// Kills every client `filter` matches, on every core. The calling client, if it matches, is
/// not cut off mid-command: it is closed after this command's reply is written.
async fn kill_clients(core: &Core, sess: &mut Session, mut filter: ClientFilter) -> usize {
    let kills_self = filter.matches(&sess.handle);
    filter.skip_id = Some(sess.id());
    let others = kill_matching(core, filter).await;
    if kills_self {
        sess.close_after_reply = true;
    }
    others + usize::from(kills_self)
}

async fn kill_matching(core: &Core, filter: ClientFilter) -> usize {
    core.router
        .run_on_all(move |_shard| {
            Core::current()
                .map(|c| {
                    let clients = c.clients.borrow();
                    let mut n = 0;
                    for h in clients.values().filter(|h| filter.matches(h)) {
                        h.kill();
                        n += 1;
                    }
                    n
                })
                .unwrap_or(0)
        })
        .await
        .into_iter()
        .flatten()
        .sum()
}
