//! A session as stored: typed fields over the key=value file, plus every key this version does
//! not know, kept in place so a newer `ao`'s keys survive a rewrite by an older one.
//!
//! Lifecycle facts (DESIGN §3) are stored raw, each with its source and time, as compact JSON
//! values; the status is derived from them by the lifecycle engine and stored for readers.

use ao_plugin_api::slots::agent::{ActivitySource, ActivityState, Cost};
use ao_plugin_api::slots::runtime::RuntimeHandle;
use serde::{Deserialize, Serialize};

/// The lifecycle statuses (DESIGN §3; the seed's list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Being created.
    Spawning,
    /// The agent is working, no PR yet.
    Working,
    /// A PR is open; nothing more specific applies.
    PrOpen,
    /// The PR's CI failed.
    CiFailed,
    /// The PR waits for review.
    ReviewPending,
    /// A reviewer asked for changes.
    ChangesRequested,
    /// Approved, CI not (yet) green or not mergeable.
    Approved,
    /// Approved, green and mergeable.
    Mergeable,
    /// The PR was merged.
    Merged,
    /// The agent asked a question.
    NeedsInput,
    /// No progress past the stuck threshold.
    Stuck,
    /// Failed in a way ao could not recover from.
    Errored,
    /// The agent or its runtime is gone.
    Killed,
    /// The agent is idle without a PR.
    Idle,
    /// Finished without a PR (research, questions).
    Done,
    /// Being cleaned up.
    Cleanup,
    /// Stopped for good.
    Terminated,
}

impl Status {
    /// Every status, for tables and parsing.
    pub const ALL: [Status; 17] = [
        Status::Spawning,
        Status::Working,
        Status::PrOpen,
        Status::CiFailed,
        Status::ReviewPending,
        Status::ChangesRequested,
        Status::Approved,
        Status::Mergeable,
        Status::Merged,
        Status::NeedsInput,
        Status::Stuck,
        Status::Errored,
        Status::Killed,
        Status::Idle,
        Status::Done,
        Status::Cleanup,
        Status::Terminated,
    ];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Spawning => "spawning",
            Status::Working => "working",
            Status::PrOpen => "pr_open",
            Status::CiFailed => "ci_failed",
            Status::ReviewPending => "review_pending",
            Status::ChangesRequested => "changes_requested",
            Status::Approved => "approved",
            Status::Mergeable => "mergeable",
            Status::Merged => "merged",
            Status::NeedsInput => "needs_input",
            Status::Stuck => "stuck",
            Status::Errored => "errored",
            Status::Killed => "killed",
            Status::Idle => "idle",
            Status::Done => "done",
            Status::Cleanup => "cleanup",
            Status::Terminated => "terminated",
        }
    }

    /// Parses a snake_case name.
    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Whether the session is over (hidden by `ao session ls` unless asked).
    pub fn is_terminal(self) -> bool {
        // Not `errored`: an agent stopped by an API error is alive and recovers once the
        // cause is fixed and it is asked again.
        matches!(
            self,
            Status::Merged | Status::Killed | Status::Done | Status::Cleanup | Status::Terminated
        )
    }
}

/// Worker sessions do the work; the orchestrator session manages the fleet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A worker.
    #[default]
    Worker,
    /// The orchestrator agent.
    Orchestrator,
}

/// What the runtime said, and when.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuntimeFact {
    /// The runtime session exists.
    pub session_exists: bool,
    /// The agent process runs (when checked).
    #[serde(default)]
    pub process_running: Option<bool>,
    /// When probed (epoch ms).
    pub at: u64,
    /// A hash of the screen the probe brought, to tell a moving screen from a frozen one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screen_hash: Option<u32>,
    /// When the screen was last seen to change (epoch ms): progress an agent's hooks may not
    /// report (a long tool run redraws its timer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screen_changed_at: Option<u64>,
    /// Once the agent is seen gone: the runtime's words ("the agent exited with status 1").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_detail: Option<String>,
    /// Once the agent is seen gone: its last lines on screen, the CLI's own reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub last_lines: Vec<String>,
}

