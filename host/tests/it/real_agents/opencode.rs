//! OpenCode, real, against the model simulator.

use super::*;

fn world(cli: &Cli) -> World {
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

    // A new workspace with ao's hook plugin makes OpenCode install its plugin package first.
    m.case(
        "spawn: working (after OpenCode's first-start install)",
        || {
            id = w.spawn("Say hello.\n@sim delay 4000\n@sim reply Hello there.");
            w.wait_model("the task", 120, |p| {
                p.iter().any(|x| x.starts_with("Say hello."))
            })?;
            w.wait_status(&id, "working", "", 10).map(drop)
        },
    );
    m.case(
        "turn finished → idle, and the human hears once (action)",
        || {
            w.wait_status(&id, "idle", "finished its turn", 30)?;
            let heard = wait_until(Duration::from_secs(10), || {
                w.inbox
                    .requests()
                    .iter()
                    .any(|r| r.text().contains("session.idle"))
            });
            check(heard, || "no session.idle notification".into())
        },
    );
    m.case("tokens equal the model's usage", || {
        let want = w
            .sim
            .model_calls()
            .iter()
            .filter_map(|r| r.usage)
            .fold((0, 0), |(i, o), (a, b)| (i + a, o + b));
        let mut got = Value::Null;
        let ok = wait_until(Duration::from_secs(15), || {
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
                "Run it.\n@sim bash echo hi > oc.txt\n@sim reply Ran it.",
            );
            check(code == 0, || format!("send failed ({code}): {err}"))?;
            w.wait_status(&id, "needs_input", "echo hi > oc.txt", 15)
                .map(drop)
        },
    );
    m.case(
        "ao send at the dialog: refused (exit 3), dialog and model untouched",
        || {
            let before = w.prompts().len();
            let (code, err) = w.send(&id, "Another task.\n@sim reply no");
            check(code == 3, || format!("exit {code}: {err}"))?;
            std::thread::sleep(Duration::from_secs(2));
            let screen = w.screen(&id);
            check(screen.contains("Permission required"), || {
                format!("the dialog is gone:\n{screen}")
            })?;
            let ws = PathBuf::from(w.session(&id)["workspacePath"].as_str().unwrap_or(""));
            check(!ws.join("oc.txt").exists(), || "the command ran".into())?;
            check(w.prompts().len() == before, || {
                format!("the model saw more: {:?}", w.prompts())
            })
        },
    );
    m.case(
        "ao answer 1: allowed once, the selection read from colour",
        || {
            let out = w.ao().args(["answer", &id, "1"]).output().unwrap();
            check(out.status.success(), || {
                String::from_utf8_lossy(&out.stderr).into_owned()
            })?;
            let ws = PathBuf::from(w.session(&id)["workspacePath"].as_str().unwrap_or(""));
            check(
                wait_until(Duration::from_secs(15), || ws.join("oc.txt").exists()),
                || format!("oc.txt not written:\n{}", w.screen(&id)),
            )?;
            w.wait_status(&id, "idle", "", 30).map(drop)
        },
    );
    m.case(
        "20 messages to an idle agent: 20 acknowledged and received",
        || {
            for i in 1..=20 {
                let (code, err) = w.send(&id, &format!("Message {i} of 20.\n@sim reply ok {i}"));
                check(code == 0, || format!("message {i}: exit {code}: {err}"))?;
            }
            w.wait_model("20 messages", 60, |p| {
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
                0 => w.wait_model("the queued message", 40, |p| {
                    p.iter().any(|x| x.starts_with("While busy."))
                }),
                1 => {
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
        "API auth (401) → errored (kept past the idle that follows), notified at once",
        || {
            w.wait_status(&id, "idle", "", 30)?;
            let (code, err) = w.send(&id, "Fail auth.\n@sim error 401");
            check(code == 0, || format!("exit {code}: {err}"))?;
            w.wait_status(&id, "errored", "auth error", 30)?;
            let heard = wait_until(Duration::from_secs(10), || {
                w.inbox
                    .requests()
                    .iter()
                    .any(|r| r.text().contains("session.errored"))
            });
            check(heard, || "no session.errored notification".into())
        },
    );
    m.case("a message after an error is worked on again", || {
        let (code, err) = w.send(&id, "Recover.\n@sim reply back");
        check(code == 0, || format!("exit {code}: {err}"))?;
        w.wait_status(&id, "idle", "", 30).map(drop)
    });
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
        w.wait_status(&id, "idle", "", 60)
            .or_else(|_| w.wait_status(&id, "working", "", 5))?;
        let (code, err) = w.send(&id, "After restore.\n@sim reply restored");
        check(code == 0, || format!("exit {code}: {err}"))?;
        let remembered = wait_until(Duration::from_secs(40), || {
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
        w.wait_model("both prompts", 120, |p| {
            p.iter().any(|x| x.starts_with("First task."))
                && p.iter().any(|x| x.starts_with("Right after spawn."))
        })
    });
    m.finish();
}
