//! `agent/scripted`: `ao-scripted-agent` (from `testkit`) as an ao agent. It is what `ao demo`
//! and the lifecycle tests run instead of a paid AI CLI: a terminal program that takes
//! messages like an AI CLI does, reports its state through the status file like Claude Code's
//! hooks do, and follows a playbook (commit, push, open a PR, ask a question).
//!
//! - **Launch**: `ao-scripted-agent --status-file F --log L --session-id ID [--script P]`; the
//!   binary is found beside `ao` unless `binary` says otherwise. The task arrives after launch.
//! - **Activity**: the status file (its "hooks"), then the screen.
//! - **Resume**: the same argv with `--resume`: the conversation in the log continues.

use ao_plugin_api::sdk::agent::{self, any_contains, last_lines};
use ao_plugin_api::sdk::{Ctx, HostHandle, SdkError};
use ao_plugin_api::slots::agent::{
    self as slot, Activity, ActivityRequest, ActivityState, Agent, DetectActivityRequest,
    DetectedActivity, LaunchRequest, LaunchSpec, PromptDelivery, RestoreRequest, SessionInfo,
    SessionInfoRequest,
};
use schemars::JsonSchema;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The component's configuration.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// The `ao-scripted-agent` executable (default: beside `ao`).
    #[serde(default)]
    pub binary: Option<String>,
    /// The playbook (JSON) it follows.
    #[serde(default)]
    pub script: Option<String>,
    /// How long each message "takes", in ms (a spinner shows meanwhile).
    #[serde(default)]
    pub work_ms: Option<u64>,
}

/// The agent.
pub struct Scripted {
    config: Config,
}

/// The state a capture shows, if it shows one.
pub fn detect(screen: &str) -> Option<ActivityState> {
    let tail = last_lines(screen, 5);
    let last = tail.last()?.trim_end();
    if last.ends_with("(answer) >") {
        return Some(ActivityState::WaitingInput);
    }
    if any_contains(
        &tail[tail.len().saturating_sub(1)..],
        &["working ", "starting "],
    ) {
        return Some(ActivityState::Active);
    }
    (last == ">").then_some(ActivityState::Ready)
}

impl Scripted {
    fn binary(&self, req: &LaunchRequest) -> Result<String, SdkError> {
        if let Some(b) = &self.config.binary {
            return Ok(b.clone());
        }
        let beside = req
            .ao_command
            .first()
            .and_then(|ao| Path::new(ao).parent())
            .map(|d| d.join("ao-scripted-agent"))
            .filter(|p| p.is_file())
            .ok_or_else(|| {
                SdkError::InvalidConfig(
                    "ao-scripted-agent is not beside ao: build the workspace or set `binary`"
                        .into(),
                )
            })?;
        Ok(beside.display().to_string())
    }

    fn argv(&self, req: &LaunchRequest, id: &str, resume: bool) -> Result<Vec<String>, SdkError> {
        let mut argv = vec![self.binary(req)?];
        if let Some(f) = &req.status_file {
            argv.extend(["--status-file".into(), f.clone()]);
            argv.extend([
                "--log".into(),
                conversation_log(f, id).display().to_string(),
            ]);
        }
        argv.extend(["--session-id".into(), id.to_string()]);
        if let Some(s) = &self.config.script {
            argv.extend(["--script".into(), s.clone()]);
        }
        if let Some(ms) = self.config.work_ms {
            argv.extend(["--work-ms".into(), ms.to_string()]);
        }
        if resume {
            argv.push("--resume".into());
        }
        argv.extend(req.extra_args.iter().cloned());
        Ok(argv)
    }

    fn spec(&self, req: &LaunchRequest, argv: Vec<String>, id: &str) -> LaunchSpec {
        LaunchSpec {
            argv,
            env: agent::launch_env(req),
            prompt_delivery: PromptDelivery::PostLaunch,
            process_names: vec!["ao-scripted-agent".into()],
            agent_session_id: Some(id.to_string()),
        }
    }
}

/// Where a conversation's messages are kept: beside the session's status file.
pub fn conversation_log(status_file: &str, id: &str) -> PathBuf {
    let dir = Path::new(status_file).parent().unwrap_or(Path::new("."));
    dir.join(format!("{id}.conversation.jsonl"))
}

impl Agent for Scripted {
    type Config = Config;
    const IMPLEMENTS: &'static [&'static str] = &[slot::RESTORE_COMMAND];

    fn new(config: Config, _host: &HostHandle) -> Result<Self, SdkError> {
        Ok(Self { config })
    }

    fn launch(&self, _ctx: &Ctx, req: LaunchRequest) -> Result<LaunchSpec, SdkError> {
        // The conversation id is the ao session id plus a start stamp, like a CLI's uuid.
        let id = format!("{}-{}", req.session_id, agent::now_ms(None));
        Ok(self.spec(&req, self.argv(&req, &id, false)?, &id))
    }

    fn activity(&self, _ctx: &Ctx, req: ActivityRequest) -> Result<Option<Activity>, SdkError> {
        Ok(agent::activity(&req, None, |s| detect(s).map(Into::into)))
    }

    fn detect_activity(
        &self,
        _ctx: &Ctx,
        req: DetectActivityRequest,
    ) -> Result<DetectedActivity, SdkError> {
        Ok(DetectedActivity {
            state: detect(&req.screen),
        })
    }

    fn session_info(&self, _ctx: &Ctx, req: SessionInfoRequest) -> Result<SessionInfo, SdkError> {
        Ok(SessionInfo {
            agent_session_id: req.agent_session_id,
            ..SessionInfo::default()
        })
    }

    fn restore_command(
        &self,
        _ctx: &Ctx,
        req: RestoreRequest,
    ) -> Result<Option<LaunchSpec>, SdkError> {
        let Some(id) = req.agent_session_id.clone() else {
            return Ok(None);
        };
        let mut spec = self.spec(&req.launch, self.argv(&req.launch, &id, true)?, &id);
        // A resumed conversation needs no task again.
        spec.prompt_delivery = PromptDelivery::Inline;
        Ok(Some(spec))
    }
}

ao_plugin_api::export_plugin! {
    name: "agent-scripted",
    description: "The stand-in agent of `ao demo`: ao-scripted-agent following a playbook",
    components: [ agent "scripted" => Scripted ],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screens() {
        assert_eq!(detect("scripted agent\r\n> "), Some(ActivityState::Ready));
        assert_eq!(
            detect("? Which license?\n(answer) > "),
            Some(ActivityState::WaitingInput)
        );
        assert_eq!(
            detect("[message 1]\n| working 120ms"),
            Some(ActivityState::Active)
        );
        assert_eq!(detect("something else"), None);
    }
}
