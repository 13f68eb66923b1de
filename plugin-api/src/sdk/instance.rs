//! The plugin-side implementation of the ABI's `Instance`: decode the envelope, dispatch, guard.

use crate::abi::{AbiResult, AbiStr, AbiString, ErrorCode, Instance, PluginError};
use crate::manifest::CallCtx;
use crate::sdk::host::CancelSet;
use crate::sdk::{Ctx, Dispatch, HostHandle, guard, logging};
use std::sync::Arc;

pub(crate) struct PluginInstance {
    component: Box<dyn Dispatch>,
    cancels: Arc<CancelSet>,
    /// This instance's host: where logs from its calls go.
    host: HostHandle,
}

impl PluginInstance {
    pub(crate) fn new(component: Box<dyn Dispatch>, host: HostHandle) -> Self {
        Self {
            component,
            cancels: Arc::default(),
            host,
        }
    }
}

impl Instance for PluginInstance {
    fn call(
        &self,
        method: AbiStr<'_>,
        params_json: AbiStr<'_>,
        ctx_json: AbiStr<'_>,
    ) -> AbiResult<AbiString, PluginError> {
        let method = method.as_str();
        guard::run(method, || {
            let call: CallCtx = serde_json::from_str(ctx_json.as_str()).map_err(|e| {
                PluginError::new(ErrorCode::INVALID_PARAMS, format!("bad call context: {e}"))
            })?;
            let id = call.request_id;
            let ctx = Ctx::new(call, self.cancels.clone());
            let out = logging::scoped(&self.host, || {
                self.component.call(method, params_json.as_str(), &ctx)
            });
            self.cancels.forget(id);
            out.map(AbiString::from).map_err(PluginError::from)
        })
        .into()
    }

    fn cancel(&self, request_id: u64) {
        let _ = guard::run("cancel", || {
            self.cancels.cancel(request_id);
            Ok(())
        });
    }

    fn shutdown(&self) {
        let _ = guard::run("shutdown", || {
            logging::scoped(&self.host, || self.component.shutdown());
            Ok(())
        });
    }
}
