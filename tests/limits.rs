//! Connection limits as Redis applies them: `maxclients`, the idle `timeout` (subscribers are
//! exempt), and that loopback clients are served in protected mode without a password.

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::{OK, Raw, Server};

#[test]
fn maxclients_refuses_the_connection_over_the_limit() {
    let server = Server::start(2, &[]);
    let mut admin = server.raw();
    assert_eq!(admin.q(&["CONFIG", "SET", "maxclients", "3"]), OK);
    let mut second = server.raw();
    assert_eq!(second.q(&["PING"]), "+PONG\r\n");
    let mut third = server.raw();
    assert_eq!(third.q(&["PING"]), "+PONG\r\n");
    // The fourth is over the limit: Redis's error, then the connection is closed.
    let mut fourth = server.raw();
    assert_eq!(
        fourth.read_reply(),
        b"-ERR max number of clients reached\r\n"
    );
    assert!(fourth.is_closed());
    let rejected = common::info_fields(&mut admin, "stats")["rejected_connections"].clone();
    assert_eq!(rejected, "1");
    // Once one leaves, a new client gets in.
    drop(third);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut again = server.raw();
        again.send(&common::encode(&[b"PING"]));
        let reply = again.read_reply();
        if reply == b"+PONG\r\n" {
            break;
        }
        assert!(Instant::now() < deadline, "no slot freed: {reply:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn idle_clients_are_closed_after_timeout_but_subscribers_stay() {
    let server = Server::start(2, &[]);
    let mut admin = server.raw();
    assert_eq!(admin.q(&["CONFIG", "SET", "timeout", "1"]), OK);
    let mut idle = std::net::TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    idle.write_all(b"PING\r\n").expect("write");
    let mut pong = [0u8; 7];
    idle.read_exact(&mut pong).expect("read");
    assert_eq!(&pong, b"+PONG\r\n");
    let mut subscriber = server.raw();
    subscriber.send(&common::encode(&[b"SUBSCRIBE", b"news"]));
    assert_eq!(
        subscriber.read_reply(),
        b"*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n"
    );
    // Idle for more than a second (checked once a second): closed.
    idle.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut byte = [0u8; 1];
    match idle.read(&mut byte) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("idle client not closed by the server: {other:?}"),
    }
    // The subscriber is still there and still receives.
    let mut publisher = Raw::connect(server.port);
    assert_eq!(publisher.q(&["PUBLISH", "news", "hi"]), ":1\r\n");
    assert_eq!(
        subscriber.read_reply(),
        b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n"
    );
    // The admin connection was idle too, so it is gone as well.
    assert_eq!(publisher.q(&["CONFIG", "SET", "timeout", "0"]), OK);
}

#[test]
fn loopback_clients_are_served_in_protected_mode_without_a_password() {
    let server = Server::start(1, &[]);
    let mut raw = server.raw();
    assert_eq!(
        raw.q(&["CONFIG", "GET", "protected-mode"]),
        "*2\r\n$14\r\nprotected-mode\r\n$3\r\nyes\r\n"
    );
    assert_eq!(raw.q(&["PING"]), "+PONG\r\n");
}