/// What the agent's signals said, and which signal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityFact {
    /// The state.
    pub state: ActivityState,
    /// The signal.
    pub source: ActivitySource,
    /// When the signal was produced (epoch ms).
    pub at: u64,
    /// What the agent said with it (the question it asks, the tool it runs), one line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The dialog on screen (options, fingerprint), when one is why the agent waits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dialog: Option<ao_plugin_api::slots::agent::Dialog>,
}

/// What the SCM said about the session's PR, and when.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PrFact {
    /// `open`, `merged`, `closed`.
    pub state: String,
    /// Head commit.
    #[serde(default)]
    pub head_sha: String,
    /// `pending`, `passing`, `failing`, `none`.
    #[serde(default)]
    pub ci: String,
    /// `approved`, `changes_requested`, `review_required`, `none`.
    #[serde(default)]
    pub review: String,
    /// Mergeable now.
    #[serde(default)]
    pub mergeable: bool,
    /// Conflicts with the base.
    #[serde(default)]
    pub conflicts: bool,
    /// Unresolved review threads.
    #[serde(default)]
    pub unresolved_threads: u32,
    /// The PR number.
    #[serde(default)]
    pub number: u64,
    /// A draft.
    #[serde(default)]
    pub draft: bool,
    /// Names of the failed checks on the head.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_checks: Vec<String>,
    /// Sorted ids of the unresolved review comments, joined (the review episode's key).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub threads_key: String,
    /// The same for comments by bots.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub bot_threads_key: String,
    /// When observed (epoch ms).
    pub at: u64,
}

/// One reaction episode: what the reaction is reacting to, and what it did about it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Episode {
    /// What it reacts to (CI: head SHA + failed checks; reviews: unresolved comment ids).
    pub fingerprint: String,
    /// When this episode began (epoch ms).
    pub since: u64,
    /// Actions taken in this episode.
    #[serde(default)]
    pub attempts: u32,
    /// When the last action was taken.
    #[serde(default)]
    pub last_at: u64,
    /// The fingerprint the last action was about.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub acted_on: String,
    /// The PR head when the last action was taken (a push since means the agent acted).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub head: String,
    /// A human was told it is not getting better; no more actions in this episode.
    #[serde(default)]
    pub escalated: bool,
    /// Times the current trigger was sent again after the first send.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub resends: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// What the agent reported about itself (`ao report`), and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportFact {
    /// The reported state.
    pub state: String,
    /// A note.
    #[serde(default)]
    pub note: Option<String>,
    /// When (epoch ms).
    pub at: u64,
}

/// One session.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// `{prefix}-{n}`.
    pub id: String,
    /// The project id.
    pub project: String,
    /// Worker or orchestrator.
    pub role: Role,
    /// The derived status.
    pub status: Status,
    /// Why (one line, from the derivation).
    pub status_reason: String,
    /// When the status last changed (epoch ms).
    pub status_at: Option<u64>,
    /// The agent plugin's name.
    pub agent: Option<String>,
    /// The branch.
    pub branch: Option<String>,
    /// The tracker issue.
    pub issue: Option<String>,
    /// The PR URL.
    pub pr: Option<String>,
    /// The workspace path.
    pub workspace: Option<String>,
    /// How the runtime knows it.
    pub runtime_handle: Option<RuntimeHandle>,
    /// Created (epoch ms).
    pub created_at: u64,
    /// Last activity (epoch ms).
    pub last_activity_at: Option<u64>,
    /// A one-line summary.
    pub summary: Option<String>,
    /// Tokens and price.
    pub cost: Option<Cost>,
    /// Latest runtime observation.
    pub runtime_fact: Option<RuntimeFact>,
    /// Latest activity signal.
    pub activity_fact: Option<ActivityFact>,
    /// Latest PR observation.
    pub pr_fact: Option<PrFact>,
    /// Latest self-report.
    pub report_fact: Option<ReportFact>,
    /// Consecutive probes that saw the agent gone (the "detecting" grace).
    pub gone_streak: u32,
    /// Read the agent's `session_info` again next tick: it was read right after the agent
    /// moved, and its own record (a transcript) may land a moment after its hook.
    pub info_due: bool,
    /// Open reaction episodes by reaction key.
    pub episodes: std::collections::BTreeMap<String, Episode>,
    /// The agent's own conversation id (for resume).
    pub agent_session_id: Option<String>,
    /// The process names the agent runs as (for liveness probes).
    pub process_names: Vec<String>,
    /// Keys this version does not know, in file order, kept on rewrite.
    pub extra: Vec<(String, String)>,
}

