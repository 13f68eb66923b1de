//! The real agent CLIs in the loop: each pinned CLI (scripts/agents/versions, installed by
//! scripts/agents/install) is spawned by `ao` in real tmux against the model simulator and
//! driven through the moments that matter: work, a finished turn, every dialog it shows, API
//! errors, delivery (idle, busy, at a dialog, right after spawn), answers, kill and restore,
//! tokens. Each case is timed and recorded; a test fails at its end if any case failed, so one
//! broken case never hides the rest. `scripts/agents/matrix` prints the agent × case table.
//!
//! Missing CLIs skip with one line locally; under `CI` they fail the suite.

mod aider;
mod claude;
mod codex;
mod opencode;

use crate::support::*;
use ao_testkit::model::ModelSim;
use ao_testkit::receiver::Receiver;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A pinned CLI found in the install cache.
pub struct Cli {
    pub name: &'static str,
    pub version: String,
    pub bin: PathBuf,
}

/// The pinned version of `name`.
fn pinned(name: &str) -> String {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/agents/versions");
    std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")).map(str::to_owned))
        .unwrap_or_else(|| panic!("{name} is not pinned in {}", file.display()))
}

/// The CLI `name` (whose executable is `rel` inside its install dir), or `None` after saying
/// why, once. Under CI a missing CLI is a failure: `.ci/run` installs them.
pub fn cli(name: &'static str, rel: &str) -> Option<Cli> {
    let version = pinned(name);
    let root = std::env::var_os("AO_AGENT_CLIS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/ao-agent-clis")
        });
    let bin = root.join(format!("{name}-{version}")).join(rel);
    if bin.is_file() {
        return Some(Cli { name, version, bin });
    }
    let msg = format!(
        "real-agent suite: {name} {version} is not installed ({}): run scripts/agents/install {name}",
        bin.display()
    );
    assert!(std::env::var_os("CI").is_none(), "{msg}");
    #[allow(clippy::print_stderr)] // the one line a local run shows for a skipped CLI
    {
        eprintln!("skipped: {msg}");
    }
    None
}

/// One agent's world: ao with its plugins in a sandbox, the model simulator, a repository with
/// an origin, a notification inbox, and the daemon polling every second.
pub struct World {
    pub sb: Sandbox,
    pub sim: ModelSim,
    pub inbox: Receiver,
    _dir: tempfile::TempDir,
    pub config: PathBuf,
    pub socket: PathBuf,
    pub env: Vec<(String, String)>,
    /// Sessions run in Docker containers (`runtime: docker`) rather than in the host's tmux.
    docker: bool,
}

/// Where a world's sessions run.
pub enum Runtime {
    /// The host's tmux, on the world's own socket.
    Tmux,
    /// Docker containers of `image` on the local engine, with these `runtimeConfig` keys added
    /// (the CLI's install dir, its config dir…); the CLI's environment goes in by `passEnv`.
    Docker { image: String, extra: Value },
}

impl World {
    /// `agent_lib` the plugin crate, `agent_config` its settings, `env` what the CLI needs to
    /// reach the simulator, `seed` the CLI's first-run state in the sandbox HOME.
    pub fn new(
        agent: &str,
        agent_lib: &str,
        agent_config: Value,
        env: impl Fn(&ModelSim) -> Vec<(String, String)>,
        seed: impl Fn(&Path, &ModelSim),
    ) -> World {
        Self::on(Runtime::Tmux, agent, agent_lib, agent_config, env, seed)
    }

