//! The socket under a WebSocket connection: reads wait on the core's epoll set
//! ([`crate::net::poller`]) as RESP connections' do, writes go through glommio's stream.
//!
//! tungstenite owns a WebSocket connection's reads, so they need an `AsyncRead`. Reading
//! through glommio's `TcpStream` arms one io_uring poll per read that leaves the socket empty
//! (every request at pipeline 1); [`WsSocket`] instead answers `poll_read` from the socket's
//! epoll registration. When the registration cannot be made it reads through the stream.

use std::io;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_lite::{AsyncRead, AsyncWrite};
use glommio::net::TcpStream;

use crate::net::poller::Registration;

pub struct WsSocket {
    stream: TcpStream,
    /// Taken in `drop` first: deregistered before the stream closes the socket.
    registration: Option<Registration>,
}

impl WsSocket {
    pub fn new(stream: TcpStream) -> WsSocket {
        let registration = match Registration::new(stream.as_raw_fd()) {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::warn!(error = %e, "epoll registration failed; using glommio's reads");
                None
            }
        };
        WsSocket {
            stream,
            registration,
        }
    }
}

impl Drop for WsSocket {
    fn drop(&mut self) {
        // Deregister while the descriptor is still open (the stream closes it afterwards).
        self.registration.take();
    }
}

impl AsyncRead for WsSocket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match &this.registration {
            Some(r) => r.poll_read(cx, buf),
            None => Pin::new(&mut this.stream).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for WsSocket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_close(cx)
    }
}
