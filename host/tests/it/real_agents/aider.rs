//! Aider, real, against the model simulator.

use super::*;

fn world(cli: &Cli) -> World {
    World::new(
        "aider",
        AIDER,
        json!({"binary": cli.bin, "permissions": "default"}),
        |_| Vec::new(),
        // Its config file (so the tmux server's environment does not matter), and model
        // metadata, without which every start fetches litellm's price list from the network.
        |home, sim| {
            std::fs::write(
                home.join(".aider.conf.yml"),
                format!(
                    "openai-api-base: {}/v1\nopenai-api-key: sk-test\nmodel: openai/local-model\n\
                     edit-format: diff\nanalytics-disable: true\nshow-model-warnings: false\n",
                    sim.url()
                ),
            )
            .unwrap();
            std::fs::write(
                home.join(".aider.model.metadata.json"),
                r#"{"openai/local-model": {"max_tokens": 8192, "max_input_tokens": 128000, "max_output_tokens": 8192, "input_cost_per_token": 0, "output_cost_per_token": 0, "litellm_provider": "openai", "mode": "chat"}}"#,
            )
            .unwrap();
        },
    )
}

#[test]
fn aider() {
    let Some(cli) = cli("aider", "bin/aider") else {
        return;
    };
    let w = world(&cli);
    let mut m = Matrix::new(&cli);
    let mut id = String::new();

    m.case(
        "spawn: the task delivered once its prompt shows, working",
        || {
            id = w.spawn("Say hello.\n@sim delay 4000\n@sim reply Hello there.");
            w.wait_model("the task", 60, |p| {
                p.iter().any(|x| x.starts_with("Say hello."))
            })?;
            w.wait_status(&id, "working", "", 10).map(drop)
        },
    );
    m.case(
        "turn finished → idle, and the human hears once (action)",
        || w.idle_and_told(&id, 30),
    );
    m.case(
        "tokens reported (Aider's own estimate: it does not record the API's usage)",
        || {
            let ok = wait_until(Duration::from_secs(10), || {
                w.session(&id)["cost"]["input_tokens"]
                    .as_u64()
                    .is_some_and(|n| n > 0)
            });
            check(ok, || format!("no tokens: {}", w.session(&id)["cost"]))
        },
    );
    m.case(
        "yes/no question (create a file) → needs_input with the question",
        || {
            w.asks(
                &id,
                "Write it.\n@sim write new.txt some content\n@sim reply Wrote.",
                "Create new file?",
                30,
            )
        },
    );
    m.case(
        "ao send at the question: refused (exit 3), question and model untouched",
        || w.refused_at_dialog(&id, "(Y)es/(N)o", "new.txt"),
    );
    m.case("ao answer y: the file is created", || {
        w.answered(&id, "y", "new.txt")
    });
    m.case(
        "\"Run shell command?\" → needs_input; ao answer y runs it",
        || {
            w.asks(
                &id,
                "Run a command.\n@sim bash echo hi > sh.txt\n@sim reply Ran.",
                "Run shell command?",
                30,
            )?;
            w.answered(&id, "y", "sh.txt")
        },
    );
    shared_cases(
        &mut m,
        &w,
        &id,
        (
            "API auth (401) → errored, the human notified at once (urgent)",
            60,
        ),
        &[
            ApiError {
                case: "overloaded (529), after litellm's retries → errored, its kind",
                prompt: "Fail now.\n@sim error 529",
                reason: "overloaded error: litellm.APIError",
                secs: 150,
                after: "the overload",
            },
            ApiError {
                case: "rate-limited (429), after litellm's retries → errored, nobody paged at once",
                prompt: "Too fast.\n@sim error 429\n@sim retry-after 1",
                reason: "rate-limited error: litellm.RateLimitError",
                secs: 150,
                after: "the rate limit",
            },
        ],
        60,
    );
    m.finish();
}
