//! Claude Code, real, against the model simulator.

use super::*;

/// A world for Claude with `extra` agent settings and `env` (how it reaches the simulator).
fn world(cli: &Cli, extra: Value, env: impl Fn(&ModelSim) -> Vec<(String, String)>) -> World {
    let mut config = json!({"binary": cli.bin, "permissions": "default"});
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        config[k] = v;
    }
    World::new(
        "claude-code",
        CLAUDE_CODE,
        config,
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

/// A worktree Claude was not told to trust (the plugin's `configDir` points away from the
/// config Claude reads): 2.1.332's folder-trust dialog, whose default is "No, exit".
#[test]
fn claude_code_trust_dialog() {
    let Some(cli) = cli("claude-code", "node_modules/.bin/claude") else {
        return;
    };
    let elsewhere = tempfile::tempdir().unwrap();
    let w = world(&cli, json!({"configDir": elsewhere.path()}), env);
    let mut m = Matrix::new(&cli);
    let mut id = String::new();
    m.case(
        "folder-trust dialog → needs_input with its choices; nothing typed into it",
        || {
            id = w.spawn("Trust me.\n@sim reply trusted");
            w.wait_status(&id, "needs_input", "Yes, I trust this folder", 20)?;
            let (code, err) = w.send(&id, "Hello?");
            check(code == 3, || format!("exit {code}: {err}"))?;
            let screen = w.screen(&id);
            check(screen.contains("No, exit"), || {
                format!("the dialog is gone:\n{screen}")
            })
        },
    );
    m.case(
        "ao answer yes: the selection moved to Yes, then confirmed; the agent starts",
        || {
            let out = w.ao().args(["answer", &id, "yes"]).output().unwrap();
            check(out.status.success(), || {
                String::from_utf8_lossy(&out.stderr).into_owned()
            })?;
            w.wait_model("the task", 20, |p| {
                p.iter().any(|x| x.starts_with("Trust me."))
            })?;
            w.wait_status(&id, "idle", "", 20).map(drop)
        },
    );
    m.finish();
}

/// `permissions: skip` as root (this suite's machines): Claude Code refuses bypass mode and
/// exits 1. The spawn fails with its words and leaves nothing; with `IS_SANDBOX=1` in the
/// project's `env` it starts, on its bypass warning, which is the human's to accept.
#[test]
fn claude_code_bypass_as_root() {
    let Some(cli) = cli("claude-code", "node_modules/.bin/claude") else {
        return;
    };
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        // Not root here: Claude would start in bypass mode, and there is nothing to see.
        return;
    }
    let w = world(&cli, json!({"permissions": "skip"}), env);
    let mut m = Matrix::new(&cli);
    m.case(
        "bypass as root: ao spawn fails with Claude's own words; nothing left",
        || {
            let out = w.ao().args(["spawn", "--prompt", "Hi."]).output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            check(!out.status.success(), || format!("spawn succeeded: {err}"))?;
            check(
                err.contains("cannot be used with root/sudo privileges"),
                || err.clone(),
            )?;
            let left = w.sessions();
            check(left.is_empty(), || format!("a session was left: {left:?}"))?;
            let panes = std::process::Command::new("tmux")
                .arg("-S")
                .arg(&w.socket)
                .args(["list-sessions", "-F", "#{session_name}"])
                .output()
                .unwrap();
            let panes = String::from_utf8_lossy(&panes.stdout).into_owned();
            check(panes.trim().is_empty(), || {
                format!("tmux sessions left: {panes}")
            })
        },
    );
    // The same project with IS_SANDBOX=1 in its env (read back by the agent): it starts, on
    // the bypass warning, shown to the human with its choices; nothing is typed into it.
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(&w.config).unwrap()).unwrap();
    config["projects"]["app"]["env"] = json!({"IS_SANDBOX": "1"});
    std::fs::write(&w.config, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    let mut id = String::new();
    m.case(
        "env IS_SANDBOX=1: the bypass warning → needs_input with its choices",
        || {
            id = w.spawn("Hi.");
            let s = w.wait_status(&id, "needs_input", "Bypass", 30)?;
            let options = s["activity"]["dialog"]["options"].to_string();
            check(
                options.contains("No, exit") && options.contains("Yes, I accept"),
                || format!("choices: {options}"),
            )?;
            check(w.prompts().is_empty(), || {
                "the task reached the model".into()
            })
        },
    );
    m.finish();
}

