//! MULTI / EXEC / DISCARD / WATCH / UNWATCH over real sockets, on one and on four shards.

mod common;

use common::Server;

fn for_shards(body: impl Fn(&Server)) {
    for shards in [1, 4] {
        let server = Server::start(shards, &[]);
        body(&server);
    }
}

#[test]
fn exec_runs_queued_commands_in_order() {
    for_shards(|s| {
        let mut r = s.raw();
        r.send(b"MULTI\r\nSET a 1\r\nINCR a\r\nGET a\r\nEXEC\r\n");
        r.expect(b"+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n+OK\r\n:2\r\n$1\r\n2\r\n");
        // Keys on several shards in one transaction.
        r.send(
            b"MULTI\r\nMSET k1 a k2 b k3 c k4 d\r\nMGET k1 k2 k3 k4\r\nDEL k1 k2 k3 k4\r\nEXEC\r\n",
        );
        r.expect(b"+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n+OK\r\n*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n:4\r\n");
    });
}

#[test]
fn errors_while_queueing_abort_exec() {
    for_shards(|s| {
        let mut r = s.raw();
        r.send(b"MULTI\r\nNOSUCH x\r\nSET a\r\nSET b 1\r\nEXEC\r\nGET b\r\n");
        r.expect(b"+OK\r\n-ERR unknown command 'NOSUCH', with args beginning with: 'x' \r\n");
        r.expect(b"-ERR wrong number of arguments for 'set' command\r\n+QUEUED\r\n");
        r.expect(b"-EXECABORT Transaction discarded because of previous errors.\r\n$-1\r\n");
    });
}

#[test]
fn runtime_errors_do_not_stop_the_transaction() {
    for_shards(|s| {
        let mut r = s.raw();
        r.send(b"SET s notanumber\r\nMULTI\r\nINCR s\r\nSET t 1\r\nEXEC\r\n");
        r.expect(b"+OK\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n-ERR value is not an integer or out of range\r\n+OK\r\n");
    });
}

#[test]
fn misuse_gets_redis_errors() {
    for_shards(|s| {
        let mut r = s.raw();
        r.send(b"EXEC\r\nDISCARD\r\nMULTI\r\nMULTI\r\nWATCH x\r\nDISCARD\r\n");
        r.expect(b"-ERR EXEC without MULTI\r\n-ERR DISCARD without MULTI\r\n+OK\r\n");
        r.expect(b"-ERR MULTI calls can not be nested\r\n-ERR WATCH inside MULTI is not allowed\r\n+OK\r\n");
    });
}

#[test]
fn watch_aborts_exec_when_another_client_writes() {
    for_shards(|s| {
        let mut a = s.raw();
        let mut b = s.raw();
        a.send(b"WATCH w1 w2 w3 w4\r\n");
        a.expect(b"+OK\r\n");
        b.send(b"SET w3 changed\r\n");
        b.expect(b"+OK\r\n");
        a.send(b"MULTI\r\nSET w1 mine\r\nEXEC\r\nGET w1\r\n");
        a.expect(b"+OK\r\n+QUEUED\r\n*-1\r\n$-1\r\n");
        // After EXEC the watches are gone: a new transaction runs.
        a.send(b"MULTI\r\nSET w1 mine\r\nEXEC\r\n");
        a.expect(b"+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n");
    });
}

#[test]
fn watch_passes_when_nothing_changed_and_unwatch_clears() {
    for_shards(|s| {
        let mut a = s.raw();
        let mut b = s.raw();
        a.send(b"SET w 1\r\nWATCH w\r\nMULTI\r\nINCR w\r\nEXEC\r\n");
        a.expect(b"+OK\r\n+OK\r\n+OK\r\n+QUEUED\r\n*1\r\n:2\r\n");
        a.send(b"WATCH w\r\nUNWATCH\r\n");
        a.expect(b"+OK\r\n+OK\r\n");
        b.send(b"SET w 5\r\n");
        b.expect(b"+OK\r\n");
        a.send(b"MULTI\r\nINCR w\r\nEXEC\r\n");
        a.expect(b"+OK\r\n+QUEUED\r\n*1\r\n:6\r\n");
        // A SET NX that changes nothing does not invalidate a watch.
        a.send(b"WATCH w\r\n");
        a.expect(b"+OK\r\n");
        b.send(b"SET w 9 NX\r\n");
        b.expect(b"$-1\r\n");
        a.send(b"MULTI\r\nGET w\r\nEXEC\r\n");
        a.expect(b"+OK\r\n+QUEUED\r\n*1\r\n$1\r\n6\r\n");
    });
}

#[test]
fn watched_key_that_expires_aborts_exec() {
    for_shards(|s| {
        let mut a = s.raw();
        a.send(b"SET e 1 PX 50\r\nWATCH e\r\n");
        a.expect(b"+OK\r\n+OK\r\n");
        std::thread::sleep(std::time::Duration::from_millis(120));
        a.send(b"MULTI\r\nGET e\r\nEXEC\r\n");
        a.expect(b"+OK\r\n+QUEUED\r\n*-1\r\n");
    });
}

#[test]
fn flushall_and_discard_and_resp3_null() {
    for_shards(|s| {
        let mut a = s.raw();
        let mut b = s.raw();
        a.send(b"HELLO 3\r\n");
        let _ = a.read_reply();
        a.send(b"SET f 1\r\nWATCH f\r\n");
        a.expect(b"+OK\r\n+OK\r\n");
        b.send(b"FLUSHALL\r\n");
        b.expect(b"+OK\r\n");
        a.send(b"MULTI\r\nSET f 2\r\nEXEC\r\n");
        a.expect(b"+OK\r\n+QUEUED\r\n_\r\n");
        a.send(b"MULTI\r\nSET f 3\r\nDISCARD\r\nGET f\r\n");
        a.expect(b"+OK\r\n+QUEUED\r\n+OK\r\n_\r\n");
    });
}

#[test]
fn redis_crate_atomic_pipeline() {
    let s = Server::start(4, &[]);
    let mut con = s.conn();
    let (a, b): (i64, i64) = redis::pipe()
        .atomic()
        .cmd("INCR")
        .arg("{t}c")
        .cmd("INCRBY")
        .arg("{t}c")
        .arg(10)
        .query(&mut con)
        .expect("transaction");
    assert_eq!((a, b), (1, 11));
}
