//! Config errors: each broken file gives one precise message (file:line:column: key path: what).

use ao::config::{self, Problem};
use std::path::Path;

const GOOD: &str = "\
port: 3100
pollInterval: 15s
defaults:
  notifiers: [desktop, ops]
projects:
  app:
    path: /srv/app
    repo: acme/app
    postCreate:
      - npm ci
      - [cargo, fetch]
      - {run: \"make setup && make seed\", shell: true}
    reactions:
      ci-failed: {retries: 5}
notifiers:
  ops:
    plugin: webhook
    url: https://hooks.example.invalid/ao
    secretEnv: AO_HOOK_SECRET
notificationRouting:
  urgent: [desktop, ops]
reactions:
  agent-stuck: {threshold: 20m}
";

fn problems(text: &str) -> Vec<Problem> {
    config::from_text(
        Path::new("/cfg/agent-orchestrator.yaml"),
        text,
        Some(Path::new("/home/u")),
    )
    .unwrap_err()
}

fn one(text: &str) -> String {
    let p = problems(text);
    assert_eq!(p.len(), 1, "{p:#?}");
    p[0].to_string()
}

#[test]
fn a_good_config_resolves_defaults_and_merges_partial_reactions() {
    let c = config::from_text(
        Path::new("/cfg/agent-orchestrator.yaml"),
        GOOD,
        Some(Path::new("/home/u")),
    )
    .unwrap();
    let app = &c.projects["app"];
    assert_eq!(app.session_prefix, "app");
    assert_eq!(app.runtime, "tmux");
    assert_eq!(app.scm.as_ref().unwrap().plugin, "github");
    let ci = &app.reactions["ci-failed"];
    assert_eq!(ci.retries, Some(5));
    assert_eq!(
        ci.action,
        ao::config::model::ReactionAction::SendToAgent,
        "the default's action survives"
    );
    assert_eq!(
        app.reactions["agent-stuck"].threshold,
        Some(std::time::Duration::from_secs(1200))
    );
    assert_eq!(app.post_create[0].argv, ["npm", "ci"]);
    assert!(app.post_create[2].shell);
    assert_eq!(c.poll_interval, std::time::Duration::from_secs(15));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn broken_configs_each_give_one_precise_message() {
    let cases: &[(&str, &str)] = &[
        ("empty file", "# nothing yet\n"),
        (
            "bad indent",
            "projects:\n  app:\n    path: /srv/app\n   repo: acme/app\n",
        ),
        (
            "typo in a project key",
            "projects:\n  app:\n    path: /srv/app\n    sesionPrefix: ap\n",
        ),
        (
            "typo in a top-level key",
            "projcts:\n  app:\n    path: /srv/app\n",
        ),
        (
            "wrong type",
            "port: three thousand\nprojects:\n  app:\n    path: /srv/app\n",
        ),
        (
            "bad duration",
            "pollInterval: soon\nprojects:\n  app:\n    path: /srv/app\n",
        ),
        (
            "missing project path",
            "projects:\n  app:\n    repo: acme/app\n",
        ),
        (
            "unknown reaction",
            "projects:\n  app:\n    path: /srv/app\nreactions:\n  ci-fail: {retries: 3}\n",
        ),
        (
            "bad enum value",
            "projects:\n  app:\n    path: /srv/app\nreactions:\n  ci-failed:\n    action: send-to-agnt\n",
        ),
        (
            "unknown notifier in a route",
            "projects:\n  app:\n    path: /srv/app\nnotifiers:\n  slack: {webhookUrlEnv: SLACK}\nnotificationRouting:\n  urgent: [slak]\n",
        ),
        (
            "duplicate session prefix",
            "projects:\n  web:\n    path: /srv/web\n    sessionPrefix: x\n  app:\n    path: /srv/app\n    sessionPrefix: x\n",
        ),
        (
            "send-to-agent without a message",
            "projects:\n  app:\n    path: /srv/app\n    reactions:\n      agent-stuck:\n        action: send-to-agent\n",
        ),
        (
            "unsafe session prefix",
            "projects:\n  app:\n    path: /srv/app\n    sessionPrefix: \"my app\"\n",
        ),
        (
            "unclosed quote in a post-create step",
            "projects:\n  app:\n    path: /srv/app\n    postCreate:\n      - echo 'oops\n",
        ),
        (
            "bad escalateAfter",
            "projects:\n  app:\n    path: /srv/app\nreactions:\n  ci-failed:\n    escalateAfter: [1]\n",
        ),
    ];
    let report: String = cases
        .iter()
        .map(|(name, text)| format!("{name}:\n  {}\n", one(text)))
        .collect();
    insta::assert_snapshot!(report);
}

#[test]
fn unknown_plugins_are_named_with_what_is_available() {
    let c = config::from_text(
        Path::new("/cfg/agent-orchestrator.yaml"),
        GOOD,
        Some(Path::new("/home/u")),
    )
    .unwrap();
    let available: Vec<String> = [
        "runtime/tmux",
        "agent/claude-code",
        "workspace/worktree",
        "notifier/webhook",
        "tracker/github",
    ]
    .map(String::from)
    .to_vec();
    let p = config::validate::check_plugins(&c, GOOD, &available);
    let text: Vec<String> = p.iter().map(|p| p.to_string()).collect();
    assert_eq!(
        text,
        [
            "/cfg/agent-orchestrator.yaml:6:3: projects.app.scm.plugin: no scm plugin named `github` (no scm plugin is installed: see `ao plugins list`)"
        ],
    );
}

#[test]
fn literal_secrets_are_warned_about() {
    let text = GOOD.replace("secretEnv: AO_HOOK_SECRET", "token: ghp_0123456789abcdef");
    let c = config::from_text(Path::new("/cfg/agent-orchestrator.yaml"), &text, None).unwrap();
    let w: Vec<String> = c.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("notifiers.ops.token: looks like a literal secret"),
        "{w:?}"
    );
}

#[test]
fn a_config_nested_past_64_flow_levels_is_refused_before_parsing() {
    // 200 KB of `[`: the YAML parser's time grows with the square of the depth (minutes).
    let text = format!("projects: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    let p = problems(&text);
    assert_eq!(p.len(), 1);
    assert_eq!((p[0].line, p[0].column), (Some(1), Some(75)));
    assert!(
        p[0].message.contains("nest more than 64 levels deep"),
        "{}",
        p[0].message
    );
}
