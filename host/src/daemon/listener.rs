//! The daemon's TCP listener, hardened against local users who open connections and send
//! nothing (1,100 idle sockets once exhausted the daemon's file descriptors: the dashboard
//! stopped answering and ticks failed with "Too many open files"):
//! - at most [`cap`] connections at once, so descriptors stay free for the engine; when a new
//!   connection finds them all taken, the oldest one that has not sent a byte yet is closed to
//!   make room (a flood of silent connections must not keep a real request waiting), and if
//!   every one is busy, the new one waits for a slot (the kernel's backlog holds the rest);
//! - a connection that sends nothing within [`FIRST_BYTE`], or moves no byte either way for
//!   [`IDLE`], is closed (live streams send keep-alives: SSE every 15 s, the terminal pings
//!   every 30 s).

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// A request must start this soon after the connection.
pub(super) const FIRST_BYTE: Duration = Duration::from_secs(10);
/// A connection with no traffic for this long is closed: longer than any request takes to
/// answer (a dashboard spawn waits for its agent up to `launchTimeout`).
pub(super) const IDLE: Duration = Duration::from_secs(300);

/// Connections at once: a quarter of the descriptors, at most 256.
pub(super) fn cap(fd_limit: u64) -> usize {
    (fd_limit / 4).clamp(16, 256) as usize
}

/// Raises the soft limit on open files to the hard one; the soft limit after.
pub(super) fn raise_fd_limit() -> u64 {
    // SAFETY: getrlimit/setrlimit on a struct we own.
    unsafe {
        let mut l = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) != 0 {
            return 1024;
        }
        if l.rlim_cur < l.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: l.rlim_max,
                rlim_max: l.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                l.rlim_cur = l.rlim_max;
            }
        }
        l.rlim_cur
    }
}

/// The listener with its connection cap.
pub(super) struct Guarded {
    inner: TcpListener,
    permits: Arc<Semaphore>,
    cap: usize,
    /// Connections in the order they came, for eviction of the oldest silent one.
    arrivals: Mutex<VecDeque<Weak<Silence>>>,
}

/// Whether a connection has sent anything yet, and how to close it if it is pushed out.
#[derive(Debug)]
struct Silence {
    silent: AtomicBool,
    evicted: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Guarded {
    pub(super) fn new(inner: TcpListener, cap: usize) -> Guarded {
        Guarded {
            inner,
            permits: Arc::new(Semaphore::new(cap)),
            cap,
            arrivals: Mutex::new(VecDeque::new()),
        }
    }

    /// Closes the oldest connection that has sent nothing; whether there was one.
    fn evict_oldest_silent(&self) -> bool {
        let mut arrivals = self.arrivals.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(w) = arrivals.pop_front() {
            if let Some(c) = w.upgrade()
                && c.silent.load(Ordering::SeqCst)
            {
                c.evicted.store(true, Ordering::SeqCst);
                if let Some(waker) = c.waker.lock().unwrap_or_else(|e| e.into_inner()).take() {
                    waker.wake();
                }
                return true;
            }
        }
        false
    }

    fn arrived(&self, c: &Arc<Silence>) {
        let mut arrivals = self.arrivals.lock().unwrap_or_else(|e| e.into_inner());
        if arrivals.len() > 2 * self.cap {
            arrivals.retain(|w| w.upgrade().is_some_and(|c| c.silent.load(Ordering::SeqCst)));
        }
        arrivals.push_back(Arc::downgrade(c));
    }
}

impl axum::serve::Listener for Guarded {
    type Io = Conn;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Conn, std::net::SocketAddr) {
        let (stream, addr) = loop {
            match self.inner.accept().await {
                Ok(pair) => break pair,
                // Out of descriptors or a connection reset before accept: breathe, retry.
                Err(e) => {
                    tracing::debug!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        };
        // A full house: a silent one makes room for this one, else it waits for a slot (one
        // descriptor held, since the next accept waits for this one).
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                self.evict_oldest_silent();
                self.permits
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("the semaphore is never closed")
            }
        };
        let silence = Arc::new(Silence {
            silent: AtomicBool::new(true),
            evicted: AtomicBool::new(false),
            waker: Mutex::new(None),
        });
        self.arrived(&silence);
        (
            Conn {
                stream,
                _permit: permit,
                deadline: Box::pin(tokio::time::sleep(FIRST_BYTE)),
                started: false,
                silence,
            },
            addr,
        )
    }

    fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.inner.local_addr()
    }
}

/// One accepted connection: its slot under the cap, and the deadline it must beat.
pub(super) struct Conn {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
    deadline: Pin<Box<Sleep>>,
    started: bool,
    silence: Arc<Silence>,
}

impl Conn {
    fn traffic(&mut self) {
        if !self.started {
            self.silence.silent.store(false, Ordering::SeqCst);
        }
        self.started = true;
        self.deadline.as_mut().reset(Instant::now() + IDLE);
    }

    /// Pushed out for a newer connection before it sent anything.
    fn evicted(&self, cx: &Context<'_>) -> bool {
        if self.started {
            return false;
        }
        *self.silence.waker.lock().unwrap_or_else(|e| e.into_inner()) = Some(cx.waker().clone());
        self.silence.evicted.load(Ordering::SeqCst)
    }

    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.deadline.as_mut().poll(cx).is_ready()
    }
}

fn timed_out(started: bool) -> std::io::Error {
    let why = if started {
        "no traffic for 5 minutes"
    } else {
        "no request within 10 s"
    };
    std::io::Error::new(std::io::ErrorKind::TimedOut, why)
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    self.traffic();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                if self.expired(cx) {
                    let started = self.started;
                    Poll::Ready(Err(timed_out(started)))
                } else if self.evicted(cx) {
                    Poll::Ready(Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionAborted,
                        "closed, silent, to make room for a newer connection",
                    )))
                } else {
                    Poll::Pending
                }
            }
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.stream).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = &r
            && *n > 0
        {
            self.traffic();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = &r
            && *n > 0
        {
            self.traffic();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