/// How far a stored observation time may lag behind the latest observation.
pub const OBSERVED_SLACK_MS: u64 = 60_000;

impl Session {
    /// A new session as `ao spawn` first writes it.
    pub fn new(id: &str, project: &str, now_ms: u64) -> Self {
        Session {
            id: id.to_string(),
            project: project.to_string(),
            role: Role::Worker,
            status: Status::Spawning,
            status_reason: "spawn requested".into(),
            status_at: Some(now_ms),
            agent: None,
            branch: None,
            issue: None,
            pr: None,
            workspace: None,
            runtime_handle: None,
            created_at: now_ms,
            last_activity_at: None,
            summary: None,
            cost: None,
            runtime_fact: None,
            activity_fact: None,
            pr_fact: None,
            report_fact: None,
            gone_streak: 0,
            info_due: false,
            episodes: Default::default(),
            agent_session_id: None,
            process_names: Vec::new(),
            extra: Vec::new(),
        }
    }

    /// Whether `self` equals `other` up to when the runtime and the PR were last observed,
    /// within [`OBSERVED_SLACK_MS`]: re-observing the same facts is not a change worth writing
    /// every tick, but the stored observation times never lag by more than the slack.
    pub fn same_but_observed(&self, other: &Session) -> bool {
        let close = |a: u64, b: u64| a.abs_diff(b) < OBSERVED_SLACK_MS;
        let times_close = match (&self.runtime_fact, &other.runtime_fact) {
            (Some(a), Some(b)) => close(a.at, b.at),
            _ => true,
        } && match (&self.pr_fact, &other.pr_fact) {
            (Some(a), Some(b)) => close(a.at, b.at),
            _ => true,
        };
        let strip = |s: &Session| {
            let mut s = s.clone();
            if let Some(r) = s.runtime_fact.as_mut() {
                r.at = 0;
            }
            if let Some(p) = s.pr_fact.as_mut() {
                p.at = 0;
            }
            s
        };
        times_close && strip(self) == strip(other)
    }

