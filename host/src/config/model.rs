//! `agent-orchestrator.yaml` as written: the serde model (also the source of the JSON Schema).
//! Unknown keys are errors everywhere except inside plugin configs, which belong to the plugin
//! and are checked against its manifest schema.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RawConfig {
    /// The JSON Schema this file follows (for editors); `ao config schema` prints it.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Dashboard port on 127.0.0.1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// How often the lifecycle engine checks every session, e.g. `30s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_interval: Option<String>,
    /// Plugins used when a project does not say.
    #[serde(default)]
    pub defaults: Defaults,
    /// The projects, by id.
    pub projects: BTreeMap<String, ProjectConfig>,
    /// Reaction settings by key (`ci-failed`, …); partial: merged into the built-in defaults.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub reactions: BTreeMap<String, ReactionConfig>,
    /// Notifier instances by alias.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub notifiers: BTreeMap<String, PluginSettings>,
    /// Terminal plugins' own settings by plugin name (`web: {opener: [firefox]}`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub terminals: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
    /// Which notifiers get which priority; unrouted priorities go to `defaults.notifiers`.
    #[serde(default)]
    pub notification_routing: Routing,
    /// Plugin loading.
    #[serde(default)]
    pub plugins: PluginsConfig,
    /// What happens around merges.
    #[serde(default)]
    pub lifecycle: LifecycleConfig,
}

/// What happens around merges.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LifecycleConfig {
    /// Kill the session and remove its workspace once its PR is merged (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_cleanup_on_merge: Option<bool>,
    /// How long a merged session whose agent is still busy is left alone first (default `5m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_cleanup_grace: Option<String>,
    /// How long a spawn waits for the agent to show a sign of life before it returns anyway
    /// (default `60s`); an agent that exits sooner fails the spawn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_timeout: Option<String>,
    /// Let a PR with no passing check and no approval count as mergeable (default false: an
    /// `auto-merge` then needs a passing check or an approval).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_without_evidence: Option<bool>,
}

/// Default plugins.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Defaults {
    /// Runtime plugin (default `tmux`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    /// Agent plugin (default `claude-code`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// Workspace plugin (default `worktree`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    /// Notifier aliases used for priorities without a route (default `[desktop]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notifiers: Option<Vec<String>>,
    /// Terminal plugin `ao open` uses (default `web`; `tmux` opens windows in your tmux).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminal: Option<String>,
    /// Environment of every agent: literal values or `${NAME}` references to `ao`'s own
    /// environment, resolved at each spawn and restore. Projects and agent configs add to it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Variables of `ao`'s environment passed to every agent by name, when set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pass_env: Vec<String>,
}

/// One project.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProjectConfig {
    /// The checkout (`~` and paths relative to this file are resolved).
    pub path: String,
    /// `owner/name` on the forge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// Display name (default: the id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The branch sessions start from (default `main`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_branch: Option<String>,
    /// Session ids are `{sessionPrefix}-{n}` (default derived from the path's last component).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_prefix: Option<String>,
    /// Runtime plugin override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    /// Agent plugin override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// Workspace plugin override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    /// Tracker plugin and its config (default `github` when `repo` is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracker: Option<PluginSettings>,
    /// SCM plugin and its config (default `github` when `repo` is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scm: Option<PluginSettings>,
    /// Settings for the agent: `permissions`, `model`, and the agent plugin's own keys.
    #[serde(default)]
    pub agent_config: AgentConfig,
    /// The runtime plugin's own settings (e.g. tmux `socket`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub runtime_config: BTreeMap<String, serde_json::Value>,
    /// The workspace plugin's own settings.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub workspace_config: BTreeMap<String, serde_json::Value>,
    /// Per-project reaction overrides, merged over the global ones.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub reactions: BTreeMap<String, ReactionConfig>,
    /// Extra instructions for every agent in this project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_rules: Option<String>,
    /// A file with extra instructions (relative to the project path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_rules_file: Option<String>,
    /// Commands run in each new workspace, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_create: Vec<PostCreateStep>,
    /// Paths of the checkout to symlink into each workspace (`.env`, `node_modules`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub symlinks: Vec<String>,
    /// Environment of this project's agents, over `defaults.env`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Variables of `ao`'s environment passed to this project's agents by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pass_env: Vec<String>,
}

