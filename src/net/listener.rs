//! Binding the RESP port on every core with SO_REUSEPORT, and the accept loop.

use std::net::SocketAddr;
use std::os::fd::{FromRawFd, IntoRawFd};
use std::rc::Rc;

use glommio::net::TcpListener;
use socket2::{Domain, Protocol, Socket, Type};

use crate::core::Core;

/// Creates a listening socket with SO_REUSEPORT on `addr`, so every core can bind the same
/// port and the kernel spreads new connections across cores.
pub fn bind_reuseport(addr: SocketAddr, backlog: i32) -> std::io::Result<Socket> {
    let domain = if addr.is_ipv6() {
        Domain::IPV6
    } else {
        Domain::IPV4
    };
    let sk = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
    sk.set_reuse_address(true)?;
    sk.set_reuse_port(true)?;
    sk.bind(&addr.into())?;
    sk.listen(backlog)?;
    Ok(sk)
}

/// Reserves the port when `--port 0` asks for any free one: a bound (not listening) socket
/// fixes the port number that every core then binds, and accepts nothing itself.
pub fn reserve_port(addr: SocketAddr) -> std::io::Result<(Socket, SocketAddr)> {
    let domain = if addr.is_ipv6() {
        Domain::IPV6
    } else {
        Domain::IPV4
    };
    let sk = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
    sk.set_reuse_address(true)?;
    sk.set_reuse_port(true)?;
    sk.bind(&addr.into())?;
    let local = sk
        .local_addr()?
        .as_socket()
        .ok_or_else(|| std::io::Error::other("not an inet address"))?;
    Ok((sk, local))
}

/// Fails when another socket (another process, even one with SO_REUSEPORT) is bound to
/// `addr`: binding without SO_REUSEPORT is refused by the kernel then, whereas our own
/// SO_REUSEPORT binds would silently share the port with it. The probe socket is closed at
/// once. Used for the WebSocket port, so a second server on the same port fails clearly.
pub fn ensure_unused(addr: SocketAddr) -> std::io::Result<()> {
    let domain = if addr.is_ipv6() {
        Domain::IPV6
    } else {
        Domain::IPV4
    };
    let sk = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
    sk.set_reuse_address(true)?;
    sk.bind(&addr.into())
}

/// Turns a listening socket into glommio's listener for this executor.
pub fn into_glommio(sk: Socket) -> TcpListener {
    // SAFETY: the fd comes from a listening TCP socket we own and hand over exactly once.
    unsafe { TcpListener::from_raw_fd(sk.into_raw_fd()) }
}

/// Accepts until shutdown, serving each connection on this core.
pub async fn accept_loop(core: Rc<Core>, listener: Rc<TcpListener>) {
    loop {
        match listener.accept().await {
            Ok(stream) => {
                let core = core.clone();
                glommio::spawn_local(async move { crate::net::conn::serve(core, stream).await })
                    .detach();
            }
            Err(e) => {
                if core.shutting_down.get() {
                    return;
                }
                // EMFILE and friends: back off briefly instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                glommio::timer::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}