    /// The metadata pairs, known keys first, then the unknown ones as they were.
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut put = |k: &str, v: String| out.push((k.to_string(), v));
        put("project", self.project.clone());
        put("role", enum_str(&self.role));
        put("status", self.status.as_str().to_string());
        put("statusReason", self.status_reason.clone());
        if let Some(t) = self.status_at {
            put("statusAt", t.to_string());
        }
        put("createdAt", self.created_at.to_string());
        let opt = |out: &mut Vec<(String, String)>, k: &str, v: &Option<String>| {
            if let Some(v) = v {
                out.push((k.to_string(), v.clone()));
            }
        };
        opt(&mut out, "agent", &self.agent);
        opt(&mut out, "branch", &self.branch);
        opt(&mut out, "issue", &self.issue);
        opt(&mut out, "pr", &self.pr);
        opt(&mut out, "worktree", &self.workspace);
        opt(&mut out, "summary", &self.summary);
        if let Some(t) = self.last_activity_at {
            out.push(("lastActivityAt".into(), t.to_string()));
        }
        json_opt(&mut out, "runtimeHandle", &self.runtime_handle);
        json_opt(&mut out, "cost", &self.cost);
        json_opt(&mut out, "runtimeFact", &self.runtime_fact);
        json_opt(&mut out, "activityFact", &self.activity_fact);
        json_opt(&mut out, "prFact", &self.pr_fact);
        json_opt(&mut out, "reportFact", &self.report_fact);
        if self.gone_streak > 0 {
            out.push(("goneStreak".into(), self.gone_streak.to_string()));
        }
        if self.info_due {
            out.push(("infoDue".into(), "true".into()));
        }
        if !self.episodes.is_empty() {
            json_opt(&mut out, "episodes", &Some(&self.episodes));
        }
        opt(&mut out, "agentSessionId", &self.agent_session_id);
        if !self.process_names.is_empty() {
            json_opt(&mut out, "processNames", &Some(&self.process_names));
        }
        out.extend(self.extra.iter().cloned());
        out
    }

    /// Builds a session from metadata pairs. `Err` names the bad key.
    pub fn from_pairs(id: &str, pairs: Vec<(String, String)>) -> Result<Self, String> {
        let mut s = Session::new(id, "", 0);
        let mut created = None;
        for (k, v) in pairs {
            let num = |v: &str| {
                v.parse::<u64>()
                    .map_err(|_| format!("`{k}` is not a number: `{v}`"))
            };
            match k.as_str() {
                "project" => s.project = v,
                "role" => s.role = from_enum_str(&k, &v)?,
                "status" => {
                    s.status = Status::parse(&v).ok_or_else(|| format!("unknown status `{v}`"))?
                }
                "statusReason" => s.status_reason = v,
                "statusAt" => s.status_at = Some(num(&v)?),
                "createdAt" => created = Some(num(&v)?),
                "agent" => s.agent = Some(v),
                "branch" => s.branch = Some(v),
                "issue" => s.issue = Some(v),
                "pr" => s.pr = Some(v),
                "worktree" => s.workspace = Some(v),
                "summary" => s.summary = Some(v),
                "lastActivityAt" => s.last_activity_at = Some(num(&v)?),
                "runtimeHandle" => s.runtime_handle = Some(json(&k, &v)?),
                "cost" => s.cost = Some(json(&k, &v)?),
                "runtimeFact" => s.runtime_fact = Some(json(&k, &v)?),
                "activityFact" => s.activity_fact = Some(json(&k, &v)?),
                "prFact" => s.pr_fact = Some(json(&k, &v)?),
                "reportFact" => s.report_fact = Some(json(&k, &v)?),
                "goneStreak" => s.gone_streak = num(&v)? as u32,
                "infoDue" => s.info_due = v == "true",
                "episodes" => s.episodes = json(&k, &v)?,
                "agentSessionId" => s.agent_session_id = Some(v),
                "processNames" => s.process_names = json(&k, &v)?,
                _ => s.extra.push((k, v)),
            }
        }
        if s.project.is_empty() {
            return Err("`project` is missing".into());
        }
        s.created_at = created.ok_or("`createdAt` is missing")?;
        Ok(s)
    }

    /// The activity state, if a signal was recorded.
    pub fn activity(&self) -> Option<ActivityState> {
        self.activity_fact.as_ref().map(|a| a.state)
    }
}

fn enum_str<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn from_enum_str<T: serde::de::DeserializeOwned>(k: &str, v: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(v.to_string()))
        .map_err(|_| format!("`{k}` has an unknown value `{v}`"))
}

fn json<T: serde::de::DeserializeOwned>(k: &str, v: &str) -> Result<T, String> {
    serde_json::from_str(v).map_err(|e| format!("`{k}` is not valid: {e}"))
}

