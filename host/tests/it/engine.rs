//! The lifecycle tests' common setup: the forge simulator with `acme/app` and issue #1, a
//! checkout, the scripted agent's playbook, a config with the tmux runtime on a private socket,
//! and helpers to drive `ao` and read what happened.

use crate::support::*;
use ao_testkit::forge::model::{Protection, RunStatus};
use ao_testkit::forge::{ForgeSim, TOKEN};
use ao_testkit::git::git;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;

pub const REPO: &str = "acme/app";
/// Issues and PRs share numbers, as on GitHub: issue #1, then the agent's PR #2.
pub const PR: u64 = 2;

pub struct Setup {
    pub sb: Sandbox,
    pub sim: ForgeSim,
    /// Holds the checkout, the playbook and the config until the test ends.
    _dir: tempfile::TempDir,
    pub config: PathBuf,
    pub socket: PathBuf,
    /// The Kubernetes simulator the sessions' pods run on, when the setup asked for k8s.
    pub kube: Option<ao_testkit::kube::KubeSim>,
}

pub fn commit_cmd(msg: &str) -> Value {
    json!({"run": ["git", "-c", "user.name=Agent", "-c", "user.email=agent@example.invalid", "commit", "-qam", msg]})
}

/// What a test changes in the standard setup.
#[derive(Default)]
pub struct Opts {
    /// The playbook's rules (default: push a typo, fix CI, address the review).
    pub rules: Option<Value>,
    /// The project's reactions (default: auto-merge when approved and green).
    pub reactions: Option<Value>,
    /// A webhook URL every notification goes to.
    pub notify: Option<String>,
    /// `pollInterval` (default 1s).
    pub poll: Option<&'static str>,
    /// Top-level config keys added as they are.
    pub extra: Option<Value>,
    /// Run the sessions in Docker containers: (agent image, workspace mode). The containers
    /// share the host's network (the forge simulator listens on 127.0.0.1) and see the test's
    /// directory, the forge's repositories and the built binaries at their own paths.
    pub docker: Option<(String, &'static str)>,
    /// Run the sessions as pods on testkit's Kubernetes simulator (pods are containers of this
    /// agent image): the test's directory, the forge's repositories and the built binaries are
    /// hostPath volumes at their own paths; the agent runs as uid 1000.
    pub k8s: Option<String>,
    /// With `docker`: the runtime's `sessionFiles` (`container`: status files, hooks and the
    /// session's files live in the container, as on a remote engine).
    pub session_files: Option<&'static str>,
}

/// The secret the SCM checks webhook signatures with (`HOOK_SECRET` in ao's environment).
pub const HOOK_SECRET: &str = "s3cret-hook";

/// The standard setup: the forge with `acme/app` and issue #1, a checkout, the playbook.
pub fn setup() -> Setup {
    setup_with(Opts::default())
}

/// The playbook rules of the standard setup.
pub fn standard_rules() -> Value {
    json!([
        {"when": "Work on issue #1", "steps": [
            {"write": {"path": "greet.sh", "content": "echo helo\n"}},
            commit_cmd("Add a greeting"),
            {"run": ["git", "push", "-q", "origin", "HEAD"]},
            {"open_pr": {"title": "Add a greeting", "body": "Closes #1"}}
        ]},
        {"when": "CI failed", "steps": [
            {"write": {"path": "greet.sh", "content": "echo hello\n"}},
            commit_cmd("Fix the typo"),
            {"run": ["git", "push", "-q", "origin", "HEAD"]}
        ]},
        {"when": "Unresolved review comments", "steps": [
            {"write": {"path": "greet.sh", "content": "printf 'hello\\n'\n"}},
            commit_cmd("Use printf"),
            {"run": ["git", "push", "-q", "origin", "HEAD"]}
        ]}
    ])
}

/// The standard setup with changes.
pub fn setup_with(opts: Opts) -> Setup {
    let sb = Sandbox::new().with_libs(&[
        RUNTIME_TMUX,
        RUNTIME_DOCKER,
        RUNTIME_K8S,
        WORKTREE,
        GITHUB,
        SCRIPTED,
        WEBHOOK,
        TERMINAL_TMUX,
        TERMINAL_WEB,
    ]);
    let sim = ForgeSim::start();
    let bare = sim.repo(REPO);
    let dir = tempfile::tempdir().unwrap();
    let checkout = dir.path().join("app");
    git(dir.path(), &["clone", "-q", bare.to_str().unwrap(), "app"]);
    git(&checkout, &["symbolic-ref", "HEAD", "refs/heads/main"]);
    std::fs::write(checkout.join("greet.sh"), "# says hello\n").unwrap();
    git(&checkout, &["add", "greet.sh"]);
    git(
        &checkout,
        &[
            "-c",
            "user.name=T",
            "-c",
            "user.email=t@example.invalid",
            "commit",
            "-qm",
            "init",
        ],
    );
    git(&checkout, &["push", "-q", "origin", "main"]);
    {
        let mut w = sim.world();
        w.create_issue(
            REPO,
            "Add a greeting",
            "greet.sh should say hello",
            &[],
            "maintainer",
        )
        .unwrap();
        w.checks_on_push(REPO, &["test"]).unwrap();
        w.protect(
            REPO,
            "main",
            Protection {
                required_checks: vec!["test".into()],
                strict: false,
                required_approvals: 1,
            },
        )
        .unwrap();
    }
    let playbook = json!({
        "forge": {"url": sim.url(), "repo": REPO, "token": TOKEN},
        "rules": opts.rules.unwrap_or_else(standard_rules)
    });
    let script = dir.path().join("playbook.json");
    std::fs::write(&script, playbook.to_string()).unwrap();
    let socket = dir.path().join("tmux.sock");
    let receiver_dir = dir.path().join("notifications");
    std::fs::create_dir_all(&receiver_dir).unwrap();
    let forge = json!({"plugin": "github", "apiUrl": sim.url(), "tokenEnv": "FORGE_TOKEN",
                       "webhookSecretEnv": "HOOK_SECRET"});
    let config = json!({
        "port": 0,
        "pollInterval": opts.poll.unwrap_or("1s"),
        "notifiers": {"inbox": {"plugin": "webhook", "url": opts.notify.clone().unwrap_or_else(|| "http://127.0.0.1:9/unused".into()), "retries": 0}},
        "defaults": {"notifiers": if opts.notify.is_some() { json!(["inbox"]) } else { json!([]) }},
        "projects": {"app": {
            "path": checkout,
            "repo": REPO,
            "agent": "scripted",
            "agentConfig": {"script": script, "workMs": 50},
            "runtimeConfig": {"socket": socket},
            "tracker": forge,
            "scm": forge,
            "reactions": opts.reactions.unwrap_or_else(
                || json!({"approved-and-green": {"auto": true, "action": "auto-merge"}})
            )
        }}
    });
    let mut config = config;
    if let Some((image, mode)) = &opts.docker {
        let repos = bare.parent().unwrap().display().to_string();
        config["projects"]["app"]["runtime"] = json!("docker");
        config["projects"]["app"]["runtimeConfig"] = json!({
            "image": image,
            "workspace": mode,
            "network": "host",
            "memory": "512m",
            "mounts": [
                {"source": target_dir()},
                {"source": dir.path(), "readOnly": false},
                {"source": repos, "readOnly": false}
            ]
        });
        if let Some(files) = opts.session_files {
            let rc = &mut config["projects"]["app"]["runtimeConfig"];
            rc["sessionFiles"] = json!(files);
            // Only the scripted agent from the target dir: `ao`'s own path there is the hook
            // shim's inside.
            rc["mounts"][0] = json!({"source": ao_testkit::bin_path("ao-scripted-agent")});
        }
    }
    let mut kube = None;
    if let Some(image) = &opts.k8s {
        let sim = ao_testkit::kube::KubeSim::start_tls("kube-token");
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig, sim.kubeconfig("agents")).unwrap();
        let repos = bare.parent().unwrap().to_path_buf();
        // The agent pushes as uid 1000 into repositories this test made as root.
        let chmod = std::process::Command::new("chmod")
            .args(["-R", "a+rwX"])
            .arg(&repos)
            .status()
            .unwrap();
        assert!(chmod.success());
        let host_path = |name: &str, path: &std::path::Path, ro: bool| {
            let p = path.display().to_string();
            (
                json!({"name": name, "hostPath": {"path": p}}),
                json!({"name": name, "mountPath": p, "readOnly": ro}),
            )
        };
        let (v1, m1) = host_path("bin", &target_dir(), true);
        let (v2, m2) = host_path("test", dir.path(), true);
        let (v3, m3) = host_path("repos", &repos, false);
        let project = &mut config["projects"]["app"];
        project["runtime"] = json!("k8s");
        project["runtimeConfig"] = json!({
            "kubeconfig": kubeconfig,
            "image": image,
            "imagePullPolicy": "Never",
            "limits": {"memory": "512Mi"},
            "volumes": [v1, v2, v3],
            "volumeMounts": [m1, m2, m3],
            "startTimeoutMs": 60000,
        });
        // Repositories owned by another user: git asks to be told they are safe, in a global
        // config (git drops config from the environment for the receiving side of a push).
        let gitconfig = dir.path().join("gitconfig");
        std::fs::write(&gitconfig, "[safe]\n\tdirectory = *\n").unwrap();
        project["env"] = json!({"GIT_CONFIG_GLOBAL": gitconfig});
        kube = Some(sim);
    }
    for (k, v) in opts
        .extra
        .clone()
        .unwrap_or_default()
        .as_object()
        .cloned()
        .unwrap_or_default()
    {
        config[k] = v;
    }
    let file = dir.path().join("agent-orchestrator.yaml");
    // YAML is a superset of JSON.
    std::fs::write(&file, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    Setup {
        sb,
        sim,
        _dir: dir,
        config: file,
        socket,
        kube,
    }
}

impl Setup {
    pub fn ao(&self) -> assert_cmd::Command {
        let mut c = self.sb.ao();
        c.env("FORGE_TOKEN", TOKEN)
            .env("HOOK_SECRET", HOOK_SECRET)
            .arg("--config")
            .arg(&self.config);
        c
    }

