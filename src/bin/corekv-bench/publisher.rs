//! Publisher threads: pipelined PUBLISH commands, every reply checked.

use crate::PubsubArgs;
use crate::conn::Conn;
use crate::pubsub::{Expect, encode_header};
use crate::resp::{Frame, encode_command};
use crate::run::Control;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Barrier};
use std::thread;

pub struct Report {
    pub wrong_replies: u64,
    pub first_wrong_reply: Option<String>,
    pub finished_ns: u64,
}

pub struct Run {
    pub start_ns: u64,
    pub end_ns: u64,
    pub publishers: Vec<Result<Report, String>>,
}

/// Connects every publisher, starts them together and waits for all of them.
pub fn run_all(
    addr: &SocketAddr,
    args: &PubsubArgs,
    expect: &Expect,
    control: &Arc<Control>,
) -> Result<Run, String> {
    let conns = (0..args.publishers)
        .map(|_| Conn::connect(addr, args.resp, control))
        .collect::<Result<Vec<_>, _>>()
        .inspect_err(|_| control.abort())?;
    let start = Arc::new(Barrier::new(args.publishers + 1));
    let handles: Vec<_> = conns
        .into_iter()
        .enumerate()
        .map(|(id, conn)| {
            let (start, control, expect) =
                (Arc::clone(&start), Arc::clone(control), expect.clone());
            let (window, subscribers) = (args.window, args.subscribers as i64);
            thread::Builder::new()
                .name(format!("publisher-{id}"))
                .spawn(move || {
                    start.wait();
                    let result = publish(conn, id, &expect, window, subscribers, &control);
                    if result.is_err() {
                        control.abort();
                    }
                    result
                })
                .expect("spawn publisher thread")
        })
        .collect();
    let start_ns = control.clock.now_ns();
    start.wait();
    let publishers: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().expect("publisher thread panicked"))
        .collect();
    let end_ns = publishers
        .iter()
        .flatten()
        .map(|r| r.finished_ns)
        .max()
        .unwrap_or(start_ns);
    Ok(Run {
        start_ns,
        end_ns,
        publishers,
    })
}

/// Sends this publisher's share of PUBLISH commands, `window` in flight, and checks that
/// each reply counts every subscriber.
fn publish(
    mut conn: Conn,
    id: usize,
    expect: &Expect,
    window: usize,
    subscribers: i64,
    control: &Control,
) -> Result<Report, String> {
    let count = expect.per_publisher[id];
    let mut payload = vec![b'x'; expect.payload_bytes];
    let mut out = Vec::with_capacity(window * (expect.payload_bytes + 64));
    let mut replies = Vec::with_capacity(window);
    let mut report = Report {
        wrong_replies: 0,
        first_wrong_reply: None,
        finished_ns: 0,
    };
    let (mut sent, mut acked) = (0u64, 0u64);
    while acked < count {
        if control.aborted() {
            return Err(format!("publisher {id}: aborted after {acked} replies"));
        }
        out.clear();
        while sent < count && sent - acked < window as u64 {
            encode_header(&mut payload, control.clock.now_ns(), id as u32, sent);
            encode_command(&mut out, &[b"PUBLISH", &expect.channel, &payload]);
            sent += 1;
        }
        if !out.is_empty() {
            conn.stream
                .write_all(&out)
                .map_err(|e| format!("publisher {id}: write: {e}"))?;
        }
        conn.read_frames(control, &mut replies)
            .map_err(|e| format!("publisher {id}: {e}"))?;
        for reply in &replies {
            if *reply != Frame::Int(subscribers) {
                report.wrong_replies += 1;
                report.first_wrong_reply.get_or_insert_with(|| {
                    let got = reply.describe();
                    format!(
                        "publisher {id}: PUBLISH #{acked} replied {got}, expected :{subscribers}"
                    )
                });
            }
            acked += 1;
        }
    }
    report.finished_ns = control.clock.now_ns();
    Ok(report)
}