fn json_opt<T: Serialize>(out: &mut Vec<(String, String)>, k: &str, v: &Option<T>) {
    if let Some(v) = v {
        out.push((
            k.to_string(),
            serde_json::to_string(v).expect("session fields serialise"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::kv;

    fn full() -> Session {
        let mut s = Session::new("app-3", "app", 1_700_000_000_000);
        s.status = Status::CiFailed;
        s.status_reason = "ci failing on abc123: lint".into();
        s.agent = Some("claude-code".into());
        s.branch = Some("feat/42-login".into());
        s.issue = Some("42".into());
        s.pr = Some("https://github.example/acme/app/pull/7".into());
        s.workspace = Some("/home/u/.agent-orchestrator/x-app/worktrees/app-3".into());
        s.runtime_handle = Some(RuntimeHandle {
            id: "abc-app-3".into(),
            runtime: "tmux".into(),
            data: serde_json::json!({"pane": "%3"}),
        });
        s.summary = Some("Fix the login\nflow".into());
        s.cost = Some(Cost {
            input_tokens: 10,
            output_tokens: 20,
            cache_read_tokens: 0,
            cache_write_tokens: 0,
            usd: Some(0.12),
        });
        s.activity_fact = Some(ActivityFact {
            state: ActivityState::Active,
            source: ActivitySource::Hook,
            at: 5,
            detail: None,
            dialog: None,
        });
        s.runtime_fact = Some(RuntimeFact {
            session_exists: true,
            process_running: Some(true),
            at: 6,
            screen_hash: Some(0xdead_beef),
            screen_changed_at: Some(4),
            exit_detail: Some("the agent exited with status 1".into()),
            last_lines: vec!["Error: no key".into()],
        });
        s.pr_fact = Some(PrFact {
            state: "open".into(),
            head_sha: "abc123".into(),
            ci: "failing".into(),
            review: "none".into(),
            mergeable: false,
            conflicts: false,
            unresolved_threads: 0,
            number: 7,
            draft: false,
            failed_checks: vec!["lint".into()],
            threads_key: String::new(),
            bot_threads_key: String::new(),
            at: 7,
        });
        s.report_fact = Some(ReportFact {
            state: "working".into(),
            note: None,
            at: 8,
        });
        s.gone_streak = 1;
        s.info_due = true;
        s.episodes.insert(
            "ci-failed".into(),
            Episode {
                fingerprint: "abc123:lint".into(),
                since: 7,
                attempts: 1,
                last_at: 7,
                acted_on: "abc123:lint".into(),
                head: "abc123".into(),
                escalated: false,
                resends: 2,
            },
        );
        s.agent_session_id = Some("0199-abc".into());
        s.process_names = vec!["claude".into()];
        s
    }

    #[test]
    fn round_trips_through_the_file_format() {
        let s = full();
        let text = kv::render(&s.to_pairs());
        let back = Session::from_pairs("app-3", kv::parse(&text).unwrap()).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn observing_the_same_facts_again_is_no_change() {
        let s = full();
        let mut again = s.clone();
        again.runtime_fact.as_mut().unwrap().at += 5_000;
        again.pr_fact.as_mut().unwrap().at += 5_000;
        assert!(again.same_but_observed(&s));
        let mut later = s.clone();
        later.pr_fact.as_mut().unwrap().at += OBSERVED_SLACK_MS;
        assert!(
            !later.same_but_observed(&s),
            "stored times lag by less than the slack"
        );
        again.runtime_fact.as_mut().unwrap().process_running = Some(false);
        assert!(!again.same_but_observed(&s), "a changed fact is a change");
        let mut activity = s.clone();
        activity.activity_fact.as_mut().unwrap().at += 1;
        assert!(!activity.same_but_observed(&s), "a new signal is a change");
    }

    #[test]
    fn unknown_keys_survive_a_rewrite_in_place() {
        let mut pairs = full().to_pairs();
        pairs.insert(3, ("fromTheFuture".into(), "keep me".into()));
        let s = Session::from_pairs("app-3", pairs).unwrap();
        assert_eq!(
            s.extra,
            vec![("fromTheFuture".to_string(), "keep me".to_string())]
        );
        assert!(
            s.to_pairs()
                .contains(&("fromTheFuture".into(), "keep me".into()))
        );
    }

    #[test]
    fn bad_values_name_their_key() {
        let bad = |k: &str, v: &str| {
            let mut p = full().to_pairs();
            p.retain(|(key, _)| key != k);
            p.push((k.into(), v.into()));
            Session::from_pairs("app-3", p).unwrap_err()
        };
        assert_eq!(bad("status", "wandering"), "unknown status `wandering`");
        assert_eq!(
            bad("createdAt", "yesterday"),
            "`createdAt` is not a number: `yesterday`"
        );
        assert!(bad("prFact", "{not json").starts_with("`prFact` is not valid"));
        assert_eq!(bad("role", "boss"), "`role` has an unknown value `boss`");
    }
}