/// An `ANTHROPIC_API_KEY` Claude has not approved: its first screen asks, defaulting to No.
#[test]
fn claude_code_api_key_dialog() {
    let Some(cli) = cli("claude-code", "node_modules/.bin/claude") else {
        return;
    };
    let w = world(&cli, json!({}), |sim| with_key(sim, "ANTHROPIC_API_KEY"));
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

/// The session's tokens equal what the model simulator counted for its conversation.
fn tokens_match(w: &World, id: &str) -> Result<(), String> {
    let conv = w.session(id)["agentSessionId"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    w.tokens_are(id, usage(w, &conv))
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
    let w = world(&cli, json!({}), env);
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
        || w.idle_and_told(&id, 20),
    );
    m.case("tokens and cost equal the model's usage", || {
        tokens_match(&w, &id)
    });
    m.case(
        "permission dialog → needs_input with the command, within a poll",
        || {
            w.asks(
                &id,
                "Run it.\n@sim bash echo hi > perm.txt\n@sim reply Ran it.",
                "echo hi > perm.txt",
                8,
            )
        },
    );
    m.case(
        "ao send at the dialog: refused (exit 3), dialog and model untouched",
        || w.refused_at_dialog(&id, "Do you want to proceed?", "perm.txt"),
    );
    m.case("ao answer 1: the dialog is answered as chosen", || {
        w.answered(&id, "1", "perm.txt")
    });
    m.case(
        "20 messages to an idle agent: 20 acknowledged and received",
        || w.twenty_messages(&id),
    );
    m.case(
        "a busy agent: a message is queued or refused, never lost",
        || w.busy_never_lost(&id),
    );
    m.case(
        "API overloaded (529) → errored with its kind and text",
        || {
            w.wait_status(&id, "idle", "", 30)?;
            w.sent(&id, "Fail now.\n@sim error 529")?;
            w.wait_status(&id, "errored", "overloaded error: API Error: 529", 10)
                .map(drop)
        },
    );
    m.case(
        "rate-limited (429) → errored, and no one paged for a passing limit",
        || w.errored_unpaged(&id, "Too fast.\n@sim error 429", "rate-limited error", 10),
    );
    m.case("a message after an error is worked on again", || {
        w.recovers(&id)
    });
    m.case(
        "API auth (401) → errored, the human notified at once (urgent)",
        || w.auth_error(&id, 10),
    );
    m.case(
        "a write permission dialog → needs_input naming the file",
        || {
            w.asks(
                &id,
                "Write it.\n@sim write new.txt some content\n@sim reply Wrote.",
                "new.txt",
                10,
            )?;
            w.answered(&id, "yes", "new.txt")
        },
    );
    m.case("killed → killed", || w.killed(&id));
    m.case("restore resumes the conversation", || {
        w.restore_remembers(&id)
    });
    m.case("delivery right after spawn", || w.right_after_spawn(30));
    m.finish();
}

/// Claude Code in a Docker container (`runtime: docker`, the worktree mounted at its own path,
/// the CLI's install and config directories mounted from the host): its hooks reach the
/// session's status file, delivery and dialog answers go over the engine's exec into the tmux
/// inside, tokens come from its transcript, a killed container is seen, and a restore in a new
/// container continues the conversation.
#[test]
fn claude_code_in_docker() {
    let Some(cli) = cli("claude-code", "node_modules/.bin/claude") else {
        return;
    };
    let Some(image) = ao_testkit::docker::agent_image() else {
        return;
    };
    // The executable is a symlink into its install dir, which goes in whole.
    let install = cli.bin.ancestors().nth(3).unwrap().to_path_buf();
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_dir.path().to_path_buf();
    std::fs::write(
        config.join(".claude.json"),
        r#"{"hasCompletedOnboarding": true}"#,
    )
    .unwrap();
    let w = World::on(
        Runtime::Docker {
            image,
            extra: json!({"mounts": [
                {"source": install},
                {"source": config, "readOnly": false},
            ]}),
        },
        "claude-code",
        CLAUDE_CODE,
        json!({"binary": cli.bin, "permissions": "default", "configDir": config}),
        |sim| {
            let mut e = env(sim);
            e.push(("CLAUDE_CONFIG_DIR".into(), config.display().to_string()));
            e
        },
        |_, _| {},
    );
    let mut m = Matrix::new(&cli);
    m.agent.push_str(" in docker");
    let mut id = String::new();
    m.case(
        "spawn: a container, at its prompt without a trust dialog, working",
        || {
            id = w.spawn("Say hello.\n@sim delay 3000\n@sim reply Hello there.");
            w.wait_status(&id, "working", "", 40)?;
            let name = w.runtime_name(&id);
            let running = std::process::Command::new("docker")
                .args(["inspect", "-f", "{{.State.Running}}", &name])
                .output()
                .unwrap();
            check(
                String::from_utf8_lossy(&running.stdout).trim() == "true",
                || format!("container {name} is not running"),
            )?;
            let screen = w.screen(&id);
            check(!screen.contains("trust this folder"), || {
                format!("trust dialog shown:\n{screen}")
            })
        },
    );
    m.case(
        "turn finished (its hook, from inside) → idle, and the human hears once",
        || w.idle_and_told(&id, 30),
    );
    m.case("tokens and cost equal the model's usage", || {
        tokens_match(&w, &id)
    });
    m.case("permission dialog → needs_input with the command", || {
        w.asks(
            &id,
            "Run it.\n@sim bash echo hi > perm.txt\n@sim reply Ran it.",
            "echo hi > perm.txt",
            10,
        )
    });
    m.case(
        "ao send at the dialog: refused (exit 3), dialog and model untouched",
        || w.refused_at_dialog(&id, "Do you want to proceed?", "perm.txt"),
    );
    m.case("ao answer 1 over exec: the command runs", || {
        w.answered(&id, "1", "perm.txt")
    });
    m.case(
        "20 messages to an idle agent: 20 acknowledged and received",
        || w.twenty_messages(&id),
    );
    // Once the last reply is in the transcript as ao reads it (its tokens counted): a turn
    // Claude had not written down when it was killed is Claude's to lose.
    m.case("an idle agent's container killed → killed", || {
        w.wait_status(&id, "idle", "", 30)?;
        tokens_match(&w, &id)?;
        w.killed(&id)
    });
    m.case("restore: a new container resumes the conversation", || {
        w.restore_remembers(&id)
    });
    m.finish();
}

/// Claude Code in a container that keeps everything inside (`workspace: clone`,
/// `sessionFiles: container`), the way a remote engine runs it: the workspace cloned into a
/// volume, hooks through the shell shim, the status file read over exec, and the transcript —
/// under the container's own home — brought to the host a tick at a time, so tokens and cost
/// are known as for a local session. The image carries Claude's first-run state, as a user's
/// agent image would.
#[test]
fn claude_code_in_docker_with_its_files_inside() {
    let Some(cli) = cli("claude-code", "node_modules/.bin/claude") else {
        return;
    };
    let Some(base) = ao_testkit::docker::agent_image() else {
        return;
    };
    let image = ao_testkit::docker::derived_image(
        &base,
        &[(
            "/root/.claude.json",
            r#"{"hasCompletedOnboarding": true, "projects": {"/workspace": {"hasTrustDialogAccepted": true}}}"#,
        )],
    );
    let install = cli.bin.ancestors().nth(3).unwrap().to_path_buf();
    let w = World::on(
        Runtime::Docker {
            image,
            extra: json!({
                "workspace": "clone",
                "sessionFiles": "container",
                "mounts": [{"source": install}],
            }),
        },
        "claude-code",
        CLAUDE_CODE,
        json!({"binary": cli.bin, "permissions": "default"}),
        env,
        |_, _| {},
    );
    let mut m = Matrix::new(&cli);
    m.agent.push_str(" in docker, files inside");
    let mut id = String::new();
    m.case("spawn: cloned inside, at its prompt, working", || {
        id = w.spawn("Say hello.\n@sim delay 3000\n@sim reply Hello there.");
        w.wait_status(&id, "working", "", 40)?;
        let screen = w.screen(&id);
        check(!screen.contains("trust this folder"), || {
            format!("trust dialog shown:\n{screen}")
        })
    });
    m.case(
        "turn finished (its hook through the shim) → idle, and the human hears once",
        || w.idle_and_told(&id, 30),
    );
    m.case(
        "tokens and cost from the transcript inside equal the model's usage",
        || tokens_match(&w, &id),
    );
    m.case(
        "three messages acknowledged over exec; tokens follow",
        || {
            for i in 1..=3 {
                w.sent(&id, &format!("Message {i} of 3.\n@sim reply ok {i}"))?;
                w.wait_status(&id, "idle", "", 30)?;
            }
            tokens_match(&w, &id)
        },
    );
    m.case("an idle agent's container killed → killed", || {
        w.wait_status(&id, "idle", "", 30)?;
        tokens_match(&w, &id)?;
        w.killed(&id)
    });
    // Claude's home went with the container: the host's copy of the transcript is put back
    // (without it Claude exits: "No conversation found"). The copy follows the file by offset,
    // and Claude 2.1.332 was seen, under load, to leave a copy that had lost its newest turn
    // (issue 18's note): the resumed conversation is checked for its first message.
    m.case(
        "restore: a new container, the transcript put back, the conversation resumes",
        || w.restore_recalls(&id, "Message 1 of 3."),
    );
    m.finish();
}