    /// `program` with the environment `ao` gets here (for children a test starts itself).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> std::process::Command {
        let mut c = std::process::Command::new(program);
        c.env_clear()
            .env("HOME", self.sb.home.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("NO_COLOR", "1")
            .env("AO_NO_DEFAULT_PLUGINS", "1")
            .env("AO_PLUGIN_PATH", self.sb.plugins.path())
            .env("FORGE_TOKEN", TOKEN)
            .env("HOOK_SECRET", HOOK_SECRET);
        c
    }

    /// The running dashboard's token, from its file in the data dir.
    pub fn dashboard_token(&self) -> String {
        let data = self.sb.home.path().join(".agent-orchestrator");
        let file = std::fs::read_dir(&data)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "token"))
            .expect("a dashboard token file");
        std::fs::read_to_string(file).unwrap().trim().to_string()
    }

    pub fn events(&self) -> Vec<Value> {
        let data = self.sb.home.path().join(".agent-orchestrator");
        let mut out = Vec::new();
        for d in std::fs::read_dir(&data).unwrap().flatten() {
            let f = d.path().join("events.jsonl");
            if let Ok(t) = std::fs::read_to_string(&f) {
                out.extend(
                    t.lines()
                        .filter_map(|l| serde_json::from_str::<Value>(l).ok()),
                );
            }
        }
        out
    }

    pub fn kinds(&self) -> Vec<String> {
        self.events()
            .iter()
            .map(|e| e["type"].as_str().unwrap_or("").to_string())
            .collect()
    }

    pub fn wait_event(&self, kind: &str, secs: u64) {
        let ok = wait_until(Duration::from_secs(secs), || {
            self.kinds().iter().any(|k| k == kind)
        });
        assert!(ok, "no {kind} within {secs}s; events: {:?}", self.kinds());
    }

    /// `ao start` without the orchestrator (whose events would mix with the workers').
    pub fn start(&self) {
        succeed(self.ao().args(["start", "--no-orchestrator"]));
    }

    /// Files `daemon-*<suffix>` in the data dir.
    fn daemon_files(&self, suffix: &str) -> Vec<PathBuf> {
        let data = self.sb.home.path().join(".agent-orchestrator");
        std::fs::read_dir(&data)
            .into_iter()
            .flatten()
            .flatten()
            .map(|d| d.path())
            .filter(|p| {
                let name = p.file_name().unwrap_or_default().to_string_lossy();
                name.starts_with("daemon-") && name.ends_with(suffix)
            })
            .collect()
    }

    /// The daemon's log (for failure messages).
    pub fn daemon_log(&self) -> String {
        self.daemon_files(".log")
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap_or_default())
            .collect()
    }

    /// What the running daemon's pid file says (`pid`, `port`), waiting up to 10 s for it.
    pub fn daemon(&self) -> Value {
        let mut info = Value::Null;
        let found = wait_until(Duration::from_secs(10), || {
            info = self
                .daemon_files(".json")
                .first()
                .and_then(|p| serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok())
                .unwrap_or(Value::Null);
            info["port"].as_u64().is_some()
        });
        assert!(found, "no daemon pid file");
        info
    }

    pub fn head(&self) -> Option<String> {
        self.sim.world().head_sha(REPO, PR).ok()
    }

    /// The messages the agent logged, as JSON records (`text`, `n`).
    pub fn said(&self) -> Vec<Value> {
        self.conversation()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    pub fn conversation(&self) -> String {
        let data = self.sb.home.path().join(".agent-orchestrator");
        let mut text = String::new();
        for d in std::fs::read_dir(&data).unwrap().flatten() {
            let status = d.path().join("status");
            for f in std::fs::read_dir(&status).into_iter().flatten().flatten() {
                if f.file_name()
                    .to_string_lossy()
                    .ends_with(".conversation.jsonl")
                {
                    text.push_str(&std::fs::read_to_string(f.path()).unwrap());
                }
            }
        }
        text
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = self.ao().args(["stop", "--kill-sessions"]).output();
        let _ = std::process::Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

pub fn set_check(s: &Setup, sha: &str, conclusion: &str, log: &str) {
    s.sim
        .world()
        .set_check(
            REPO,
            sha,
            "test",
            RunStatus::Completed,
            Some(conclusion),
            Some(log),
        )
        .unwrap();
}

pub fn wait_new_head(s: &Setup, old: &str) -> String {
    let mut head = String::new();
    let ok = wait_until(Duration::from_secs(60), || {
        head = s.head().unwrap_or_default();
        !head.is_empty() && head != old
    });
    assert!(
        ok,
        "the agent never pushed past {old}; events: {:?}\ndaemon log:\n{}\nconversation:\n{}",
        s.kinds(),
        s.daemon_log(),
        s.conversation()
    );
    head
}
