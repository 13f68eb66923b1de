//! The parent side of subprocess isolation: one `ao __plugin-shim serve` child per component
//! instance, speaking [`super::wire`]. The child's crash fails its calls with `PANICKED` (so the
//! component restarts it with back-off); abandoning the instance kills the child, which also
//! releases any call still waiting on it.

use crate::plugins::component::Live;
use crate::plugins::host_impl::HostCallbacks;
use crate::plugins::probe;
use crate::plugins::wire::{FromShim, ToShim, WireResult, line};
use ao_plugin_api::abi::{AbiStr, ErrorCode, Host, LogRecord, PluginError};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Pending = Arc<Mutex<HashMap<u64, Sender<Result<String, PluginError>>>>>;

/// How long a child may take to exit after `Shutdown`.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// A component instance living in a child process.
pub(crate) struct ShimInstance {
    child: Arc<Mutex<Child>>,
    stdin: Arc<Mutex<ChildStdin>>,
    pending: Pending,
    /// Why the child is gone, once it is.
    gone: Arc<Mutex<Option<String>>>,
    component: String,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn write(stdin: &Mutex<ChildStdin>, msg: &ToShim) -> std::io::Result<()> {
    let mut w = lock(stdin);
    w.write_all(line(msg).as_bytes())?;
    w.flush()
}

impl ShimInstance {
    /// Starts the child and builds the instance in it. Blocks until it is ready or has failed.
    pub(crate) fn start(
        shim: &Path,
        library: &Path,
        component: &str,
        config_json: &str,
        host_info_json: &str,
        callbacks: HostCallbacks,
        timeout: Duration,
    ) -> Result<Self, PluginError> {
        let unavailable = |m: String| PluginError::new(ErrorCode::UNAVAILABLE, m);
        let mut child = Command::new(shim)
            .arg("__plugin-shim")
            .arg("serve")
            .arg(library)
            .arg(component)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // A group of its own: processes the plugin starts end with the instance.
            .process_group(0)
            .spawn()
            .map_err(|e| unavailable(format!("cannot start {}: {e}", shim.display())))?;
        let stdin = Arc::new(Mutex::new(child.stdin.take().expect("piped")));
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let child = Arc::new(Mutex::new(child));
        let pending: Pending = Arc::default();
        let gone: Arc<Mutex<Option<String>>> = Arc::default();
        let (ready_tx, ready_rx) = channel::<Result<(), PluginError>>();

        let name = component.to_string();
        std::thread::Builder::new()
            .name("ao-plugin-stderr".into())
            .spawn(move || {
                // Whatever a plugin prints (its stdout is pointed here too) ends up in the log.
                for l in BufReader::new(stderr).lines().map_while(Result::ok) {
                    tracing::warn!(target: "ao::plugin", plugin = %name, "stderr: {l}");
                }
            })
            .map_err(|e| unavailable(e.to_string()))?;

        let reader = Reader {
            callbacks,
            stdin: stdin.clone(),
            pending: pending.clone(),
            gone: gone.clone(),
            child: child.clone(),
            ready: Some(ready_tx),
        };
        std::thread::Builder::new()
            .name("ao-plugin-reader".into())
            .spawn(move || reader.run(BufReader::new(stdout)))
            .map_err(|e| unavailable(e.to_string()))?;

        let hello = ToShim::Instantiate {
            component: component.to_string(),
            config: config_json.to_string(),
            host_info: host_info_json.to_string(),
        };
        let inst = ShimInstance {
            child,
            stdin,
            pending,
            gone,
            component: component.to_string(),
        };
        if write(&inst.stdin, &hello).is_err() {
            // The child died before reading; the reader reports why.
        }
        // On any failure `inst` is dropped here, which kills the child: none is left behind.
        match ready_rx.recv_timeout(timeout) {
            Ok(Ok(())) => Ok(inst),
            Ok(Err(e)) => Err(e),
            Err(RecvTimeoutError::Timeout) => Err(PluginError::new(
                ErrorCode::TIMEOUT,
                format!(
                    "the plugin process was not ready within {:.1}s",
                    timeout.as_secs_f64()
                ),
            )),
            Err(RecvTimeoutError::Disconnected) => Err(unavailable(
                "the plugin process ended before it was ready".into(),
            )),
        }
    }
}

impl Live for ShimInstance {
    fn call(
        &self,
        request_id: u64,
        method: &str,
        params: &str,
        ctx: &str,
    ) -> Result<String, PluginError> {
        let (tx, rx) = channel();
        {
            // Checked under the lock the reader takes before failing everything, so a call can
            // never be registered after the reader has given up.
            let mut pending = lock(&self.pending);
            if let Some(why) = lock(&self.gone).clone() {
                return Err(PluginError::new(ErrorCode::PANICKED, why));
            }
            pending.insert(request_id, tx);
        }
        let msg = ToShim::Call {
            id: request_id,
            method: method.to_string(),
            params: params.to_string(),
            ctx: ctx.to_string(),
        };
        if write(&self.stdin, &msg).is_err() {
            lock(&self.pending).remove(&request_id);
            let why = lock(&self.gone)
                .clone()
                .unwrap_or_else(|| "the plugin process is gone".into());
            return Err(PluginError::new(ErrorCode::PANICKED, why));
        }
        rx.recv().unwrap_or_else(|_| {
            Err(PluginError::new(
                ErrorCode::PANICKED,
                format!("{}: the plugin process is gone", self.component),
            ))
        })
    }

