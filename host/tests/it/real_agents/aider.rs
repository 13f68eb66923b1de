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

    m.case("spawn: the task delivered after start, working", || {
        id = w.spawn("Say hello.\n@sim delay 4000\n@sim reply Hello there.");
        w.wait_model("the task", 60, |p| {
            p.iter().any(|x| x.starts_with("Say hello."))
        })?;
        w.wait_status(&id, "working", "", 10).map(drop)
    });
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
            let (code, err) = w.send(
                &id,
                "Write it.\n@sim write new.txt some content\n@sim reply Wrote.",
            );
            check(code == 0, || format!("send failed ({code}): {err}"))?;
            w.wait_status(&id, "needs_input", "Create new file?", 30)
                .map(drop)
        },
    );
    m.case(
        "ao send at the question: refused (exit 3), question and model untouched",
        || {
            let before = w.prompts().len();
            let (code, err) = w.send(&id, "Another task.\n@sim reply no");
            check(code == 3, || format!("exit {code}: {err}"))?;
            std::thread::sleep(Duration::from_secs(2));
            let screen = w.screen(&id);
            check(screen.contains("(Y)es/(N)o"), || {
                format!("the question is gone:\n{screen}")
            })?;
            check(w.prompts().len() == before, || {
                format!("the model saw more: {:?}", w.prompts())
            })
        },
    );
    m.case("ao answer y: the file is created", || {
        let out = w.ao().args(["answer", &id, "y"]).output().unwrap();
        check(out.status.success(), || {
            String::from_utf8_lossy(&out.stderr).into_owned()
        })?;
        let ws = PathBuf::from(w.session(&id)["workspacePath"].as_str().unwrap_or(""));
        check(
            wait_until(Duration::from_secs(20), || ws.join("new.txt").exists()),
            || format!("new.txt not written:\n{}", w.screen(&id)),
        )?;
        w.wait_status(&id, "idle", "", 30).map(drop)
    });
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
        "API auth (401) → errored, the human notified at once (urgent)",
        || {
            w.wait_status(&id, "idle", "", 30)?;
            let (code, err) = w.send(&id, "Fail auth.\n@sim error 401");
            check(code == 0, || format!("exit {code}: {err}"))?;
            w.wait_status(&id, "errored", "auth error", 60)?;
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
        w.wait_model("both prompts", 60, |p| {
            p.iter().any(|x| x.starts_with("First task."))
                && p.iter().any(|x| x.starts_with("Right after spawn."))
        })
    });
    m.finish();
}
