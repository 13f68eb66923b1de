//! OpenCode, real, against the model simulator.

use super::*;

fn world(cli: &Cli) -> World {
    // `<cache>/opencode-<version>/node_modules/.bin/opencode` → `<cache>/opencode-<version>`.
    let deps = cli
        .bin
        .ancestors()
        .nth(3)
        .expect("the CLI's install dir")
        .join("config-deps");
    World::new(
        "opencode",
        OPENCODE,
        json!({"binary": cli.bin, "permissions": "default"}),
        |_| Vec::new(),
        // The provider, and bash approvals on (OpenCode runs commands unasked by default): a
        // user who wants to approve commands configures this.
        |home, sim| {
            let dir = home.join(".config/opencode");
            std::fs::create_dir_all(&dir).unwrap();
            let config = json!({
                "$schema": "https://opencode.ai/config.json",
                "model": "local/local-model",
                "permission": {"bash": "ask"},
                "provider": {"local": {
                    "npm": "@ai-sdk/openai-compatible",
                    "name": "Local model server",
                    "options": {"baseURL": format!("{}/v1", sim.url()), "apiKey": "sk-test"},
                    "models": {"local-model": {"name": "local-model"}}
                }}
            });
            std::fs::write(dir.join("opencode.json"), config.to_string()).unwrap();
            // The packages OpenCode's first start puts in its config directory (installed
            // once by scripts/agents/install): without them every fresh HOME pays the install.
            if deps.join(".installed").is_file() {
                for f in ["package.json", "package-lock.json"] {
                    std::fs::copy(deps.join(f), dir.join(f)).unwrap();
                }
                std::os::unix::fs::symlink(deps.join("node_modules"), dir.join("node_modules"))
                    .unwrap();
            }
        },
    )
}

#[test]
fn opencode() {
    let Some(cli) = cli("opencode", "node_modules/.bin/opencode") else {
        return;
    };
    let w = world(&cli);
    let mut m = Matrix::new(&cli);
    let mut id = String::new();

    // `ao spawn` returns once OpenCode shows a sign of life: this case's time is spawn → up.
    m.case(
        "spawn returns once OpenCode is up (nothing installed per workspace)",
        || {
            id = w.spawn("Say hello.\n@sim delay 4000\n@sim reply Hello there.");
            let ws = w.session(&id)["workspacePath"]
                .as_str()
                .unwrap_or("")
                .to_string();
            if std::path::Path::new(&ws).join(".opencode").exists() {
                return Err(format!("ao wrote into the workspace: {ws}/.opencode"));
            }
            Ok(())
        },
    );
    m.case("the task reaches the model: working", || {
        w.wait_model("the task", 60, |p| {
            p.iter().any(|x| x.starts_with("Say hello."))
        })?;
        w.wait_status(&id, "working", "", 10).map(drop)
    });
    m.case(
        "turn finished → idle, and the human hears once (action)",
        || w.idle_and_told(&id, 30),
    );
    m.case("tokens equal the model's usage", || {
        let all = w
            .sim
            .model_calls()
            .iter()
            .filter_map(|r| r.usage)
            .fold((0, 0), |(i, o), (a, b)| (i + a, o + b));
        w.tokens_are(&id, all)
    });
    m.case(
        "permission dialog → needs_input with the command, within a poll",
        || {
            w.asks(
                &id,
                "Run it.\n@sim bash echo hi > oc.txt\n@sim reply Ran it.",
                "echo hi > oc.txt",
                15,
            )
        },
    );
    m.case(
        "ao send at the dialog: refused (exit 3), dialog and model untouched",
        || w.refused_at_dialog(&id, "Permission required", "oc.txt"),
    );
    m.case(
        "ao answer 1: allowed once, the selection read from colour",
        || w.answered(&id, "1", "oc.txt"),
    );
    shared_cases(
        &mut m,
        &w,
        &id,
        (
            "API auth (401) → errored (kept past the idle that follows), notified at once",
            30,
        ),
        &[
            ApiError {
                case: "overloaded (529), after OpenCode's own retries → errored, its kind",
                prompt: "Fail now.\n@sim error 529",
                reason: "overloaded error",
                secs: 120,
                after: "the overload",
            },
            ApiError {
                case: "rate-limited (429), after OpenCode's own retries → errored, nobody paged at once",
                prompt: "Too fast.\n@sim error 429\n@sim retry-after 1",
                reason: "rate-limited error",
                secs: 150,
                after: "the rate limit",
            },
        ],
        120,
    );
    m.finish();
}