/// How the agent runs. Keys other than these belong to the agent plugin and are checked
/// against its schema.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentConfig {
    /// `default` (the agent asks) or `skip` (it never asks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Permissions>,
    /// Model override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Environment of the project's agent, over the project's `env`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Variables of `ao`'s environment passed to the project's agent by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pass_env: Vec<String>,
    /// Arguments appended to the agent's command line (each one word, no shell).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_args: Vec<String>,
    /// The agent plugin's own settings (`binary`, `prices`, …).
    #[serde(flatten)]
    pub plugin: BTreeMap<String, serde_json::Value>,
}

/// Permission handling for agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Permissions {
    /// The agent asks before acting.
    Default,
    /// The agent never asks.
    Skip,
}

/// A post-create step: a command line (split like a shell would, run without one), an argument
/// list, or `{run, shell: true}` for an explicit shell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum PostCreateStep {
    /// `npm install`
    Line(String),
    /// `["cargo", "fetch"]`
    Argv(Vec<String>),
    /// `{run: "make setup && make seed", shell: true}`
    Shell(ShellStep),
}

/// An explicit shell step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ShellStep {
    /// The command.
    pub run: String,
    /// Run it through `sh -c` (logged as such).
    #[serde(default)]
    pub shell: bool,
}

/// A plugin and its settings: `{plugin: slack, webhookUrlEnv: SLACK_HOOK, …}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PluginSettings {
    /// The plugin's component name (for notifiers, default: the alias).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
    /// Everything else is the plugin's own config.
    #[serde(flatten)]
    pub config: BTreeMap<String, serde_json::Value>,
}

/// Reaction settings; every field optional so a user can override one and keep the rest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReactionConfig {
    /// React automatically.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto: Option<bool>,
    /// `send-to-agent`, `notify` or `auto-merge`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<ReactionAction>,
    /// The message for `send-to-agent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Attempts before escalating to a human.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// Escalate after this many attempts (`2`) or this long (`30m`) in the same episode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate_after: Option<EscalateAfter>,
    /// How long a condition must hold before reacting (`10m` for agent-stuck).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<String>,
    /// Priority of the notification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<PriorityName>,
}

/// When to stop retrying and tell a human.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum EscalateAfter {
    /// After this many attempts.
    Attempts(u32),
    /// After this long, as a duration (`30m`).
    After(String),
}

/// What a reaction does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ReactionAction {
    /// Send a message to the session's agent.
    SendToAgent,
    /// Notify a human.
    Notify,
    /// Merge the PR.
    AutoMerge,
}

/// Notification priorities.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum PriorityName {
    /// Look now.
    Urgent,
    /// A decision waits.
    Action,
    /// May fix itself.
    Warning,
    /// For the record.
    Info,
}

/// Notifier aliases per priority.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Routing {
    /// Stuck, needs input, errored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urgent: Option<Vec<String>>,
    /// Ready to merge, merged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Vec<String>>,
    /// CI failed, changes requested, conflicts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<Vec<String>>,
    /// Progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<Vec<String>>,
}

/// Plugin loading.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PluginsConfig {
    /// Extra directories searched for plugins (after `--plugin-dir` and `AO_PLUGIN_PATH`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dirs: Vec<String>,
    /// Where each plugin runs, by plugin name: `in-process` (default) or `subprocess`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub isolation: BTreeMap<String, IsolationName>,
}

/// Where a plugin runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum IsolationName {
    /// In the `ao` process.
    InProcess,
    /// In a child process per instance.
    Subprocess,
}
