//! What bounds one connection: how many a service holds at once, and how
//! many one client address does; and how long a client may leave a
//! response unread.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The open connections of one service, in all and per client address.
#[derive(Debug)]
pub(super) struct Connections {
    total: Arc<Semaphore>,
    per_client: Mutex<HashMap<IpAddr, usize>>,
    max_per_client: usize,
}

/// One admitted connection; let go when dropped.
#[derive(Debug)]
pub(super) struct Admitted {
    connections: Arc<Connections>,
    client: IpAddr,
    _slot: OwnedSemaphorePermit,
}

impl Connections {
    pub(super) fn new(max: usize, max_per_client: usize) -> Arc<Connections> {
        Arc::new(Connections {
            total: Arc::new(Semaphore::new(max.clamp(1, Semaphore::MAX_PERMITS))),
            per_client: Mutex::default(),
            max_per_client: max_per_client.max(1),
        })
    }

    /// A slot for a connection from `client`, or `None` when the service
    /// or that client holds as many as it may. An IPv6 client counts by
    /// its /64, as one host usually has a whole one.
    pub(super) fn admit(self: &Arc<Self>, client: IpAddr) -> Option<Admitted> {
        let slot = self.total.clone().try_acquire_owned().ok()?;
        let client = client_key(client);
        let mut counts = self.per_client.lock().unwrap_or_else(|p| p.into_inner());
        let count = counts.entry(client).or_insert(0);
        if *count >= self.max_per_client {
            return None;
        }
        *count += 1;
        Some(Admitted {
            connections: self.clone(),
            client,
            _slot: slot,
        })
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut counts = self
            .connections
            .per_client
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(count) = counts.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.client);
            }
        }
    }
}

fn client_key(client: IpAddr) -> IpAddr {
    match client.to_canonical() {
        IpAddr::V6(v6) => {
            let mut octets = v6.octets();
            octets[8..].fill(0);
            IpAddr::from(octets)
        }
        v4 => v4,
    }
}

/// A connection whose writes fail once the peer has taken nothing for
/// `stall`: a client that stops reading its response lets its request's
/// instance go.
pub(super) struct StallGuard<S> {
    inner: S,
    stall: Duration,
    waiting: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<S> StallGuard<S> {
    pub(super) fn new(inner: S, stall: Duration) -> Self {
        StallGuard {
            inner,
            stall,
            waiting: None,
        }
    }

    fn guard<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if polled.is_ready() {
            self.waiting = None;
            return polled;
        }
        let stall = self.stall;
        let waiting = self
            .waiting
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(stall)));
        if waiting.as_mut().poll(cx).is_ready() {
            self.waiting = None;
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client took nothing of its response",
            )));
        }
        Poll::Pending
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for StallGuard<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for StallGuard<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.guard(cx, polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.guard(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_flush(cx);
        self.guard(cx, polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.guard(cx, polled)
    }
}

/// The answer to a connection refused for want of a slot: written as it
/// is, then the connection is closed.
pub(super) const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
Retry-After: 1\r\nContent-Type: text/plain; charset=utf-8\r\n\
Content-Length: 35\r\nConnection: close\r\n\r\n\
server busy: too many connections\r\n";

/// Answers `stream` with [`BUSY`] and closes it, reading (for at most a
/// second) what the client had sent, so the close is not a reset that
/// loses the answer.
pub(super) async fn refuse(mut stream: tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let answered = async {
        stream.write_all(BUSY).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        io::Result::Ok(())
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), answered).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_busy_answer_is_as_long_as_it_says() {
        let text = std::str::from_utf8(BUSY).expect("text");
        let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
        assert!(
            head.contains(&format!("Content-Length: {}", body.len())),
            "{head}"
        );
    }

    #[test]
    fn connections_are_capped_in_all_and_per_client() {
        let connections = Connections::new(3, 2);
        let a: IpAddr = "10.0.0.1".parse().expect("ip");
        let b: IpAddr = "10.0.0.2".parse().expect("ip");
        let first = connections.admit(a).expect("first");
        let _second = connections.admit(a).expect("second");
        assert!(connections.admit(a).is_none(), "a third from one client");
        let _other = connections.admit(b).expect("another client");
        assert!(connections.admit(b).is_none(), "the service is full");
        drop(first);
        assert!(connections.admit(a).is_some(), "a slot came back");
        // One IPv6 /64 is one client.
        let v6 = Connections::new(10, 1);
        let _one = v6.admit("2001:db8::1".parse().expect("ip")).expect("one");
        assert!(v6.admit("2001:db8::2".parse().expect("ip")).is_none());
        assert!(v6.admit("2001:db8:1::1".parse().expect("ip")).is_some());
    }
}
