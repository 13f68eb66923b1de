//! The argv that starts or resumes Claude Code (flags checked against `claude --help` of
//! 2.1.197 and the real 2.1.332; see the README).

use ao_plugin_api::sdk::{SdkError, agent};
use ao_plugin_api::slots::agent::{LaunchRequest, LaunchSpec, PermissionMode, PromptDelivery};
use std::collections::BTreeMap;

/// Subcommands of `claude`: a prompt that is exactly one of these would run it instead.
const SUBCOMMANDS: &[&str] = &[
    "agents",
    "auth",
    "auto-mode",
    "doctor",
    "gateway",
    "install",
    "mcp",
    "plugin",
    "plugins",
    "project",
    "setup-token",
    "ultrareview",
    "update",
    "upgrade",
];

fn common(binary: &str, req: &LaunchRequest) -> Result<Vec<String>, SdkError> {
    let mut argv = vec![binary.to_owned()];
    // Always explicit: with no flag, 2.1.332 runs in "auto" mode and asks for nothing, so
    // `permissions: default` would silently stop meaning "it asks".
    let mode = match req.permissions {
        PermissionMode::Default => "default",
        PermissionMode::Skip => "bypassPermissions",
        PermissionMode::AutoEdit => "acceptEdits",
        PermissionMode::Suggest => "plan",
    };
    argv.extend(["--permission-mode".into(), mode.into()]);
    if let Some(model) = &req.model {
        argv.extend(["--model".into(), model.clone()]);
    }
    if let Some(file) = &req.system_prompt_file {
        argv.extend([
            "--append-system-prompt".into(),
            agent::read_system_prompt(file)?,
        ]);
    }
    argv.extend(req.extra_args.iter().cloned());
    Ok(argv)
}

fn env(req: &LaunchRequest) -> BTreeMap<String, String> {
    let mut env = agent::launch_env(req);
    // Claude refuses to start "inside Claude Code" when this is set; set empty, as an
    // orchestrator agent may itself run in Claude.
    env.insert("CLAUDECODE".to_owned(), String::new());
    env
}

/// A fresh conversation with a fixed id, the task prompt as Claude's initial prompt (an
/// interactive session that starts working at once, unlike `-p`, which exits after one answer).
pub(crate) fn launch(binary: &str, req: &LaunchRequest) -> Result<LaunchSpec, SdkError> {
    let id = new_uuid()?;
    let mut argv = common(binary, req)?;
    argv.extend(["--session-id".into(), id.clone()]);
    let mut delivery = PromptDelivery::Inline;
    if let Some(prompt) = req.prompt.as_deref().filter(|p| !p.trim().is_empty()) {
        if SUBCOMMANDS.contains(&prompt.trim()) {
            delivery = PromptDelivery::PostLaunch;
        } else {
            argv.extend(["--".into(), prompt.to_owned()]);
        }
    }
    Ok(LaunchSpec {
        argv,
        env: env(req),
        prompt_delivery: delivery,
        process_names: vec!["claude".into()],
        agent_session_id: Some(id),
    })
}

/// The same conversation again (`--resume <id>`), with the same system prompt and flags.
pub(crate) fn resume(binary: &str, req: &LaunchRequest, id: &str) -> Result<LaunchSpec, SdkError> {
    if !is_uuid(id) {
        return Err(SdkError::InvalidParams(format!(
            "Claude Code session id {id:?} is not a UUID"
        )));
    }
    let mut argv = common(binary, req)?;
    argv.extend(["--resume".into(), id.to_owned()]);
    Ok(LaunchSpec {
        argv,
        env: env(req),
        prompt_delivery: PromptDelivery::Inline,
        process_names: vec!["claude".into()],
        agent_session_id: Some(id.to_owned()),
    })
}

/// A random (version 4) UUID, from the kernel's generator.
fn new_uuid() -> Result<String, SdkError> {
    use std::io::Read;
    let mut b = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .map_err(|e| SdkError::Internal(format!("cannot read /dev/urandom: {e}")))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

pub(crate) fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> LaunchRequest {
        LaunchRequest {
            session_id: "app-1".into(),
            project_id: "app".into(),
            workspace_path: "/w".into(),
            issue_id: Some("42".into()),
            prompt: Some("-fix the bug".into()),
            system_prompt_file: None,
            permissions: PermissionMode::Skip,
            model: Some("opus".into()),
            status_file: Some("/s/app-1.jsonl".into()),
            extra_args: vec!["--verbose".into()],
            ao_command: vec![],
        }
    }

    #[test]
    fn launch_fixes_the_id_and_passes_the_prompt_as_an_operand() {
        let spec = launch("claude", &req()).unwrap();
        let id = spec.agent_session_id.clone().unwrap();
        assert!(is_uuid(&id), "{id}");
        assert_eq!(
            spec.argv,
            [
                "claude",
                "--permission-mode",
                "bypassPermissions",
                "--model",
                "opus",
                "--verbose",
                "--session-id",
                &id,
                "--",
                "-fix the bug"
            ]
        );
        assert_eq!(spec.env["CLAUDECODE"], "");
        assert_eq!(spec.env["AO_ISSUE_ID"], "42");
        assert_eq!(spec.prompt_delivery, PromptDelivery::Inline);
        assert_ne!(
            launch("claude", &req()).unwrap().agent_session_id,
            spec.agent_session_id
        );
    }

    #[test]
    fn a_prompt_that_names_a_subcommand_is_sent_after_launch() {
        let mut r = req();
        r.prompt = Some("update".into());
        let spec = launch("claude", &r).unwrap();
        assert_eq!(spec.prompt_delivery, PromptDelivery::PostLaunch);
        assert!(!spec.argv.contains(&"update".to_string()));
    }

    #[test]
    fn resume_keeps_the_system_prompt_and_flags() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.md");
        std::fs::write(&f, "Work in this repo.").unwrap();
        let mut r = req();
        r.system_prompt_file = Some(f.display().to_string());
        r.permissions = PermissionMode::AutoEdit;
        let id = "0b4c2a53-8f0e-4a8e-9f55-1f8a9b0c7d21";
        let spec = resume("claude", &r, id).unwrap();
        assert_eq!(
            spec.argv,
            [
                "claude",
                "--permission-mode",
                "acceptEdits",
                "--model",
                "opus",
                "--append-system-prompt",
                "Work in this repo.",
                "--verbose",
                "--resume",
                id
            ]
        );
        assert!(resume("claude", &r, "x; rm -rf /").is_err());
    }

    #[test]
    fn an_oversized_system_prompt_is_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.md");
        std::fs::write(&f, "x".repeat(200 * 1024)).unwrap();
        let mut r = req();
        r.system_prompt_file = Some(f.display().to_string());
        let e = launch("claude", &r).unwrap_err().to_string();
        assert!(e.contains("shorten agentRules"), "{e}");
    }
}
