//! GitHub for ao: `tracker/github` (issues) and `scm/github` (pull requests, CI, reviews),
//! straight over the REST and GraphQL APIs — no `gh` subprocess per question.
//!
//! Cost discipline is the point (see `enrich`): a tick where nothing changed costs only free
//! `304`s; a tick where some PRs changed costs one GraphQL query per 50 changed PRs. Both
//! components share one client per API and token, so rate-limit accounting is the plugin's.

mod client;
mod enrich;
mod facts;
mod link;
mod query;
mod refs;
mod scm;
mod tracker;
mod webhook;

pub use scm::GithubScm;
pub use tracker::GithubTracker;
pub use webhook::sign as sign_webhook;

use ao_plugin_api::sdk::{HostHandle, SdkError};
use schemars::JsonSchema;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// Configuration shared by both components.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// REST base: `https://api.github.com`, or `https://HOST/api/v3` for GitHub Enterprise.
    #[serde(default = "default_api_url")]
    pub api_url: String,
    /// GraphQL endpoint; derived from `apiUrl` when absent (`/graphql`, or `/api/graphql` on
    /// Enterprise).
    #[serde(default)]
    pub graphql_url: Option<String>,
    /// The environment variable holding the token (`GITHUB_TOKEN`, `GH_TOKEN`); without it,
    /// `gh auth token` is asked.
    #[serde(default)]
    pub token_env: Option<String>,
    /// The environment variable holding the webhook secret; without it, deliveries are refused.
    #[serde(default)]
    pub webhook_secret_env: Option<String>,
    /// Longest a single request may take.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// REST requests kept in reserve: below this, optional refreshes are skipped until reset.
    #[serde(default = "default_rest_reserve")]
    pub rest_reserve: u64,
    /// GraphQL points kept in reserve.
    #[serde(default = "default_graphql_reserve")]
    pub graphql_reserve: u64,
    /// How often (in ticks) CI that already finished is re-checked for re-runs.
    #[serde(default = "default_recheck")]
    pub settled_ci_recheck_ticks: u64,
    /// More logins whose review comments count as bot comments.
    #[serde(default)]
    pub bot_logins: Vec<String>,
    /// Branch names from issues are `<branchPrefix>/<number>-<slug>`.
    #[serde(default = "default_branch_prefix")]
    pub branch_prefix: String,
    /// Web base for links (`https://github.com`); derived from `apiUrl` when absent.
    #[serde(default)]
    pub web_url: Option<String>,
}

fn default_api_url() -> String {
    "https://api.github.com".into()
}
fn default_timeout_ms() -> u64 {
    30_000
}
fn default_rest_reserve() -> u64 {
    100
}
fn default_graphql_reserve() -> u64 {
    200
}
fn default_recheck() -> u64 {
    10
}
fn default_branch_prefix() -> String {
    "feat".into()
}

/// Settings derived from the config.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) web_url: String,
    pub(crate) branch_prefix: String,
    pub(crate) enrich: enrich::Settings,
}

/// Validates the config and returns the shared client.
pub(crate) fn connect(
    config: &Config,
    host: &HostHandle,
) -> Result<(Arc<client::Client>, Settings), SdkError> {
    let api = config.api_url.trim_end_matches('/').to_string();
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|p| api.starts_with(p));
    if !api.starts_with("https://") && !loopback {
        return Err(SdkError::InvalidConfig(format!(
            "`apiUrl` {api} must be https:// (http:// only for a local server): the token would travel in clear"
        )));
    }
    let graphql = match &config.graphql_url {
        Some(g) => g.clone(),
        None => match api.strip_suffix("/api/v3") {
            Some(host) => format!("{host}/api/graphql"),
            None => format!("{api}/graphql"),
        },
    };
    let web_url = match &config.web_url {
        Some(w) => w.trim_end_matches('/').to_string(),
        None if api == "https://api.github.com" => "https://github.com".into(),
        None => api.strip_suffix("/api/v3").unwrap_or(&api).to_string(),
    };
    if config.timeout_ms == 0 {
        return Err(SdkError::InvalidConfig(
            "`timeoutMs` must be above 0".into(),
        ));
    }
    ao_plugin_api::sdk::git::check_branch_name(&format!("{}/1", config.branch_prefix))
        .map_err(|e| SdkError::InvalidConfig(format!("`branchPrefix`: {e}")))?;
    let source = match &config.token_env {
        Some(name) => client::TokenSource::Value(host.secret(name)?),
        None => client::TokenSource::GhCli,
    };
    let client = client::shared(
        &api,
        &graphql,
        source,
        Duration::from_millis(config.timeout_ms),
    );
    Ok((
        client,
        Settings {
            web_url,
            branch_prefix: config.branch_prefix.clone(),
            enrich: enrich::Settings {
                rest_reserve: config.rest_reserve,
                graphql_reserve: config.graphql_reserve,
                settled_recheck_ticks: config.settled_ci_recheck_ticks,
                extra_bots: config.bot_logins.clone(),
            },
        },
    ))
}

ao_plugin_api::export_plugin! {
    name: "github",
    description: "GitHub issues and pull requests over REST + GraphQL, with ETag and batch cost discipline",
    components: [ tracker "github" => GithubTracker, scm "github" => GithubScm ],
}
