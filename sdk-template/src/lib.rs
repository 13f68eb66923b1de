//! {{description}}

use ao_plugin_api::sdk::{Ctx, HostHandle, SdkError};
{% if slot == "notifier" %}use ao_plugin_api::slots::notifier::{Notifier, NotifyOutcome, NotifyRequest};
{% elsif slot == "runtime" %}use ao_plugin_api::slots::runtime::*;
{% elsif slot == "agent" %}use ao_plugin_api::slots::agent::*;
{% elsif slot == "workspace" %}use ao_plugin_api::slots::workspace::*;
{% elsif slot == "tracker" %}use ao_plugin_api::slots::tracker::*;
{% elsif slot == "scm" %}use ao_plugin_api::slots::scm::*;
{% elsif slot == "terminal" %}use ao_plugin_api::slots::terminal::*;
{% endif %}
/// The component's configuration, from agent-orchestrator.yaml.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// An example setting: prepended to what the plugin logs.
    #[serde(default)]
    pub prefix: String,
}

/// The plugin.
pub struct Plugin {
    prefix: String,
}

fn todo(what: &str) -> SdkError {
    SdkError::Unsupported(format!("{what} is not written yet"))
}
{% if slot == "notifier" %}
impl Notifier for Plugin {
    type Config = Config;

    fn new(config: Config, _host: &HostHandle) -> Result<Self, SdkError> {
        Ok(Plugin { prefix: config.prefix })
    }

    fn notify(&self, _ctx: &Ctx, req: NotifyRequest) -> Result<NotifyOutcome, SdkError> {
        let n = req.notification;
        // Deliver `n` to your service here. This template only logs it.
        ao_plugin_api::tracing::info!("{}{} [{}]: {}", self.prefix, n.title, n.event_type, n.message);
        Ok(NotifyOutcome { id: None, attempts: 1 })
    }
}
{% elsif slot == "runtime" %}
impl Runtime for Plugin {
    type Config = Config;

    fn new(config: Config, _host: &HostHandle) -> Result<Self, SdkError> {
        Ok(Plugin { prefix: config.prefix })
    }
    fn create(&self, _ctx: &Ctx, req: CreateRequest) -> Result<RuntimeHandle, SdkError> {
        ao_plugin_api::tracing::info!("{}create {}", self.prefix, req.runtime_name);
        Err(todo("create"))
    }
    fn destroy(&self, _ctx: &Ctx, _req: HandleRequest) -> Result<(), SdkError> {
        Err(todo("destroy"))
    }
    fn send_message(&self, _ctx: &Ctx, _req: SendMessageRequest) -> Result<SendOutcome, SdkError> {
        Err(todo("send_message"))
    }
    fn get_output(&self, _ctx: &Ctx, _req: GetOutputRequest) -> Result<Output, SdkError> {
        Err(todo("get_output"))
    }
    fn is_alive(&self, _ctx: &Ctx, _req: IsAliveRequest) -> Result<Liveness, SdkError> {
        Err(todo("is_alive"))
    }
}
{% elsif slot == "agent" %}
impl Agent for Plugin {
    type Config = Config;

    fn new(config: Config, _host: &HostHandle) -> Result<Self, SdkError> {
        Ok(Plugin { prefix: config.prefix })
    }
    fn launch(&self, _ctx: &Ctx, req: LaunchRequest) -> Result<LaunchSpec, SdkError> {
        ao_plugin_api::tracing::info!("{}launch in {}", self.prefix, req.workspace_path);
        Err(todo("launch"))
    }
    fn activity(&self, _ctx: &Ctx, _req: ActivityRequest) -> Result<Option<Activity>, SdkError> {
        // `None`: no evidence yet. Combine your signals with `sdk::agent::activity`.
        Ok(None)
    }
    fn detect_activity(&self, _ctx: &Ctx, _req: DetectActivityRequest) -> Result<DetectedActivity, SdkError> {
        Ok(DetectedActivity { state: None })
    }
    fn session_info(&self, _ctx: &Ctx, _req: SessionInfoRequest) -> Result<SessionInfo, SdkError> {
        Ok(SessionInfo::default())
    }
}
{% elsif slot == "workspace" %}
impl Workspace for Plugin {
    type Config = Config;

