//! Typed async clients, one per slot, over a [`ComponentHandle`]. The lifecycle engine talks to
//! plugins only through these.

use crate::Error;
use crate::plugins::ComponentHandle;
use ao_plugin_api::slots::{agent, notifier, runtime, scm, terminal, tracker, workspace};
use std::sync::Arc;

macro_rules! client {
    ($(#[$doc:meta])* $name:ident { $( $(#[$mdoc:meta])* $method:ident($req:ty) -> $resp:ty = $konst:path; )* }) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $name(pub Arc<ComponentHandle>);

        impl $name {
            $(
                $(#[$mdoc])*
                pub async fn $method(&self, req: &$req) -> Result<$resp, Error> {
                    self.0.call($konst, req).await
                }
            )*

            /// Whether the plugin implements a (possibly optional) method.
            pub fn implements(&self, method: &str) -> bool {
                self.0.methods().iter().any(|m| m == method)
            }
        }
    };
}

client!(
    /// A runtime plugin.
    RuntimeClient {
        /// Start a session.
        create(runtime::CreateRequest) -> runtime::RuntimeHandle = runtime::CREATE;
        /// Stop a session.
        destroy(runtime::HandleRequest) -> () = runtime::DESTROY;
        /// Deliver a message with acknowledgement.
        send_message(runtime::SendMessageRequest) -> runtime::SendOutcome = runtime::SEND_MESSAGE;
        /// Capture output.
        get_output(runtime::GetOutputRequest) -> runtime::Output = runtime::GET_OUTPUT;
        /// Check one session.
        is_alive(runtime::IsAliveRequest) -> runtime::Liveness = runtime::IS_ALIVE;
        /// Check every session of a tick.
        probe(runtime::ProbeRequest) -> runtime::ProbeResponse = runtime::PROBE;
        /// How to attach.
        attach_info(runtime::HandleRequest) -> runtime::AttachInfo = runtime::ATTACH_INFO;
        /// Resource use.
        metrics(runtime::HandleRequest) -> runtime::Metrics = runtime::METRICS;
        /// Answer the dialog on screen with a human's choice.
        answer_dialog(runtime::AnswerRequest) -> runtime::AnswerOutcome = runtime::ANSWER_DIALOG;
        /// The runtime's sessions under a name prefix.
        list_sessions(runtime::ListSessionsRequest) -> runtime::SessionList = runtime::LIST_SESSIONS;
        /// The backend's state, for `ao doctor`.
        check(()) -> runtime::Checks = runtime::CHECK;
    }
);

client!(
    /// An agent plugin.
    AgentClient {
        /// The launch argv.
        launch(agent::LaunchRequest) -> agent::LaunchSpec = agent::LAUNCH;
        /// Current activity.
        activity(agent::ActivityRequest) -> Option<agent::Activity> = agent::ACTIVITY;
        /// Classify a screen.
        detect_activity(agent::DetectActivityRequest) -> agent::DetectedActivity = agent::DETECT_ACTIVITY;
        /// Summary, id and cost.
        session_info(agent::SessionInfoRequest) -> agent::SessionInfo = agent::SESSION_INFO;
        /// The resume argv.
        restore_command(agent::RestoreRequest) -> Option<agent::LaunchSpec> = agent::RESTORE_COMMAND;
        /// Install hooks.
        setup_workspace_hooks(agent::SetupHooksRequest) -> agent::SetupHooksResponse = agent::SETUP_WORKSPACE_HOOKS;
        /// How its screen reads.
        screen_rules(serde_json::Value) -> agent::ScreenRules = agent::SCREEN_RULES;
        /// The files inside a session that hold its records.
        session_files(agent::SessionFilesRequest) -> Vec<String> = agent::SESSION_FILES;
    }
);

client!(
    /// A workspace plugin.
    WorkspaceClient {
        /// Create.
        create(workspace::CreateRequest) -> workspace::WorkspaceInfo = workspace::CREATE;
        /// Destroy.
        destroy(workspace::DestroyRequest) -> workspace::DestroyOutcome = workspace::DESTROY;
        /// List.
        list(workspace::ListRequest) -> workspace::WorkspaceList = workspace::LIST;
        /// Exists.
        exists(workspace::PathRequest) -> workspace::Exists = workspace::EXISTS;
        /// Restore.
        restore(workspace::CreateRequest) -> workspace::WorkspaceInfo = workspace::RESTORE;
    }
);

client!(
    /// A tracker plugin.
    TrackerClient {
        /// Fetch an issue.
        get_issue(tracker::IssueRequest) -> tracker::Issue = tracker::GET_ISSUE;
        /// Is it done?
        is_completed(tracker::IssueRequest) -> tracker::Completed = tracker::IS_COMPLETED;
        /// Its URL.
        issue_url(tracker::IssueRequest) -> tracker::Url = tracker::ISSUE_URL;
        /// Its branch.
        branch_name(tracker::IssueRequest) -> tracker::BranchName = tracker::BRANCH_NAME;
        /// Prompt context.
        prompt_context(tracker::IssueRequest) -> tracker::PromptContext = tracker::PROMPT_CONTEXT;
        /// List issues.
        list_issues(tracker::ListIssuesRequest) -> tracker::IssueList = tracker::LIST_ISSUES;
        /// Update an issue.
        update_issue(tracker::UpdateIssueRequest) -> () = tracker::UPDATE_ISSUE;
        /// Create an issue.
        create_issue(tracker::CreateIssueRequest) -> tracker::Issue = tracker::CREATE_ISSUE;
    }
);

client!(
    /// An SCM plugin.
    ScmClient {
        /// Find a branch's PR.
        detect_pr(scm::DetectPrRequest) -> scm::DetectedPr = scm::DETECT_PR;
        /// One tick's PR facts.
        enrich_batch(scm::EnrichBatchRequest) -> scm::EnrichBatchResponse = scm::ENRICH_BATCH;
        /// Failed-check log excerpts.
        ci_logs(scm::CiLogsRequest) -> scm::CiLogs = scm::CI_LOGS;
        /// Merge.
        merge(scm::MergeRequest) -> scm::MergeOutcome = scm::MERGE;
        /// Resolve a reference to a PR.
        resolve_pr(scm::PrRequest) -> scm::PrInfo = scm::RESOLVE_PR;
        /// Close a PR.
        close_pr(scm::PrRequest) -> () = scm::CLOSE_PR;
        /// Verify a webhook.
        verify_webhook(scm::WebhookRequest) -> scm::WebhookVerdict = scm::VERIFY_WEBHOOK;
        /// Parse a webhook.
        parse_webhook(scm::WebhookRequest) -> scm::ParsedWebhook = scm::PARSE_WEBHOOK;
        /// API budget.
        rate_limit(()) -> scm::RateLimitStatus = scm::RATE_LIMIT;
    }
);

client!(
    /// A notifier plugin.
    NotifierClient {
        /// Deliver a notification.
        notify(notifier::NotifyRequest) -> notifier::NotifyOutcome = notifier::NOTIFY;
        /// Deliver with actions.
        notify_with_actions(notifier::NotifyWithActionsRequest) -> notifier::NotifyOutcome = notifier::NOTIFY_WITH_ACTIONS;
        /// Post a free message.
        post(notifier::PostRequest) -> notifier::NotifyOutcome = notifier::POST;
        /// Check credentials and reachability.
        test_connection(()) -> () = notifier::TEST_CONNECTION;
    }
);

client!(
    /// A terminal plugin.
    TerminalClient {
        /// Open one session.
        open_session(terminal::OpenSessionRequest) -> terminal::Opened = terminal::OPEN_SESSION;
        /// Open many.
        open_all(terminal::OpenAllRequest) -> terminal::Opened = terminal::OPEN_ALL;
        /// Is a view open?
        is_session_open(terminal::OpenSessionRequest) -> terminal::IsOpen = terminal::IS_SESSION_OPEN;
    }
);
