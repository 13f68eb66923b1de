//! The child side of subprocess isolation: `ao __plugin-shim serve <lib> <component>` opens the
//! library, builds one instance and serves calls over stdin/stdout (see [`super::wire`]).
//! A crash, abort or hang here costs this process; the parent restarts it.

use crate::plugins::loader;
use crate::plugins::wire::{FromShim, ToShim, WireError, WireResult, line};
use ao_plugin_api::abi::{
    self, AbiResult, AbiStr, AbiString, ErrorCode, Host, LogRecord, PluginError,
};
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a plugin's `call_host` waits for the parent.
const HOST_REPLY_TIMEOUT: Duration = Duration::from_secs(30);

type Out = Arc<Mutex<Box<dyn Write + Send>>>;

fn send(out: &Out, msg: &FromShim) {
    let mut w = out.lock().unwrap_or_else(|e| e.into_inner());
    // If the parent is gone there is nobody to tell; stdin EOF ends us soon after.
    let _ = w.write_all(line(msg).as_bytes()).and_then(|_| w.flush());
}

struct ShimHost {
    out: Out,
    replies: Arc<Mutex<HashMap<u64, Sender<WireResult>>>>,
    next: AtomicU64,
}

impl Host for ShimHost {
    fn log(&self, r: LogRecord) {
        send(
            &self.out,
            &FromShim::Log {
                level: r.level,
                target: r.target.into_string(),
                message: r.message.into_string(),
                fields: r.fields_json.into_string(),
            },
        );
    }

    fn emit(&self, event_json: AbiStr<'_>) -> AbiResult<(), PluginError> {
        send(
            &self.out,
            &FromShim::Emit {
                event: event_json.as_str().to_string(),
            },
        );
        Ok(()).into()
    }

    fn call_host(
        &self,
        method: AbiStr<'_>,
        params_json: AbiStr<'_>,
    ) -> AbiResult<AbiString, PluginError> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = channel();
        self.replies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, tx);
        send(
            &self.out,
            &FromShim::CallHost {
                id,
                method: method.as_str().to_string(),
                params: params_json.as_str().to_string(),
            },
        );
        let result = match rx.recv_timeout(HOST_REPLY_TIMEOUT) {
            Ok(r) => Result::<String, PluginError>::from(r),
            Err(_) => Err(PluginError::new(
                ErrorCode::TIMEOUT,
                "the host did not answer",
            )),
        };
        result.map(AbiString::from).into()
    }
}

/// Serves one component until stdin closes or `Shutdown` arrives. Returns the exit code.
pub fn serve(
    lib: &Path,
    component: &str,
    input: Box<dyn BufRead + Send>,
    out: Box<dyn Write + Send>,
) -> i32 {
    let out: Out = Arc::new(Mutex::new(out));
    let fail = |code: ErrorCode, message: String| {
        send(
            &out,
            &FromShim::Failed {
                error: WireError::from(PluginError::new(code, message)),
            },
        );
        2
    };
    let (library, _) = match loader::open(lib) {
        Ok(v) => v,
        Err(e) => return fail(ErrorCode::UNAVAILABLE, e.summary),
    };
    let mut lines = input.lines();
    let Some(Ok(first)) = lines.next() else {
        return 0;
    };
    let Ok(ToShim::Instantiate {
        component: wanted,
        config,
        host_info,
    }) = serde_json::from_str(&first)
    else {
        return fail(
            ErrorCode::INVALID_PARAMS,
            "expected an instantiate message first".into(),
        );
    };
    if wanted != component {
        return fail(
            ErrorCode::INVALID_PARAMS,
            format!("this shim serves {component}, not {wanted}"),
        );
    }

    // Stdin is read on its own thread from here on: a plugin may call the host (for a secret)
    // while it is being instantiated or called, and the reply must get through meanwhile.
    let replies: Arc<Mutex<HashMap<u64, Sender<WireResult>>>> = Arc::default();
    let (inbox, messages) = channel::<ToShim>();
    let routed = replies.clone();
    std::thread::spawn(move || {
        for text in lines.map_while(Result::ok) {
            match serde_json::from_str::<ToShim>(&text) {
                Ok(ToShim::HostReply { id, result }) => {
                    if let Some(tx) = routed.lock().unwrap_or_else(|e| e.into_inner()).remove(&id) {
                        let _ = tx.send(result);
                    }
                }
                Ok(msg) => {
                    if inbox.send(msg).is_err() {
                        break;
                    }
                }
                Err(_) => {}
            }
        }
    });

    let host = abi::box_host(ShimHost {
        out: out.clone(),
        replies,
        next: AtomicU64::new(1),
    });
    let made = (library.root.instantiate())(
        AbiStr::from(component),
        AbiStr::from(config.as_str()),
        AbiStr::from(host_info.as_str()),
        host,
    )
    .into_result();
    let instance = match made {
        Ok(i) => Arc::new(i),
        Err(e) => {
            send(&out, &FromShim::Failed { error: e.into() });
            return 2;
        }
    };
    send(&out, &FromShim::Ready);
    for msg in messages {
        match msg {
            ToShim::Call {
                id,
                method,
                params,
                ctx,
            } => {
                let (inst, out) = (instance.clone(), out.clone());
                std::thread::spawn(move || {
                    let r = inst
                        .call(
                            AbiStr::from(method.as_str()),
                            AbiStr::from(params.as_str()),
                            AbiStr::from(ctx.as_str()),
                        )
                        .into_result()
                        .map(AbiString::into_string);
                    send(
                        &out,
                        &FromShim::Result {
                            id,
                            result: r.into(),
                        },
                    );
                });
            }
            ToShim::Cancel { id } => instance.cancel(id),
            ToShim::Shutdown => {
                instance.shutdown();
                break;
            }
            ToShim::Instantiate { .. } | ToShim::HostReply { .. } => {}
        }
    }
    0
}

/// Takes a private copy of stdout for the protocol and points fd 1 at stderr, so that nothing a
/// plugin prints can corrupt the protocol stream.
#[cfg(unix)]
pub fn protocol_stdout() -> std::io::Result<std::fs::File> {
    use std::os::fd::FromRawFd;
    std::io::stdout().flush()?;
    // SAFETY: dup/dup2 on the standard descriptors, which this process owns; the duplicate is
    // owned by the returned File from here on.
    unsafe {
        let copy = libc::dup(1);
        if copy < 0 || libc::dup2(2, 1) < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(std::fs::File::from_raw_fd(copy))
    }
}