    fn new(config: Config, _host: &HostHandle) -> Result<Self, SdkError> {
        Ok(Plugin { prefix: config.prefix })
    }
    fn create(&self, _ctx: &Ctx, req: CreateRequest) -> Result<WorkspaceInfo, SdkError> {
        ao_plugin_api::tracing::info!("{}create {}", self.prefix, req.session_id);
        Err(todo("create"))
    }
    fn destroy(&self, _ctx: &Ctx, _req: DestroyRequest) -> Result<DestroyOutcome, SdkError> {
        Err(todo("destroy"))
    }
    fn list(&self, _ctx: &Ctx, _req: ListRequest) -> Result<WorkspaceList, SdkError> {
        Ok(WorkspaceList { workspaces: Vec::new() })
    }
    fn exists(&self, _ctx: &Ctx, req: PathRequest) -> Result<Exists, SdkError> {
        Ok(Exists { exists: std::path::Path::new(&req.path).exists() })
    }
}
{% elsif slot == "tracker" %}
impl Tracker for Plugin {
    type Config = Config;

    fn new(config: Config, _host: &HostHandle) -> Result<Self, SdkError> {
        Ok(Plugin { prefix: config.prefix })
    }
    fn get_issue(&self, _ctx: &Ctx, req: IssueRequest) -> Result<Issue, SdkError> {
        ao_plugin_api::tracing::info!("{}get {}", self.prefix, req.issue_id);
        Err(SdkError::NotFound(format!("issue {} not found", req.issue_id)))
    }
    fn is_completed(&self, _ctx: &Ctx, _req: IssueRequest) -> Result<Completed, SdkError> {
        Err(todo("is_completed"))
    }
    fn issue_url(&self, _ctx: &Ctx, _req: IssueRequest) -> Result<Url, SdkError> {
        Err(todo("issue_url"))
    }
    fn branch_name(&self, _ctx: &Ctx, req: IssueRequest) -> Result<BranchName, SdkError> {
        Ok(BranchName { branch: format!("feat/{}", req.issue_id) })
    }
    fn prompt_context(&self, _ctx: &Ctx, _req: IssueRequest) -> Result<PromptContext, SdkError> {
        Err(todo("prompt_context"))
    }
}
{% elsif slot == "scm" %}
impl Scm for Plugin {
    type Config = Config;

    fn new(config: Config, _host: &HostHandle) -> Result<Self, SdkError> {
        Ok(Plugin { prefix: config.prefix })
    }
    fn detect_pr(&self, _ctx: &Ctx, req: DetectPrRequest) -> Result<DetectedPr, SdkError> {
        ao_plugin_api::tracing::info!("{}detect {}", self.prefix, req.branch);
        Ok(DetectedPr { pr: None })
    }
    fn enrich_batch(&self, _ctx: &Ctx, _req: EnrichBatchRequest) -> Result<EnrichBatchResponse, SdkError> {
        Err(todo("enrich_batch"))
    }
    fn ci_logs(&self, _ctx: &Ctx, _req: CiLogsRequest) -> Result<CiLogs, SdkError> {
        Ok(CiLogs { excerpts: Vec::new() })
    }
    fn merge(&self, _ctx: &Ctx, _req: MergeRequest) -> Result<MergeOutcome, SdkError> {
        Err(todo("merge"))
    }
}
{% elsif slot == "terminal" %}
impl Terminal for Plugin {
    type Config = Config;

    fn new(config: Config, _host: &HostHandle) -> Result<Self, SdkError> {
        Ok(Plugin { prefix: config.prefix })
    }
    fn open_session(&self, _ctx: &Ctx, req: OpenSessionRequest) -> Result<Opened, SdkError> {
        ao_plugin_api::tracing::info!("{}open {}", self.prefix, req.session.session_id);
        Err(todo("open_session"))
    }
    fn open_all(&self, _ctx: &Ctx, _req: OpenAllRequest) -> Result<Opened, SdkError> {
        Err(todo("open_all"))
    }
}
{% endif %}
ao_plugin_api::export_plugin! {
    name: "{{project-name}}",
    components: [ {{slot}} "{{project-name}}" => Plugin ],
}
