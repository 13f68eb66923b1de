//! Calling one component: the async adapter over the synchronous ABI.
//!
//! Each call runs on a plugin thread of its own while it lasts (see [`off_runtime`]) under a
//! deadline and a per-component concurrency limit. On timeout the host asks the plugin to
//! `cancel` and stops waiting; the plugin thread keeps its concurrency permit until it really
//! returns, so a plugin that hangs can tie up at most `concurrency` threads, never an unbounded
//! number. A `PANICKED` answer poisons the instance: it is dropped and re-created on a later
//! call, after a back-off that doubles with each panic.

use crate::Error;
use crate::plugins::host_impl::{HostCallbacks, referenced_secrets};
use crate::plugins::loader::OpenLibrary;
use crate::plugins::subprocess::ShimInstance;
use ao_plugin_api::abi::{self, AbiStr, ErrorCode, Instance, InstanceBox, PluginError};
use ao_plugin_api::manifest::{CallCtx, HostInfo};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{Mutex, Semaphore};
use tokio::time::Instant;

/// Limits for one component.
#[derive(Debug, Clone)]
pub struct CallOptions {
    /// How long a call may take.
    pub timeout: Duration,
    /// How long instantiation may take.
    pub instantiate_timeout: Duration,
    /// Calls in flight at once (hung calls count until they return).
    pub concurrency: usize,
    /// First back-off after a panic; doubles per consecutive panic.
    pub backoff_base: Duration,
    /// Longest back-off.
    pub backoff_max: Duration,
}

impl Default for CallOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            instantiate_timeout: Duration::from_secs(30),
            concurrency: 4,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
        }
    }
}

static NEXT_REQUEST: AtomicU64 = AtomicU64::new(1);

/// Where a component's instances run.
#[derive(Clone)]
pub enum Backend {
    /// In this process, through the library's root module.
    InProcess(OpenLibrary),
    /// In a child `ao __plugin-shim serve` process per instance.
    Subprocess {
        /// The executable serving `__plugin-shim` (normally `ao` itself).
        shim: PathBuf,
        /// The library.
        library: PathBuf,
    },
}

/// A live instance, wherever it runs. Calls block; [`ComponentHandle`] runs them off the runtime.
pub(crate) trait Live: Send + Sync {
    /// Runs one method.
    fn call(
        &self,
        request_id: u64,
        method: &str,
        params: &str,
        ctx: &str,
    ) -> Result<String, PluginError>;
    /// Asks a call to stop.
    fn cancel(&self, request_id: u64);
    /// Asks the instance to stop its background work.
    fn shutdown(&self);
    /// Gives up on a suspect instance for good: a child process is killed, which also ends the
    /// calls waiting on it. Nothing can be done for an instance in this process.
    fn abandon(&self) {}
}

impl Live for InstanceBox {
    fn call(&self, _: u64, method: &str, params: &str, ctx: &str) -> Result<String, PluginError> {
        Instance::call(
            self,
            AbiStr::from(method),
            AbiStr::from(params),
            AbiStr::from(ctx),
        )
        .into_result()
        .map(|s| s.into_string())
    }
    fn cancel(&self, request_id: u64) {
        Instance::cancel(self, request_id)
    }
    fn shutdown(&self) {
        Instance::shutdown(self)
    }
}

struct State {
    live: Option<Arc<dyn Live>>,
    /// Consecutive panics; reset by a successful call.
    panics: u32,
    retry_at: Option<Instant>,
    /// Instances created so far (for logs and tests).
    generation: u64,
}

/// A configured component, ready to call. Cheap to share behind an `Arc`.
pub struct ComponentHandle {
    id: String,
    backend: Backend,
    config_json: String,
    secrets: Vec<String>,
    methods: Vec<String>,
    opts: CallOptions,
    host_info: HostInfo,
    events: Option<tokio::sync::mpsc::Sender<Value>>,
    permits: Arc<Semaphore>,
    state: Mutex<State>,
}

impl std::fmt::Debug for ComponentHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComponentHandle")
            .field("id", &self.id)
            .finish()
    }
}

impl ComponentHandle {
    pub(crate) fn new(
        id: String,
        backend: Backend,
        config: &Value,
        methods: Vec<String>,
        opts: CallOptions,
        host_info: HostInfo,
        events: Option<tokio::sync::mpsc::Sender<Value>>,
    ) -> Result<Self, Error> {
        // `${NAME}` references are expanded here, in memory only; the names stay the allow-list
        // of secrets the plugin may ask for.
        let expanded = crate::config::secrets::expand(config, &|name| std::env::var(name).ok())
            .map_err(|e| Error::Invalid(format!("config of {id}: {e}")))?;
        Ok(Self {
            id,
            backend,
            config_json: expanded.to_string(),
            secrets: referenced_secrets(config),
            methods,
            permits: Arc::new(Semaphore::new(opts.concurrency.max(1))),
            opts,
            host_info,
            events,
            state: Mutex::new(State {
                live: None,
                panics: 0,
                retry_at: None,
                generation: 0,
            }),
        })
    }

