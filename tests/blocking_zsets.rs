//! BZPOPMIN, BZPOPMAX and BZMPOP over real sockets on `--shards 4`: immediate answers with
//! Redis 7.0.15's bytes, wake-ups by ZADD from another connection on any shard, FIFO order,
//! timeouts, errors, MULTI, and one serve for a client blocked on keys of several shards.

#[path = "common/blocking.rs"]
mod blocking;
mod common;

use std::time::{Duration, Instant};

use blocking::{blocked, reply, send, wait_blocked};
use common::{Raw, Server, int, key_on_shard};

#[test]
fn data_already_there_is_answered_like_redis() {
    let server = Server::start(4, &[]);
    let mut r = server.raw();
    assert_eq!(r.q(&["ZADD", "z", "1.5", "a", "2", "b", "3", "c"]), int(3));
    // Byte for byte what redis-server 7.0.15 answered to the same sequence.
    assert_eq!(
        r.q(&["BZPOPMIN", "z", "0"]),
        "*3\r\n$1\r\nz\r\n$1\r\na\r\n$3\r\n1.5\r\n"
    );
    assert_eq!(
        r.q(&["BZPOPMAX", "z2", "z", "0"]),
        "*3\r\n$1\r\nz\r\n$1\r\nc\r\n$1\r\n3\r\n"
    );
    assert_eq!(
        r.q(&["BZMPOP", "0.1", "2", "z2", "z", "MIN", "COUNT", "5"]),
        "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
    assert_eq!(r.q(&["BZPOPMIN", "z", "0.05"]), "*-1\r\n");
    assert_eq!(r.q(&["BZMPOP", "0.05", "1", "z", "MAX"]), "*-1\r\n");
    assert_eq!(
        r.q(&["BZMPOP", "0.05", "0", "z", "MAX"]),
        "-ERR numkeys should be greater than 0\r\n"
    );
    assert_eq!(
        r.q(&["BZPOPMIN", "z", "-1"]),
        "-ERR timeout is negative\r\n"
    );
    r.q(&["SET", "s", "x"]);
    assert_eq!(
        r.q(&["BZPOPMIN", "s", "0"]),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    r.q(&["MULTI"]);
    r.q(&["BZPOPMIN", "z", "0"]);
    assert_eq!(
        r.q(&["EXEC"]),
        "*1\r\n*-1\r\n",
        "inside MULTI it never blocks"
    );
    assert_eq!(blocked(&mut r), 0);
}

#[test]
fn woken_by_zadd_on_any_shard_in_fifo_order() {
    let server = Server::start(4, &[]);
    let mut pusher = server.raw();
    for shard in 0..4 {
        let key = key_on_shard("z", shard, 4);
        let mut waiters: Vec<Raw> = (0..3).map(|_| server.raw()).collect();
        for (i, w) in waiters.iter_mut().enumerate() {
            let cmd = if i == 2 { "BZPOPMAX" } else { "BZPOPMIN" };
            send(w, &[cmd, &key, "0"]);
            wait_blocked(&mut pusher, i + 1);
        }
        assert_eq!(
            pusher.q(&["ZADD", &key, "1", "a", "2", "b", "3", "c"]),
            int(3)
        );
        let k = key.len();
        assert_eq!(
            reply(&mut waiters[0]),
            format!("*3\r\n${k}\r\n{key}\r\n$1\r\na\r\n$1\r\n1\r\n")
        );
        assert_eq!(
            reply(&mut waiters[1]),
            format!("*3\r\n${k}\r\n{key}\r\n$1\r\nb\r\n$1\r\n2\r\n")
        );
        assert_eq!(
            reply(&mut waiters[2]),
            format!("*3\r\n${k}\r\n{key}\r\n$1\r\nc\r\n$1\r\n3\r\n")
        );
        assert_eq!(pusher.q(&["EXISTS", &key]), int(0));
        assert_eq!(blocked(&mut pusher), 0);
    }
}

#[test]
fn one_serve_across_shards_and_timeouts() {
    let server = Server::start(4, &[]);
    let mut pusher = server.raw();
    let (a, b) = (key_on_shard("a", 1, 4), key_on_shard("b", 3, 4));
    let mut waiter = server.raw();
    send(
        &mut waiter,
        &["BZMPOP", "0", "2", &a, &b, "MAX", "COUNT", "2"],
    );
    wait_blocked(&mut pusher, 1);
    // Both keys get data in one pipeline; the waiter takes from one of them only.
    pusher.send(format!("ZADD {a} 1 x 2 y\r\nZADD {b} 5 p\r\n").as_bytes());
    assert_eq!(pusher.read_reply(), b":2\r\n");
    assert_eq!(pusher.read_reply(), b":1\r\n");
    let got = reply(&mut waiter);
    let left_a = pusher.q(&["ZCARD", &a]);
    let left_b = pusher.q(&["ZCARD", &b]);
    if got.contains(&format!("\r\n{a}\r\n")) {
        assert!(
            got.ends_with("*2\r\n$1\r\ny\r\n$1\r\n2\r\n*2\r\n$1\r\nx\r\n$1\r\n1\r\n"),
            "{got}"
        );
        assert_eq!((left_a, left_b), (int(0), int(1)));
    } else {
        assert!(got.ends_with("*1\r\n*2\r\n$1\r\np\r\n$1\r\n5\r\n"), "{got}");
        assert_eq!((left_a, left_b), (int(2), int(0)));
    }
    // A fractional timeout answers the null array after roughly that long.
    let started = Instant::now();
    assert_eq!(pusher.q(&["BZPOPMIN", "nothing", "0.2"]), "*-1\r\n");
    assert!(started.elapsed() >= Duration::from_millis(150));
    // RESP3: the timeout reply is the null.
    pusher.q(&["HELLO", "3"]);
    assert_eq!(pusher.q(&["BZPOPMAX", "nothing", "0.05"]), "_\r\n");
    assert_eq!(blocked(&mut pusher), 0);
}
