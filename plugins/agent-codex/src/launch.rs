//! The argv that starts or resumes Codex (flags checked against `codex --help` and
//! `codex resume --help` of codex-cli 0.169.0 and the real 0.171.0; see the README).

use crate::Config;
use ao_plugin_api::sdk::{SdkError, agent};
use ao_plugin_api::slots::agent::{LaunchRequest, LaunchSpec, PermissionMode, PromptDelivery};

/// A TOML basic string (JSON's string escapes are a subset TOML accepts).
fn toml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

fn flags(config: &Config, req: &LaunchRequest) -> Result<Vec<String>, SdkError> {
    // `--no-daemon`: otherwise the TUI leaves a shared app-server running after it exits,
    // where the conversation lives on and `/quit` ends nothing.
    let mut argv: Vec<String> = vec![
        "--no-daemon".into(),
        "-c".into(),
        "check_for_update_on_startup=false".into(),
    ];
    match req.permissions {
        // Codex's own default, said explicitly: sandboxed edits, it asks to leave the sandbox.
        PermissionMode::Default | PermissionMode::AutoEdit => argv.extend(
            [
                "--sandbox",
                "workspace-write",
                "--ask-for-approval",
                "on-request",
            ]
            .map(String::from),
        ),
        PermissionMode::Skip => argv.push("--dangerously-bypass-approvals-and-sandbox".into()),
        PermissionMode::Suggest => argv.extend(["--sandbox", "read-only"].map(String::from)),
    }
    if let Some(model) = &req.model {
        argv.extend(["--model".into(), model.clone()]);
    }
    if let Some(effort) = &config.reasoning_effort {
        argv.extend([
            "-c".into(),
            format!("model_reasoning_effort={}", toml_str(effort)),
        ]);
    }
    if let Some(file) = &req.system_prompt_file {
        let text = agent::read_system_prompt(file)?;
        argv.extend([
            "-c".into(),
            format!("developer_instructions={}", toml_str(&text)),
        ]);
    }
    // Codex runs `notify` with the event's JSON appended as the last argument.
    if let (Some(status), false) = (&req.status_file, req.ao_command.is_empty()) {
        let mut notify = req.ao_command.clone();
        notify.extend(
            [
                "hook",
                "--agent",
                "codex",
                "--state",
                "ready",
                "--status-file",
                status,
                "agent-turn-complete",
            ]
            .map(String::from),
        );
        let list: Vec<String> = notify.iter().map(|w| toml_str(w)).collect();
        argv.extend(["-c".into(), format!("notify=[{}]", list.join(","))]);
    }
    argv.extend(req.extra_args.iter().cloned());
    Ok(argv)
}

/// A fresh session; the task prompt is Codex's initial prompt (interactive, unlike `exec`).
pub(crate) fn launch(
    binary: &str,
    config: &Config,
    req: &LaunchRequest,
) -> Result<LaunchSpec, SdkError> {
    let mut argv = vec![binary.to_owned()];
    argv.extend(flags(config, req)?);
    if let Some(prompt) = req.prompt.as_deref().filter(|p| !p.trim().is_empty()) {
        argv.extend(["--".into(), prompt.to_owned()]);
    }
    Ok(LaunchSpec {
        argv,
        env: agent::launch_env(req),
        prompt_delivery: PromptDelivery::Inline,
        process_names: vec!["codex".into()],
        agent_session_id: None,
    })
}

/// `codex resume <thread id>` with the same flags and instructions.
pub(crate) fn resume(
    binary: &str,
    config: &Config,
    req: &LaunchRequest,
    id: &str,
) -> Result<LaunchSpec, SdkError> {
    if !id.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(SdkError::InvalidParams(format!(
            "Codex thread id {id:?} is malformed"
        )));
    }
    let mut argv = vec![binary.to_owned(), "resume".to_owned()];
    argv.extend(flags(config, req)?);
    argv.push(id.to_owned());
    Ok(LaunchSpec {
        argv,
        env: agent::launch_env(req),
        prompt_delivery: PromptDelivery::Inline,
        process_names: vec!["codex".into()],
        agent_session_id: Some(id.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launch_argv() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.md");
        std::fs::write(&f, "Say \"done\"\nwhen done.").unwrap();
        let req = LaunchRequest {
            session_id: "app-2".into(),
            project_id: "app".into(),
            workspace_path: "/w".into(),
            issue_id: None,
            prompt: Some("Fix #7".into()),
            system_prompt_file: Some(f.display().to_string()),
            permissions: PermissionMode::Skip,
            model: Some("gpt-5-codex".into()),
            status_file: Some("/s/app-2.jsonl".into()),
            extra_args: vec![],
            ao_command: vec!["/bin/ao".into()],
        };
        let spec = launch("codex", &Config::default(), &req).unwrap();
        assert_eq!(
            spec.argv,
            [
                "codex",
                "--no-daemon",
                "-c",
                "check_for_update_on_startup=false",
                "--dangerously-bypass-approvals-and-sandbox",
                "--model",
                "gpt-5-codex",
                "-c",
                r#"developer_instructions="Say \"done\"\nwhen done.""#,
                "-c",
                r#"notify=["/bin/ao","hook","--agent","codex","--state","ready","--status-file","/s/app-2.jsonl","agent-turn-complete"]"#,
                "--",
                "Fix #7"
            ]
        );
        let resumed = resume(
            "codex",
            &Config::default(),
            &req,
            "0199a213-81c0-7800-8aa1-bbab2a035a53",
        )
        .unwrap();
        assert_eq!(resumed.argv[..2], ["codex", "resume"]);
        assert_eq!(
            resumed.argv.last().unwrap(),
            "0199a213-81c0-7800-8aa1-bbab2a035a53"
        );
        assert!(!resumed.argv.contains(&"Fix #7".to_string()));
        assert!(resume("codex", &Config::default(), &req, "--last").is_err());
    }
}