    /// `slot/name`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The methods the plugin implements.
    pub fn methods(&self) -> &[String] {
        &self.methods
    }

    /// How many instances have been created (1 after the first call; more after panics).
    pub async fn generation(&self) -> u64 {
        self.state.lock().await.generation
    }

    /// Creates the instance now, so config errors surface before the first real call.
    pub async fn start(&self) -> Result<(), Error> {
        self.instance(Instant::now() + self.opts.instantiate_timeout)
            .await
            .map(|_| ())
    }

    /// Calls a method with typed request and response (straight to and from the wire text:
    /// a tick's big answers, every screen at once, are not built as JSON trees first).
    pub async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        method: &str,
        req: &Req,
    ) -> Result<Resp, Error> {
        let params = serde_json::to_string(req)
            .map_err(|e| self.error(method, ErrorCode::INVALID_PARAMS, e.to_string(), false))?;
        let out = self.call_text(method, params).await?;
        serde_json::from_str(out.as_deref().unwrap_or("null")).map_err(|e| {
            self.error(
                method,
                ErrorCode::INTERNAL,
                format!("answered with an unexpected shape: {e}"),
                false,
            )
        })
    }

    /// Calls a method with JSON in and out.
    pub async fn call_json(&self, method: &str, params: Value) -> Result<Value, Error> {
        let out = self.call_text(method, params.to_string()).await?;
        serde_json::from_str(out.as_deref().unwrap_or("null")).map_err(|e| {
            self.error(
                method,
                ErrorCode::INTERNAL,
                format!("answered with invalid JSON: {e}"),
                false,
            )
        })
    }

    /// Calls a method with its parameters as JSON text; the answer's text, `None` when empty.
    async fn call_text(&self, method: &str, params_json: String) -> Result<Option<String>, Error> {
        if !self.methods.iter().any(|m| m == method) {
            return Err(self.error(
                method,
                ErrorCode::UNSUPPORTED_METHOD,
                format!(
                    "not implemented (it implements: {})",
                    self.methods.join(", ")
                ),
                false,
            ));
        }
        let deadline = Instant::now() + self.opts.timeout;
        let permit = tokio::time::timeout_at(deadline, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| {
                self.error(
                    method,
                    ErrorCode::TIMEOUT,
                    format!(
                        "all {} call slots are busy with calls that have not returned; the \
                         plugin may be hung (consider `isolation: subprocess`)",
                        self.opts.concurrency
                    ),
                    true,
                )
            })?
            .expect("semaphore is never closed");
        let inst = self.instance(deadline).await?;
        let request_id = NEXT_REQUEST.fetch_add(1, Ordering::Relaxed);
        let left = deadline.saturating_duration_since(Instant::now());
        let ctx = CallCtx {
            request_id,
            timeout_ms: Some(left.as_millis() as u64),
            session_id: None,
            trace_id: None,
        };
        let ctx_json = serde_json::to_string(&ctx).expect("CallCtx serialises");
        let method_owned = method.to_string();
        let worker = inst.clone();
        let task = off_runtime("ao-plugin-call", move || {
            let _permit = permit;
            worker.call(request_id, &method_owned, &params_json, &ctx_json)
        });
        match tokio::time::timeout_at(deadline, task).await {
            Err(_) => {
                let canceller = inst.clone();
                // Fire and forget: a plugin that also hangs in `cancel` must not hang us.
                drop(off_runtime("ao-plugin-cancel", move || {
                    canceller.cancel(request_id)
                }));
                self.retire(&inst).await;
                tracing::warn!(component = %self.id, method, "plugin call timed out; cancelled");
                Err(self.error(
                    method,
                    ErrorCode::TIMEOUT,
                    format!(
                        "no answer within {:.1}s; cancelled",
                        self.opts.timeout.as_secs_f64()
                    ),
                    true,
                ))
            }
            Ok(Err(lost)) => Err(self.error(method, ErrorCode::INTERNAL, lost, false)),
            Ok(Ok(Ok(json))) => {
                self.state.lock().await.panics = 0;
                Ok((!json.is_empty()).then_some(json))
            }
            Ok(Ok(Err(e))) => {
                if e.code == ErrorCode::PANICKED {
                    self.poison(&inst).await;
                }
                Err(self.error(method, e.code, e.message.into_string(), e.retryable))
            }
        }
    }

    /// Asks the instance to stop its background work. Call once, when the host shuts down.
    pub async fn shutdown(&self) {
        let live = self.state.lock().await.live.take();
        if let Some(inst) = live {
            let task = off_runtime("ao-plugin-shutdown", move || inst.shutdown());
            let _ = tokio::time::timeout(self.opts.timeout, task).await;
        }
    }

    async fn instance(&self, deadline: Instant) -> Result<Arc<dyn Live>, Error> {
        // Held across the instantiation so concurrent first calls create one instance, not many.
        let mut st = self.state.lock().await;
        if let Some(live) = &st.live {
            return Ok(live.clone());
        }
        if let Some(at) = st.retry_at {
            let now = Instant::now();
            if at > now {
                return Err(self.error(
                    "instantiate",
                    ErrorCode::UNAVAILABLE,
                    format!(
                        "restarting after {} panic(s); next attempt in {:.1}s",
                        st.panics,
                        (at - now).as_secs_f64()
                    ),
                    true,
                ));
            }
        }
        let backend = self.backend.clone();
        let wait = deadline.saturating_duration_since(Instant::now());
        let component = self.id.clone();
        let config = self.config_json.clone();
        let info_json = serde_json::to_string(&HostInfo {
            instance_id: format!("{}#{}", self.id, st.generation + 1),
            ..self.host_info.clone()
        })
        .expect("HostInfo serialises");
        let callbacks = HostCallbacks {
            component: self.id.clone(),
            host_info_json: info_json.clone(),
            secrets: self.secrets.clone(),
            events: self.events.clone(),
        };
        let task = off_runtime(
            "ao-plugin-instantiate",
            move || -> Result<Arc<dyn Live>, PluginError> {
                match backend {
                    Backend::InProcess(library) => (library.root.instantiate())(
                        AbiStr::from(component.as_str()),
                        AbiStr::from(config.as_str()),
                        AbiStr::from(info_json.as_str()),
                        abi::box_host(callbacks),
                    )
                    .into_result()
                    .map(|i| Arc::new(i) as Arc<dyn Live>),
                    Backend::Subprocess { shim, library } => ShimInstance::start(
                        &shim, &library, &component, &config, &info_json, callbacks, wait,
                    )
                    .map(|i| Arc::new(i) as Arc<dyn Live>),
                }
            },
        );
        let made = match tokio::time::timeout_at(deadline, task).await {
            Err(_) => Err(self.error(
                "instantiate",
                ErrorCode::TIMEOUT,
                "the plugin did not finish instantiating in time".into(),
                true,
            )),
            Ok(Err(lost)) => Err(self.error("instantiate", ErrorCode::INTERNAL, lost, false)),
            Ok(Ok(Err(e))) => {
                if e.code == ErrorCode::PANICKED {
                    st.panics += 1;
                    st.retry_at = Some(Instant::now() + self.backoff(st.panics));
                }
                Err(self.error("instantiate", e.code, e.message.into_string(), e.retryable))
            }
            Ok(Ok(Ok(inst))) => Ok(inst),
        }?;
        st.generation += 1;
        st.retry_at = None;
        st.live = Some(made.clone());
        tracing::debug!(component = %self.id, generation = st.generation, "plugin instance created");
        Ok(made)
    }

    /// Drops a suspect instance so the next call gets a fresh one (no back-off).
    async fn retire(&self, inst: &Arc<dyn Live>) {
        let mut st = self.state.lock().await;
        if st.live.as_ref().is_some_and(|l| Arc::ptr_eq(l, inst)) {
            st.live = None;
            inst.abandon();
        }
    }

    /// Drops a panicked instance and delays its replacement.
    async fn poison(&self, inst: &Arc<dyn Live>) {
        let mut st = self.state.lock().await;
        if st.live.as_ref().is_some_and(|l| Arc::ptr_eq(l, inst)) {
            st.live = None;
            inst.abandon();
            st.panics += 1;
            let wait = self.backoff(st.panics);
            st.retry_at = Some(Instant::now() + wait);
            tracing::warn!(component = %self.id, panics = st.panics, "plugin panicked or crashed; instance dropped, restarting in {wait:?}");
        }
    }

    fn backoff(&self, panics: u32) -> Duration {
        let factor = 2u32.saturating_pow(panics.saturating_sub(1).min(16));
        (self.opts.backoff_base * factor).min(self.opts.backoff_max)
    }

    fn error(&self, method: &str, code: ErrorCode, message: String, retryable: bool) -> Error {
        Error::PluginCall {
            component: self.id.clone(),
            method: method.to_string(),
            code,
            message,
            retryable,
        }
    }
}

/// Runs a synchronous plugin call on a plugin thread and hands back its result.
///
/// Not `spawn_blocking`, on purpose: a plugin that never returns would hold one of tokio's
/// blocking-pool threads for good (starving `tokio::fs` and process I/O), and dropping a runtime
/// waits for every blocking task, so one hung plugin would also hang `ao`'s shutdown. Plugin
/// threads are detached and reused ([`super::threads`]).
fn off_runtime<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> impl std::future::Future<Output = Result<T, String>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = super::threads::run(name, move || {
        let _ = tx.send(f());
    });
    async move {
        spawned.map_err(|e| format!("could not start a plugin thread: {e}"))?;
        rx.await
            .map_err(|_| "the plugin thread ended without an answer".to_string())
    }
}
