//! Codex CLI, real, against the model simulator.

use super::*;

fn world(cli: &Cli) -> World {
    World::new(
        "codex",
        CODEX,
        json!({"binary": cli.bin, "permissions": "default"}),
        |_| vec![("LOCAL_API_KEY".into(), "sk-test".into())],
        // A custom provider with a key from the environment: no login screen.
        |home, sim| {
            std::fs::create_dir_all(home.join(".codex")).unwrap();
            std::fs::write(
                home.join(".codex/config.toml"),
                format!(
                    "model = \"local-model\"\nmodel_provider = \"local\"\n\n[model_providers.local]\n\
                     name = \"Local model server\"\nbase_url = \"{}/v1\"\nenv_key = \"LOCAL_API_KEY\"\n\
                     wire_api = \"responses\"\n",
                    sim.url()
                ),
            )
            .unwrap();
        },
    )
}

/// The model calls of one Codex thread: input and output tokens.
fn usage(w: &World, thread: &str) -> (u64, u64) {
    w.sim
        .model_calls()
        .iter()
        .filter(|r| r.headers.get("thread-id").map(String::as_str) == Some(thread))
        .filter_map(|r| r.usage)
        .fold((0, 0), |(i, o), (a, b)| (i + a, o + b))
}

#[test]
fn codex() {
    let Some(cli) = cli("codex", "node_modules/.bin/codex") else {
        return;
    };
    let w = world(&cli);
    let mut m = Matrix::new(&cli);
    let mut id = String::new();

    m.case(
        "spawn: at its composer in a new worktree (no folder-access screen), working",
        || {
            id = w.spawn("Say hello.\n@sim delay 3000\n@sim reply Hello there.");
            w.wait_status(&id, "working", "", 20)?;
            let screen = w.screen(&id);
            check(!screen.contains("Trust this folder?"), || {
                format!("trust screen shown:\n{screen}")
            })
        },
    );
    m.case(
        "turn finished → idle, and the human hears once (action)",
        || w.idle_and_told(&id, 20),
    );
    m.case(
        "tokens and cost equal the model's usage (the session's thread only)",
        || {
            let thread = w.session(&id)["agentSessionId"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            w.tokens_are(&id, usage(&w, &thread))
        },
    );
    m.case(
        "approval dialog → needs_input with the command, within a poll",
        || {
            w.asks(
                &id,
                "Run it.\n@sim escalate echo esc > esc.txt\n@sim reply Ran it.",
                "echo esc > esc.txt",
                10,
            )
        },
    );
    m.case(
        "ao send at the dialog: refused (exit 3), dialog and model untouched",
        || {
            w.refused_at_dialog(
                &id,
                "Would you like to run the following command?",
                "esc.txt",
            )
        },
    );
    m.case("ao answer y: approved with the dialog's own key", || {
        // "yes" would be ambiguous here (two options start with it): refused, nothing pressed.
        let out = w.ao().args(["answer", &id, "yes"]).output().unwrap();
        check(!out.status.success(), || {
            "an ambiguous answer was taken".into()
        })?;
        w.answered(&id, "y", "esc.txt")
    });
    shared_cases(
        &mut m,
        &w,
        &id,
        (
            "API auth (401) → errored, the human notified at once (urgent)",
            30,
        ),
        &[
            ApiError {
                case: "API overloaded (529, after Codex's own retries) → errored with its kind",
                prompt: "Fail now.\n@sim error 529",
                reason: "overloaded error",
                secs: 60,
                after: "the overload",
            },
            ApiError {
                case: "rate-limited (429, after Codex's own retries) → errored, nobody paged at once",
                prompt: "Too fast.\n@sim error 429\n@sim retry-after 1",
                reason: "rate-limited error",
                secs: 90,
                after: "the rate limit",
            },
        ],
        30,
    );
    m.finish();
}

/// A user's own Codex hooks (`~/.codex/hooks.json`), new to Codex: 0.171.0 stops on its
/// "Hooks need review" screen before anything else. That is the human's to decide: shown as
/// needs_input with its choices, nothing typed into it; `ao answer 2` trusts them and the task
/// goes on. (Its "Folder access" screen cannot appear under ao: ao sets the approval policy
/// and sandbox, and Codex shows it only when neither is set.)
#[test]
fn codex_hooks_review_screen() {
    let Some(cli) = cli("codex", "node_modules/.bin/codex") else {
        return;
    };
    let w = world(&cli);
    let hooks = w.sb.home.path().join(".codex/hooks.json");
    std::fs::write(
        &hooks,
        r#"{"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "/bin/true", "timeout": 5}]}]}}"#,
    )
    .unwrap();
    let mut m = Matrix::new(&cli);
    let mut id = String::new();
    m.case(
        "hooks review → needs_input with its choices; ao send refused, nothing typed",
        || {
            id = w.spawn("Go on.\n@sim reply going");
            let s = w.wait_status(&id, "needs_input", "Hooks need review", 20)?;
            let options = s["activity"]["dialog"]["options"].to_string();
            check(options.contains("Trust all and continue"), || {
                format!("choices: {options}")
            })?;
            let (code, err) = w.send(&id, "Hello?");
            check(code == 3, || format!("exit {code}: {err}"))?;
            check(w.prompts().is_empty(), || {
                "the task reached the model".into()
            })
        },
    );
    m.case(
        "ao answer 2: hooks trusted; the task reaches the model",
        || {
            let out = w.ao().args(["answer", &id, "2"]).output().unwrap();
            check(out.status.success(), || {
                format!(
                    "{}\nscreen:\n{}",
                    String::from_utf8_lossy(&out.stderr),
                    w.screen(&id)
                )
            })?;
            w.wait_model("the task", 30, |p| {
                p.iter().any(|x| x.starts_with("Go on."))
            })?;
            w.wait_status(&id, "idle", "", 30).map(drop)
        },
    );
    m.finish();
}