    fn cancel(&self, request_id: u64) {
        let _ = write(&self.stdin, &ToShim::Cancel { id: request_id });
    }

    fn shutdown(&self) {
        if write(&self.stdin, &ToShim::Shutdown).is_err() {
            return;
        }
        // Give the plugin a moment to flush before `Drop` kills whatever is left.
        let deadline = std::time::Instant::now() + SHUTDOWN_GRACE;
        while std::time::Instant::now() < deadline {
            if !matches!(lock(&self.child).try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn abandon(&self) {
        let child = lock(&self.child);
        crate::proc::kill_group(child.id());
    }
}

impl Drop for ShimInstance {
    fn drop(&mut self) {
        // Closing stdin ends a healthy child; the kill ends one that is stuck in plugin code.
        let mut child = lock(&self.child);
        crate::proc::kill_group(child.id());
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Reads the child's messages: results, logs, events and host requests.
struct Reader {
    callbacks: HostCallbacks,
    stdin: Arc<Mutex<ChildStdin>>,
    pending: Pending,
    gone: Arc<Mutex<Option<String>>>,
    child: Arc<Mutex<Child>>,
    ready: Option<Sender<Result<(), PluginError>>>,
}

impl Reader {
    fn run(mut self, out: impl BufRead) {
        for text in out.lines().map_while(Result::ok) {
            let Ok(msg) = serde_json::from_str::<FromShim>(&text) else {
                tracing::warn!(plugin = %self.callbacks.component, "unreadable line from the plugin process");
                continue;
            };
            match msg {
                FromShim::Ready => {
                    if let Some(tx) = self.ready.take() {
                        let _ = tx.send(Ok(()));
                    }
                }
                FromShim::Failed { error } => {
                    if let Some(tx) = self.ready.take() {
                        let _ = tx.send(Err(error.into()));
                    }
                }
                FromShim::Result { id, result } => {
                    if let Some(tx) = lock(&self.pending).remove(&id) {
                        let _ = tx.send(result.into());
                    }
                }
                FromShim::Log {
                    level,
                    target,
                    message,
                    fields,
                } => self.callbacks.log(LogRecord {
                    level,
                    target: target.into(),
                    message: message.into(),
                    fields_json: fields.into(),
                }),
                FromShim::Emit { event } => {
                    let _ = self.callbacks.emit(AbiStr::from(event.as_str()));
                }
                FromShim::CallHost { id, method, params } => {
                    let result: WireResult = self.callbacks.answer(&method, &params).into();
                    let _ = write(&self.stdin, &ToShim::HostReply { id, result });
                }
            }
        }
        // EOF: the child is gone. Say why, and fail everything still waiting on it.
        let why = self.exit_reason();
        let mut pending = lock(&self.pending);
        *lock(&self.gone) = Some(why.clone());
        for (_, tx) in pending.drain() {
            let _ = tx.send(Err(PluginError::new(ErrorCode::PANICKED, why.clone())));
        }
        if let Some(tx) = self.ready.take() {
            let _ = tx.send(Err(PluginError::new(ErrorCode::UNAVAILABLE, why)));
        }
    }

    fn exit_reason(&self) -> String {
        let mut child = lock(&self.child);
        // stdout closed: the process is exiting or gone; give it a moment to be reaped.
        for _ in 0..50 {
            match child.try_wait() {
                Ok(Some(status)) => return describe(status),
                Ok(None) => std::thread::sleep(std::time::Duration::from_millis(10)),
                Err(_) => break,
            }
        }
        "the plugin process closed its output".into()
    }
}

fn describe(status: std::process::ExitStatus) -> String {
    if let Some(how) = probe::describe_exit(&status) {
        return format!("the plugin process crashed ({how})");
    }
    match status.code() {
        Some(0) => "the plugin process exited".into(),
        Some(c) => format!("the plugin process exited with status {c}"),
        None => "the plugin process ended".into(),
    }
}