    /// [`World::new`] with its sessions on `runtime`.
    pub fn on(
        runtime: Runtime,
        agent: &str,
        agent_lib: &str,
        agent_config: Value,
        env: impl Fn(&ModelSim) -> Vec<(String, String)>,
        seed: impl Fn(&Path, &ModelSim),
    ) -> World {
        let sb =
            Sandbox::new().with_libs(&[RUNTIME_TMUX, RUNTIME_DOCKER, WORKTREE, WEBHOOK, agent_lib]);
        let sim = ModelSim::start();
        let inbox = Receiver::start();
        let dir = tempfile::tempdir().unwrap();
        let repo = ao_testkit::git::Repo::with_origin(dir.path(), "app");
        let socket = dir.path().join("tmux.sock");
        let config = json!({
            "port": 0,
            "pollInterval": "1s",
            "notifiers": {"inbox": {"plugin": "webhook", "url": inbox.url("/hook"), "retries": 0}},
            "defaults": {"notifiers": ["inbox"]},
            "projects": {"app": {
                "path": repo.path,
                "agent": agent,
                "agentConfig": agent_config,
                "runtimeConfig": {"socket": socket},
            }}
        });
        let env = env(&sim);
        let mut config = config;
        let docker = matches!(runtime, Runtime::Docker { .. });
        if let Runtime::Docker { image, extra } = runtime {
            // Host networking reaches the simulators on 127.0.0.1; the worktree is mounted at
            // its own path, so the agent's records name the paths the host knows.
            let mut rc = json!({
                "image": image,
                "workspace": "mount",
                "network": "host",
                "memory": "1g",
                "passEnv": env.iter().map(|(k, _)| k).collect::<Vec<_>>(),
                "mounts": [],
            });
            for (k, v) in extra.as_object().cloned().unwrap_or_default() {
                match (k.as_str(), v) {
                    ("mounts", Value::Array(more)) => {
                        rc["mounts"].as_array_mut().unwrap().extend(more)
                    }
                    (_, v) => rc[k] = v,
                }
            }
            config["projects"]["app"]["runtime"] = json!("docker");
            config["projects"]["app"]["runtimeConfig"] = rc;
        }
        let file = dir.path().join("agent-orchestrator.yaml");
        std::fs::write(&file, serde_json::to_string_pretty(&config).unwrap()).unwrap();
        seed(sb.home.path(), &sim);
        let w = World {
            sb,
            sim,
            inbox,
            _dir: dir,
            config: file,
            socket,
            env,
            docker,
        };
        succeed(w.ao().args(["start", "--no-orchestrator"]));
        w
    }

    pub fn ao(&self) -> assert_cmd::Command {
        let mut c = self.sb.ao();
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c.arg("--config").arg(&self.config);
        c
    }

    /// `ao spawn --prompt`; the new session's id.
    pub fn spawn(&self, prompt: &str) -> String {
        let out = succeed(self.ao().args(["spawn", "--prompt", prompt]));
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines()
            .find_map(|l| l.strip_prefix("SESSION="))
            .unwrap_or_else(|| panic!("no SESSION= in {text}"))
            .trim()
            .to_owned()
    }

    /// Every session, ended ones too, as `ao status --json` shows them.
    pub fn sessions(&self) -> Vec<Value> {
        let out = self
            .ao()
            .args(["status", "--json", "--include-terminated"])
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        v["data"].as_array().cloned().unwrap_or_default()
    }

    /// The session as `ao status --json` shows it.
    pub fn session(&self, id: &str) -> Value {
        self.sessions()
            .into_iter()
            .find(|s| s["id"] == id)
            .unwrap_or(Value::Null)
    }

