//! What the scripted agent does with a message: a playbook of rules, each a substring to look
//! for and the steps to take (write a file, run a command, open a PR on the forge, ask the
//! human a question). With it, `ao-scripted-agent` plays an AI coding agent well enough for
//! `ao demo` and the lifecycle tests: it commits, pushes, opens PRs and answers CI failures
//! and reviews — all for real, against real git and the forge simulator.

use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;

/// The whole script.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Playbook {
    /// Where PRs are opened.
    #[serde(default)]
    pub forge: Option<Forge>,
    /// Rules, first match wins; a message no rule matches is just acknowledged.
    pub rules: Vec<Rule>,
}

/// The forge the agent talks to (as `gh` would).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Forge {
    /// API base URL.
    pub url: String,
    /// `owner/name`.
    pub repo: String,
    /// API token.
    pub token: String,
}

/// One rule.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rule {
    /// A substring of the message that selects this rule.
    pub when: String,
    /// Fire at most this many times (default: always).
    #[serde(default)]
    pub times: Option<u32>,
    /// What to do.
    pub steps: Vec<Step>,
}

/// One step.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Write a file (relative to the workspace).
    Write {
        /// The path.
        path: String,
        /// Its content.
        content: String,
    },
    /// Run a command (argv, no shell) in the workspace; a failure stops the rule.
    Run(Vec<String>),
    /// Open a PR from the current branch.
    OpenPr {
        /// Title.
        title: String,
        /// Body.
        #[serde(default)]
        body: String,
    },
    /// Ask the human; the agent then waits for input.
    Ask(String),
    /// Say something on screen.
    Say(String),
    /// Think for this many milliseconds (busy, a spinner on screen), as a model does.
    Think(u64),
    /// Print this line and quit with status 3, as a CLI does on a fatal error.
    Crash(String),
}

impl Playbook {
    /// Reads a playbook file (JSON).
    pub fn load(path: &Path) -> Result<Playbook, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The index of the rule for `message`, given how often each rule fired.
    pub fn pick(&self, message: &str, fired: &[u32]) -> Option<usize> {
        self.rules.iter().enumerate().position(|(i, r)| {
            message.contains(&r.when)
                && r.times
                    .is_none_or(|t| fired.get(i).copied().unwrap_or(0) < t)
        })
    }
}

/// What a step did, for the screen.
pub enum Outcome {
    /// Done; a line to show.
    Done(String),
    /// The agent now waits for the human.
    Asked(String),
    /// The agent is busy for this many milliseconds.
    Think(u64),
    /// The agent quits after printing this.
    Crash(String),
}

/// Carries out one step in `cwd`.
pub fn run_step(step: &Step, cwd: &Path, forge: Option<&Forge>) -> Result<Outcome, String> {
    match step {
        Step::Write { path, content } => {
            let p = cwd.join(path);
            if let Some(d) = p.parent() {
                std::fs::create_dir_all(d).map_err(|e| e.to_string())?;
            }
            std::fs::write(&p, content).map_err(|e| format!("{path}: {e}"))?;
            Ok(Outcome::Done(format!("wrote {path}")))
        }
        Step::Run(argv) => {
            let (prog, args) = argv.split_first().ok_or("empty command")?;
            let out = std::process::Command::new(prog)
                .args(args)
                .current_dir(cwd)
                .output()
                .map_err(|e| format!("{prog}: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "{} failed: {}",
                    argv.join(" "),
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            Ok(Outcome::Done(format!("ran {}", argv.join(" "))))
        }
        Step::OpenPr { title, body } => {
            let f = forge.ok_or("no forge in the playbook")?;
            let head = std::process::Command::new("git")
                .args(["rev-parse", "--abbrev-ref", "HEAD"])
                .current_dir(cwd)
                .output()
                .map_err(|e| e.to_string())?;
            let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
            let agent = ureq::Agent::new_with_config(
                ureq::Agent::config_builder()
                    .timeout_global(Some(Duration::from_secs(10)))
                    .http_status_as_error(false)
                    .build(),
            );
            let mut resp = agent
                .post(format!("{}/repos/{}/pulls", f.url, f.repo))
                .header("Authorization", &format!("Bearer {}", f.token))
                .header("Content-Type", "application/json")
                .send(
                    serde_json::json!({"title": title, "body": body, "head": head, "base": "main"})
                        .to_string(),
                )
                .map_err(|e| e.to_string())?;
            let text = resp
                .body_mut()
                .read_to_string()
                .map_err(|e| e.to_string())?;
            let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            match v.get("html_url").and_then(|u| u.as_str()) {
                Some(url) => Ok(Outcome::Done(format!("opened {url}"))),
                None => Err(format!("the forge refused the PR: {v}")),
            }
        }
        Step::Ask(q) => Ok(Outcome::Asked(q.clone())),
        Step::Say(s) => Ok(Outcome::Done(s.clone())),
        Step::Think(ms) => Ok(Outcome::Think(*ms)),
        Step::Crash(s) => Ok(Outcome::Crash(s.clone())),
    }
}
