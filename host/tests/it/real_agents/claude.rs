//! Claude Code, real, against the model simulator.

use super::*;

fn world(cli: &Cli) -> World {
    World::new(
        "claude-code",
        CLAUDE_CODE,
        json!({"binary": cli.bin, "permissions": "default"}),
        env,
        // First-run state a user has after onboarding; trust is ao's to add, per worktree.
        |home, _| {
            std::fs::write(
                home.join(".claude.json"),
                r#"{"hasCompletedOnboarding": true}"#,
            )
            .unwrap()
        },
    )
}

fn env(sim: &ModelSim) -> Vec<(String, String)> {
    // A bearer token: no API-key approval dialog to seed.
    with_key(sim, "ANTHROPIC_AUTH_TOKEN")
}

fn with_key(sim: &ModelSim, key_var: &str) -> Vec<(String, String)> {
    [
        ("ANTHROPIC_BASE_URL", sim.url().to_owned()),
        (key_var, "sk-test".into()),
        ("DISABLE_TELEMETRY", "1".into()),
        ("DISABLE_AUTOUPDATER", "1".into()),
        ("DISABLE_ERROR_REPORTING", "1".into()),
        ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".into()),
        // Fail at once on an API error instead of retrying for minutes.
        ("CLAUDE_CODE_MAX_RETRIES", "0".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// An `ANTHROPIC_API_KEY` Claude has not approved: its first screen asks, defaulting to No.
#[test]
fn claude_code_api_key_dialog() {
    let Some(cli) = cli("claude-code", "node_modules/.bin/claude") else {
        return;
    };
    let w = World::new(
        "claude-code",
        CLAUDE_CODE,
        json!({"binary": cli.bin, "permissions": "default"}),
        |sim| with_key(sim, "ANTHROPIC_API_KEY"),
        |home, _| {
            std::fs::write(
                home.join(".claude.json"),
                r#"{"hasCompletedOnboarding": true}"#,
            )
            .unwrap()
        },
    );
    let mut m = Matrix::new(&cli);
    let mut id = String::new();
    m.case(
        "API-key approval dialog at start → needs_input; the task waits",
        || {
            id = w.spawn("Use the key.\n@sim reply keyed");
            w.wait_status(&id, "needs_input", "Detected a custom API key", 20)?;
            check(w.prompts().is_empty(), || {
                format!("the model was called: {:?}", w.prompts())
            })
        },
    );
    m.case("ao answer 1 (Yes): the agent starts on its task", || {
        let out = w.ao().args(["answer", &id, "1"]).output().unwrap();
        check(out.status.success(), || {
            String::from_utf8_lossy(&out.stderr).into_owned()
        })?;
        w.wait_model("the task", 20, |p| {
            p.iter().any(|x| x.starts_with("Use the key."))
        })?;
        w.wait_status(&id, "idle", "", 20).map(drop)
    });
    m.finish();
}

/// The model calls of one Claude conversation (not its title request): input and output tokens.
fn usage(w: &World, conversation: &str) -> (u64, u64) {
    w.sim
        .model_calls()
        .iter()
        .filter(|r| {
            r.headers
                .get("x-claude-code-session-id")
                .map(String::as_str)
                == Some(conversation)
        })
        .filter_map(|r| r.usage)
        .fold((0, 0), |(i, o), (a, b)| (i + a, o + b))
}

#[test]
fn claude_code() {
    let Some(cli) = cli("claude-code", "node_modules/.bin/claude") else {
        return;
    };
    let w = world(&cli);
    let mut m = Matrix::new(&cli);
    let mut id = String::new();

    m.case(
        "spawn: at its prompt in a new worktree (no trust dialog), working",
        || {
            id = w.spawn("Say hello.\n@sim delay 3000\n@sim reply Hello there.");
            w.wait_status(&id, "working", "", 20)?;
            let screen = w.screen(&id);
            check(!screen.contains("trust this folder"), || {
                format!("trust dialog shown:\n{screen}")
            })
        },
    );
    m.case(
        "turn finished → idle, and the human hears once (action)",
        || {
            w.wait_status(&id, "idle", "finished its turn", 20)?;
            let heard = wait_until(Duration::from_secs(10), || {
                w.inbox
                    .requests()
                    .iter()
                    .any(|r| r.text().contains("session.idle"))
            });
            check(heard, || "no session.idle notification".into())
        },
    );
    m.case("tokens and cost equal the model's usage", || {
        let conv = w.session(&id)["agentSessionId"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        let want = usage(&w, &conv);
        let mut got = Value::Null;
        let ok = wait_until(Duration::from_secs(10), || {
            got = w.session(&id)["cost"].clone();
            (got["input_tokens"].as_u64(), got["output_tokens"].as_u64())
                == (Some(want.0), Some(want.1))
        });
        check(ok && want.0 > 0, || {
            format!("cost {got} vs the simulator's {want:?}")
        })
    });
    m.case(
        "permission dialog → needs_input with the command, within a poll",
        || {
            let (code, err) = w.send(
                &id,
                "Run it.\n@sim bash echo hi > perm.txt\n@sim reply Ran it.",
            );
            check(code == 0, || format!("send failed ({code}): {err}"))?;
            w.wait_status(&id, "needs_input", "echo hi > perm.txt", 8)
                .map(drop)
        },
    );
    m.case(
        "ao send at the dialog: refused (exit 3), dialog and model untouched",
        || {
            let before = w.prompts().len();
            let (code, err) = w.send(&id, "Another task.\n@sim reply no");
            check(code == 3, || format!("exit {code}: {err}"))?;
            check(err.contains("ao answer"), || err.clone())?;
            std::thread::sleep(Duration::from_secs(2));
            let screen = w.screen(&id);
            check(screen.contains("Do you want to proceed?"), || {
                format!("the dialog is gone:\n{screen}")
            })?;
            let ws = PathBuf::from(w.session(&id)["workspacePath"].as_str().unwrap_or(""));
            check(!ws.join("perm.txt").exists(), || "the command ran".into())?;
            check(w.prompts().len() == before, || {
                format!("the model saw more: {:?}", w.prompts())
            })
        },
    );
    m.case("ao answer 1: the dialog is answered as chosen", || {
        let out = w.ao().args(["answer", &id, "1"]).output().unwrap();
        check(out.status.success(), || {
            String::from_utf8_lossy(&out.stderr).into_owned()
        })?;
        let ws = PathBuf::from(w.session(&id)["workspacePath"].as_str().unwrap_or(""));
        check(
            wait_until(Duration::from_secs(10), || ws.join("perm.txt").exists()),
            || "perm.txt not written".into(),
        )?;
        w.wait_status(&id, "idle", "", 20).map(drop)
    });
    m.case(
        "20 messages to an idle agent: 20 acknowledged and received",
        || {
            for i in 1..=20 {
                let (code, err) = w.send(&id, &format!("Message {i} of 20.\n@sim reply ok {i}"));
                check(code == 0, || format!("message {i}: exit {code}: {err}"))?;
            }
            w.wait_model("20 messages", 30, |p| {
                (1..=20).all(|i| {
                    p.iter()
                        .any(|x| x.starts_with(&format!("Message {i} of 20.")))
                })
            })
        },
    );
    m.case(
        "a busy agent: a message is queued or refused, never lost",
        || {
            w.wait_status(&id, "idle", "", 30)?;
            let (code, err) = w.send(&id, "Long task.\n@sim delay 6000\n@sim reply long done");
            check(code == 0, || format!("long task: exit {code}: {err}"))?;
            let (code, err) = w.send(&id, "While busy.\n@sim reply queued ok");
            match code {
                0 => w.wait_model("the queued message", 30, |p| {
                    p.iter().any(|x| x.starts_with("While busy."))
                }),
                1 => {
                    // Refused: then it must not sit in the input either.
                    std::thread::sleep(Duration::from_secs(8));
                    check(
                        !w.prompts().iter().any(|x| x.starts_with("While busy.")),
                        || format!("refused ({err}) but delivered"),
                    )
                }
                _ => Err(format!("exit {code}: {err}")),
            }
        },
    );
    m.case(
        "API overloaded (529) → errored with its kind and text",
        || {
            w.wait_status(&id, "idle", "", 30)?;
            let (code, err) = w.send(&id, "Fail now.\n@sim error 529");
            check(code == 0, || format!("exit {code}: {err}"))?;
            w.wait_status(&id, "errored", "overloaded error: API Error: 529", 10)
                .map(drop)
        },
    );
    m.case(
        "rate-limited (429) → errored, and no one paged for a passing limit",
        || {
            let before = w
                .inbox
                .requests()
                .iter()
                .filter(|r| r.text().contains("session.errored"))
                .count();
            let (code, err) = w.send(&id, "Too fast.\n@sim error 429");
            check(code == 0, || format!("exit {code}: {err}"))?;
            w.wait_status(&id, "errored", "rate-limited error", 10)?;
            std::thread::sleep(Duration::from_secs(4));
            let after = w
                .inbox
                .requests()
                .iter()
                .filter(|r| r.text().contains("session.errored"))
                .count();
            check(after == before, || {
                "a rate limit paged the human at once".into()
            })
        },
    );
    m.case("a message after an error is worked on again", || {
        let (code, err) = w.send(&id, "Recover.\n@sim reply back");
        check(code == 0, || format!("exit {code}: {err}"))?;
        w.wait_status(&id, "idle", "", 20).map(drop)
    });
    m.case(
        "API auth (401) → errored, the human notified at once (urgent)",
        || {
            let (code, err) = w.send(&id, "Fail auth.\n@sim error 401");
            check(code == 0, || format!("exit {code}: {err}"))?;
            w.wait_status(&id, "errored", "auth error", 10)?;
            let heard = wait_until(Duration::from_secs(10), || {
                w.inbox
                    .requests()
                    .iter()
                    .any(|r| r.text().contains("session.errored"))
            });
            check(heard, || "no session.errored notification".into())
        },
    );
    m.case(
        "a write permission dialog → needs_input naming the file",
        || {
            let (code, err) = w.send(
                &id,
                "Write it.\n@sim write new.txt some content\n@sim reply Wrote.",
            );
            check(code == 0, || format!("exit {code}: {err}"))?;
            w.wait_status(&id, "needs_input", "new.txt", 10)?;
            let out = w.ao().args(["answer", &id, "yes"]).output().unwrap();
            check(out.status.success(), || {
                String::from_utf8_lossy(&out.stderr).into_owned()
            })?;
            w.wait_status(&id, "idle", "", 20).map(drop)
        },
    );
    m.case("killed → killed", || {
        let pane = w.session(&id)["runtimeHandle"]["id"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        let out = std::process::Command::new("tmux")
            .arg("-S")
            .arg(&w.socket)
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
        // The pane's process tree: kill the CLI under it.
        let _ = std::process::Command::new("pkill")
            .args(["-KILL", "-P", &pid])
            .status();
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid])
            .status();
        w.wait_status(&id, "killed", "", 15).map(drop)
    });
    m.case("restore resumes the conversation", || {
        succeed(w.ao().args(["session", "restore", &id]));
        w.wait_status(&id, "idle", "", 30)
            .or_else(|_| w.wait_status(&id, "working", "", 5))?;
        let (code, err) = w.send(&id, "After restore.\n@sim reply restored");
        check(code == 0, || format!("exit {code}: {err}"))?;
        let remembered = wait_until(Duration::from_secs(20), || {
            w.sim.model_calls().iter().any(|r| {
                r.prompt
                    .as_deref()
                    .is_some_and(|p| p.starts_with("After restore."))
                    && r.body.to_string().contains("Message 20 of 20.")
            })
        });
        check(remembered, || {
            "the resumed conversation lost its history".into()
        })
    });
    m.case("delivery right after spawn", || {
        let second = w.spawn("First task.\n@sim reply first");
        let (code, err) = w.send(&second, "Right after spawn.\n@sim reply second");
        check(code == 0, || format!("exit {code}: {err}"))?;
        w.wait_model("both prompts", 30, |p| {
            p.iter().any(|x| x.starts_with("First task."))
                && p.iter().any(|x| x.starts_with("Right after spawn."))
        })
    });
    m.finish();
}