    /// Waits until the session's status is `status` (and its reason contains `reason`).
    pub fn wait_status(
        &self,
        id: &str,
        status: &str,
        reason: &str,
        secs: u64,
    ) -> Result<Value, String> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.session(id);
            if s["status"] == status && s["statusReason"].as_str().unwrap_or("").contains(reason) {
                return Ok(s);
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "not {status} ({reason:?}) within {secs}s: {} / {}\nscreen:\n{}",
                    s["status"],
                    s["statusReason"],
                    self.screen(id)
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The session's runtime name (its tmux session or its container).
    pub fn runtime_name(&self, id: &str) -> String {
        self.session(id)["runtimeHandle"]["id"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    /// The session's tmux pane as it looks now (inside its container, on docker).
    pub fn screen(&self, id: &str) -> String {
        let name = self.runtime_name(id);
        let out = if self.docker {
            std::process::Command::new("docker")
                .args(["exec", &name, "tmux", "-S", "/run/ao/tmux.sock"])
                .args(["capture-pane", "-p", "-t", "=ao:"])
                .output()
        } else {
            std::process::Command::new("tmux")
                .arg("-S")
                .arg(&self.socket)
                .args(["capture-pane", "-p", "-t", &format!("={name}:")])
                .output()
        }
        .unwrap();
        String::from_utf8_lossy(&out.stdout).trim_end().to_owned()
    }

    /// `ao send`: the exit code and stderr.
    pub fn send(&self, id: &str, text: &str) -> (i32, String) {
        let out = self.ao().args(["send", id, text]).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// The prompts that reached the model (model calls only, in order, deduplicated across the
    /// steps of one turn).
    pub fn prompts(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for r in self.sim.model_calls() {
            let p = r.prompt.unwrap_or_default();
            if out.last() != Some(&p) {
                out.push(p);
            }
        }
        out
    }

    /// Waits for `cond` on the simulator's log.
    pub fn wait_model(
        &self,
        what: &str,
        secs: u64,
        cond: impl Fn(&[String]) -> bool,
    ) -> Result<(), String> {
        let ok = wait_until(Duration::from_secs(secs), || cond(&self.prompts()));
        if ok {
            Ok(())
        } else {
            Err(format!(
                "{what}: not seen by the model within {secs}s; prompts: {:?}",
                self.prompts()
            ))
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let names: Vec<String> = self
            .sessions()
            .iter()
            .filter_map(|s| s["runtimeHandle"]["id"].as_str().map(str::to_owned))
            .collect();
        let _ = self.ao().args(["stop", "--kill-sessions"]).output();
        if self.docker {
            // A case that failed half-way leaves no container behind.
            for name in names {
                let _ = std::process::Command::new("docker")
                    .args(["rm", "-f", &name])
                    .output();
            }
        }
        let _ = std::process::Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

/// The cases every agent runs alike, on a session `id` of the world.
impl World {
    pub fn workspace(&self, id: &str) -> PathBuf {
        PathBuf::from(self.session(id)["workspacePath"].as_str().unwrap_or(""))
    }

    /// An `ao send` that must be acknowledged.
    pub fn sent(&self, id: &str, text: &str) -> Result<(), String> {
        let (code, err) = self.send(id, text);
        check(code == 0, || format!("exit {code}: {err}"))
    }

    /// Waits for the inbox to get a notification of `kind`.
    fn heard(&self, kind: &str, secs: u64) -> Result<(), String> {
        let ok = wait_until(Duration::from_secs(secs), || {
            self.inbox
                .requests()
                .iter()
                .any(|r| r.text().contains(kind))
        });
        check(ok, || format!("no {kind} notification"))
    }

    /// The turn finishes: idle, and the human hears it once at `action` priority.
    pub fn idle_and_told(&self, id: &str, secs: u64) -> Result<(), String> {
        self.wait_status(id, "idle", "finished its turn", secs)?;
        self.heard("session.idle", 10)
    }

    /// The session's tokens equal `want` (the simulator's usage for it).
    pub fn tokens_are(&self, id: &str, want: (u64, u64)) -> Result<(), String> {
        let mut got = Value::Null;
        let ok = wait_until(Duration::from_secs(15), || {
            got = self.session(id)["cost"].clone();
            (got["input_tokens"].as_u64(), got["output_tokens"].as_u64())
                == (Some(want.0), Some(want.1))
        });
        check(ok && want.0 > 0, || {
            format!("cost {got} vs the simulator's {want:?}")
        })
    }

    /// A message that raises a dialog → needs_input naming `what`.
    pub fn asks(&self, id: &str, message: &str, what: &str, secs: u64) -> Result<(), String> {
        self.sent(id, message)?;
        self.wait_status(id, "needs_input", what, secs).map(drop)
    }

    /// `ao send` at the dialog: exit 3, the dialog (`marker`) still up, `file` not written,
    /// nothing new reached the model.
    pub fn refused_at_dialog(&self, id: &str, marker: &str, file: &str) -> Result<(), String> {
        let before = self.prompts().len();
        let (code, err) = self.send(id, "Another task.\n@sim reply no");
        check(code == 3, || format!("exit {code}: {err}"))?;
        check(err.contains("ao answer"), || err.clone())?;
        std::thread::sleep(Duration::from_secs(2));
        let screen = self.screen(id);
        check(screen.contains(marker), || {
            format!("the dialog is gone:\n{screen}")
        })?;
        check(!self.workspace(id).join(file).exists(), || {
            format!("{file} was written")
        })?;
        check(self.prompts().len() == before, || {
            format!("the model saw more: {:?}", self.prompts())
        })
    }

    /// `ao answer <choice>`: `file` appears, then the turn finishes.
    pub fn answered(&self, id: &str, choice: &str, file: &str) -> Result<(), String> {
        let out = self.ao().args(["answer", id, choice]).output().unwrap();
        check(out.status.success(), || {
            String::from_utf8_lossy(&out.stderr).into_owned()
        })?;
        let ws = self.workspace(id);
        check(
            wait_until(Duration::from_secs(20), || ws.join(file).exists()),
            || format!("{file} not written:\n{}", self.screen(id)),
        )?;
        self.wait_status(id, "idle", "", 30).map(drop)
    }

    /// 20 messages in a row to an idle agent: each acknowledged, all received.
    pub fn twenty_messages(&self, id: &str) -> Result<(), String> {
        for i in 1..=20 {
            self.sent(id, &format!("Message {i} of 20.\n@sim reply ok {i}"))
                .map_err(|e| format!("message {i}: {e}"))?;
        }
        self.wait_model("20 messages", 60, |p| {
            (1..=20).all(|i| {
                p.iter()
                    .any(|x| x.starts_with(&format!("Message {i} of 20.")))
            })
        })
    }

    /// A message while the agent works: acknowledged and then received, or refused and then
    /// never delivered behind the caller's back.
    pub fn busy_never_lost(&self, id: &str) -> Result<(), String> {
        self.wait_status(id, "idle", "", 30)?;
        self.sent(id, "Long task.\n@sim delay 6000\n@sim reply long done")?;
        let (code, err) = self.send(id, "While busy.\n@sim reply queued ok");
        match code {
            0 => self.wait_model("the queued message", 40, |p| {
                p.iter().any(|x| x.starts_with("While busy."))
            }),
            1 => {
                std::thread::sleep(Duration::from_secs(8));
                check(
                    !self.prompts().iter().any(|x| x.starts_with("While busy.")),
                    || format!("refused ({err}) but delivered"),
                )
            }
            _ => Err(format!("exit {code}: {err}")),
        }
    }

    /// An auth error (401) → errored with its kind, and the human told at once.
    pub fn auth_error(&self, id: &str, secs: u64) -> Result<(), String> {
        self.wait_status(id, "idle", "", 30)?;
        self.sent(id, "Fail auth.\n@sim error 401")?;
        self.wait_status(id, "errored", "auth error", secs)?;
        self.heard("session.errored", 10)
    }

    /// An API error the CLI gives up on (after its own retries, if it makes any), given to
    /// an idle agent: see [`World::errored_unpaged`].
    pub fn api_error(&self, id: &str, prompt: &str, reason: &str, secs: u64) -> Result<(), String> {
        self.wait_status(id, "idle", "", 30)?;
        self.errored_unpaged(id, prompt, reason, secs)
    }

    /// `prompt` makes the model fail → `errored` with the kind in the reason within `secs`;
    /// a kind that passes by itself pages nobody in the seconds after (the `agent-errored`
    /// reaction waits it out).
    pub fn errored_unpaged(
        &self,
        id: &str,
        prompt: &str,
        reason: &str,
        secs: u64,
    ) -> Result<(), String> {
        let pages = || {
            self.inbox
                .requests()
                .iter()
                .filter(|r| r.text().contains("session.errored"))
                .count()
        };
        let before = pages();
        self.sent(id, prompt)?;
        self.wait_status(id, "errored", reason, secs)?;
        std::thread::sleep(Duration::from_secs(4));
        check(pages() == before, || {
            format!("a passing error ({reason}) paged the human at once")
        })
    }

    /// After an error, the next message is worked on.
    pub fn recovers(&self, id: &str) -> Result<(), String> {
        self.sent(id, "Recover.\n@sim reply back")?;
        self.wait_status(id, "idle", "", 30).map(drop)
    }

    /// The agent's processes killed → `killed` (on docker: its container killed).
    pub fn killed(&self, id: &str) -> Result<(), String> {
        let pane = self.runtime_name(id);
        if self.docker {
            let out = std::process::Command::new("docker")
                .args(["kill", &pane])
                .output()
                .unwrap();
            check(out.status.success(), || {
                String::from_utf8_lossy(&out.stderr).into_owned()
            })?;
            return self.wait_status(id, "killed", "", 15).map(drop);
        }
        let out = std::process::Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args([
                "display-message",
                "-p",
                "-t",
                &format!("={pane}:"),
                "#{pane_pid}",
            ])
            .output()
            .unwrap();
        let pid = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let _ = std::process::Command::new("pkill")
            .args(["-KILL", "-P", &pid])
            .status();
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid])
            .status();
        self.wait_status(id, "killed", "", 15).map(drop)
    }

    /// `ao session restore`, then a message whose request carries the earlier conversation.
    pub fn restore_remembers(&self, id: &str) -> Result<(), String> {
        self.restore_recalls(id, "Message 20 of 20.")
    }

    /// `ao session restore`, then a message whose request carries `earlier` (a message of the
    /// conversation before).
    pub fn restore_recalls(&self, id: &str, earlier: &str) -> Result<(), String> {
        succeed(self.ao().args(["session", "restore", id]));
        self.wait_status(id, "idle", "", 60)
            .or_else(|_| self.wait_status(id, "working", "", 5))?;
        self.sent(id, "After restore.\n@sim reply restored")?;
        let remembered = wait_until(Duration::from_secs(40), || {
            self.sim.model_calls().iter().any(|r| {
                r.prompt
                    .as_deref()
                    .is_some_and(|p| p.starts_with("After restore."))
                    && r.body.to_string().contains(earlier)
            })
        });
        check(remembered, || {
            // Which earlier user messages the resumed request carried, not its whole body.
            let carried: Vec<String> = self
                .sim
                .model_calls()
                .iter()
                .rev()
                .find(|r| {
                    r.prompt
                        .as_deref()
                        .is_some_and(|p| p.starts_with("After restore."))
                })
                .map(|r| {
                    r.body["messages"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|m| m["role"] == "user")
                        .map(|m| {
                            let text = match &m["content"] {
                                Value::String(t) => t.clone(),
                                c => c.to_string(),
                            };
                            text.chars().take(40).collect()
                        })
                        .collect()
                })
                .unwrap_or_default();
            // Where the earlier message is recorded: ao's copies of a container's records.
            let copies = std::process::Command::new("grep")
                .args(["-rcF", "Message "])
                .arg(self.sb.home.path().join(".agent-orchestrator"))
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            format!(
                "the resumed conversation lost {earlier:?}; it carried {carried:?}; message counts in ao's files: {copies:?}"
            )
        })
    }

    /// A message sent the moment a new session is spawned arrives after its task.
    pub fn right_after_spawn(&self, secs: u64) -> Result<(), String> {
        let second = self.spawn("First task.\n@sim reply first");
        self.sent(&second, "Right after spawn.\n@sim reply second")?;
        self.wait_model("both prompts", secs, |p| {
            p.iter().any(|x| x.starts_with("First task."))
                && p.iter().any(|x| x.starts_with("Right after spawn."))
        })
    }
}

/// The cases of one agent, timed; printed as matrix rows (and appended to `$AO_MATRIX_OUT`).
pub struct Matrix {
    pub agent: String,
    rows: Vec<(String, Result<Duration, String>)>,
}

impl Matrix {
    pub fn new(cli: &Cli) -> Matrix {
        Matrix {
            agent: format!("{} {}", cli.name, cli.version),
            rows: Vec::new(),
        }
    }

    /// Runs one case; its time is until `f` returned.
    #[allow(clippy::print_stderr)] // each case's line is what `--nocapture` shows as it runs
    pub fn case(&mut self, name: &str, f: impl FnOnce() -> Result<(), String>) {
        let start = Instant::now();
        let r = f().map(|()| start.elapsed());
        eprintln!(
            "[{}] {name}: {}",
            self.agent,
            match &r {
                Ok(d) => format!("pass in {:.1}s", d.as_secs_f64()),
                Err(e) => format!("FAIL: {e}"),
            }
        );
        self.rows.push((name.to_owned(), r));
    }

    /// Records the rows and fails if any case failed.
    pub fn finish(self) {
        if let Some(out) = std::env::var_os("AO_MATRIX_OUT") {
            let mut text = String::new();
            for (name, r) in &self.rows {
                let (res, t) = match r {
                    Ok(d) => ("pass".to_string(), format!("{:.1}", d.as_secs_f64())),
                    Err(e) => (
                        format!("FAIL: {}", e.lines().next().unwrap_or("")),
                        "-".into(),
                    ),
                };
                text.push_str(&format!("{}\t{name}\t{res}\t{t}\n", self.agent));
            }
            use std::io::Write;
            let _ = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(out)
                .and_then(|mut f| f.write_all(text.as_bytes()));
        }
        let failed: Vec<String> = self
            .rows
            .iter()
            .filter_map(|(n, r)| r.as_ref().err().map(|e| format!("{n}: {e}")))
            .collect();
        assert!(
            failed.is_empty(),
            "{} case(s) failed for {}:\n{}",
            failed.len(),
            self.agent,
            failed.join("\n\n")
        );
    }
}

/// `cond` as a case result.
/// An API error a CLI is given in the suite.
pub struct ApiError {
    /// The case's name.
    pub case: &'static str,
    /// The prompt with its `@sim error` directive.
    pub prompt: &'static str,
    /// What the reason must contain once the session is `errored`.
    pub reason: &'static str,
    /// How long that may take (the CLI's own retries first).
    pub secs: u64,
    /// What the recovery case names it (`a message after {after} is worked on again`).
    pub after: &'static str,
}

/// The cases Codex, Aider and OpenCode share once their dialogs are done, in this order:
/// 20 messages to an idle agent, a busy agent, a 401 (`auth`: the case's name and its
/// seconds), each of `errors` — every error followed by a message that is worked on again —,
/// killed, restore, and delivery right after a new spawn (`spawn_secs`).
pub fn shared_cases(
    m: &mut Matrix,
    w: &World,
    id: &str,
    auth: (&str, u64),
    errors: &[ApiError],
    spawn_secs: u64,
) {
    m.case(
        "20 messages to an idle agent: 20 acknowledged and received",
        || w.twenty_messages(id),
    );
    m.case(
        "a busy agent: a message is queued or refused, never lost",
        || w.busy_never_lost(id),
    );
    m.case(auth.0, || w.auth_error(id, auth.1));
    m.case("a message after an error is worked on again", || {
        w.recovers(id)
    });
    for e in errors {
        m.case(e.case, || w.api_error(id, e.prompt, e.reason, e.secs));
        m.case(
            &format!("a message after {} is worked on again", e.after),
            || w.recovers(id),
        );
    }
    m.case("killed → killed", || w.killed(id));
    m.case("restore resumes the conversation", || {
        w.restore_remembers(id)
    });
    m.case("delivery right after spawn", || {
        w.right_after_spawn(spawn_secs)
    });
}

pub fn check(cond: bool, why: impl FnOnce() -> String) -> Result<(), String> {
    if cond { Ok(()) } else { Err(why()) }
}
