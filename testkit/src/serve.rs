//! An axum router served on 127.0.0.1 from a thread of its own, until dropped: the one way
//! every double in this crate (forge, model, receiver) listens.

use axum::Router;

/// A server running in the background; dropping it stops it and waits for its thread.
pub struct Background {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Background {
    /// Serves `router` on `127.0.0.1:port` (0: an ephemeral port) with `workers` runtime
    /// threads (0: a current-thread runtime).
    pub fn start(router: Router, port: u16, workers: usize, name: &str) -> std::io::Result<Self> {
        Self::serve(
            std::net::TcpListener::bind(("127.0.0.1", port))?,
            router,
            workers,
            name,
        )
    }

    /// Serves `router` on a listener already bound (when the app must know its URL first).
    pub fn serve(
        listener: std::net::TcpListener,
        router: Router,
        workers: usize,
        name: &str,
    ) -> std::io::Result<Self> {
        listener.set_nonblocking(true)?;
        let url = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let rt = if workers == 0 {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                } else {
                    tokio::runtime::Builder::new_multi_thread()
                        .worker_threads(workers)
                        .enable_all()
                        .build()
                }
                .expect("tokio runtime");
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                    let _ = axum::serve(listener, router)
                        .with_graceful_shutdown(async {
                            let _ = stopped.await;
                        })
                        .await;
                });
            })?;
        Ok(Self {
            url,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
