//! `ao config check | schema`.

use crate::cli::{Globals, output};
use anyhow::{Result, anyhow};
use ao::config::secrets::redact;
use ao::config::{Config, Problem};
use serde_json::{Value, json};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    cfg: crate::cli::ConfigFlag,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Validate the config (and the plugins it names) and print it resolved, secrets redacted
    Check {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Print the JSON Schema of agent-orchestrator.yaml (for `$schema` in editors)
    Schema,
}

pub(crate) fn run(args: Args, globals: &Globals) -> Result<ExitCode> {
    let globals = &globals.with(&args.cfg);
    match args.command {
        Command::Schema => {
            output::json(&ao::config::json_schema())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { json } => check(json, globals),
    }
}

fn check(json_out: bool, globals: &Globals) -> Result<ExitCode> {
    let cwd = std::env::current_dir()?;
    let (file, _) = ao::config::discover(globals.config.as_deref(), &cwd)?.ok_or_else(|| {
        anyhow!(
            "no agent-orchestrator.yaml in {} or above it",
            cwd.display()
        )
    })?;
    let text = std::fs::read_to_string(&file)?;
    let (config, mut problems) = match ao::config::load(&file) {
        Ok(c) => (Some(c), Vec::new()),
        Err(ao::Error::Config { problems }) => {
            // Path problems still leave a config worth showing; parse errors do not.
            let home = dirs::home_dir();
            (
                ao::config::from_text(&file, &text, home.as_deref()).ok(),
                problems,
            )
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(c) = &config {
        let catalog = crate::cli::plugins::scan_with(globals, c);
        problems.extend(crate::cli::plugins::config_problems(&catalog, c, &text));
    }
    let warnings: Vec<Problem> = config
        .as_ref()
        .map(|c| c.warnings.clone())
        .unwrap_or_default();
    if json_out {
        output::json(&json!({
            "data": config.as_ref().map(view),
            "meta": {
                "file": file,
                "errors": problems.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
                "warnings": warnings.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
            },
        }))?;
    } else {
        for p in &problems {
            output::note(&format!("error: {p}"));
        }
        for w in &warnings {
            output::note(&format!("warning: {w}"));
        }
        if let Some(c) = &config {
            output::out(&serde_yaml_ng::to_string(&view(c))?)?;
        }
        if problems.is_empty() {
            output::note(&format!("{}: ok", file.display()));
        }
    }
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The resolved config as data, with literal secrets redacted and unset fields left out.
fn view(c: &Config) -> Value {
    strip_nulls(full_view(c))
}

fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

fn full_view(c: &Config) -> Value {
    let instance =
        |i: &ao::config::PluginInstance| json!({ "plugin": i.plugin, "config": redact(&i.config) });
    json!({
        "file": c.file,
        "storeHash": c.hash,
        "port": c.port,
        "pollInterval": humantime::format_duration(c.poll_interval).to_string(),
        "defaults": { "runtime": c.runtime, "agent": c.agent, "workspace": c.workspace, "notifiers": c.default_notifiers },
        "projects": c.projects.values().map(|p| (p.id.clone(), json!({
            "name": p.name,
            "path": p.path,
            "repo": p.repo,
            "defaultBranch": p.default_branch,
            "sessionPrefix": p.session_prefix,
            "runtime": p.runtime,
            "agent": p.agent,
            "workspace": p.workspace,
            "tracker": p.tracker.as_ref().map(instance),
            "scm": p.scm.as_ref().map(instance),
            "permissions": p.permissions,
            "model": p.model,
            "postCreate": p.post_create.iter().map(|c| json!({ "argv": c.argv, "shell": c.shell })).collect::<Vec<_>>(),
            "symlinks": p.symlinks,
            // Literal secrets redacted; `${NAME}` references shown as written.
            "env": redact(&json!(p.agent_env.env)),
            "passEnv": p.agent_env.pass_env,
            "agentConfig": {
                "env": redact(&json!(p.agent_env.agent_env)),
                "passEnv": p.agent_env.agent_pass_env,
                "extraArgs": p.agent_env.extra_args,
            },
            "reactions": p.reactions.iter().map(|(k, r)| (k.clone(), json!({
                "auto": r.auto,
                "action": r.action,
                "message": r.message,
                "retries": r.retries,
                "escalateAfter": r.escalate_after.map(|e| match e {
                    ao::config::validate::Escalation::Attempts(n) => json!(n),
                    ao::config::validate::Escalation::After(d) => json!(humantime::format_duration(d).to_string()),
                }),
                "threshold": r.threshold.map(|d| humantime::format_duration(d).to_string()),
                "priority": r.priority,
            }))).collect::<serde_json::Map<_, _>>(),
        }))).collect::<serde_json::Map<_, _>>(),
        "notifiers": c.notifiers.iter().map(|(k, i)| (k.clone(), instance(i))).collect::<serde_json::Map<_, _>>(),
        "notificationRouting": c.routing.iter().map(|(p, r)| (serde_json::to_value(p).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default(), json!(r))).collect::<serde_json::Map<_, _>>(),
        "plugins": { "dirs": c.plugin_dirs, "isolation": c.isolation },
    })
}
