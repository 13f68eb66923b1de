//! The world of `ao demo`: a small repository on the forge simulator with a test, two issues,
//! a CI that runs the test on every PR head, a reviewer who asks for one change, and the
//! playbook the scripted agent follows. Agent 1 opens a PR with a typo (CI fails with a real
//! log), fixes it when told, addresses the review and gets merged; agent 2 asks the human a
//! question. `ao-forge-sim --scenario demo` sets it up for the `ao demo` command.

use crate::forge::actors::{Actors, Ci, Reviewer, Running};
use crate::forge::{ForgeSim, TOKEN};
use crate::playbook::{Forge, Playbook, Rule, Step};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The repository.
pub const REPO: &str = "acme/greeter";

/// The demo as set up.
pub struct Demo {
    /// `owner/name`.
    pub repo: String,
    /// The forge's bare repository (clone it to get a checkout).
    pub git_dir: PathBuf,
    /// The scripted agent's playbook file.
    pub playbook: PathBuf,
    /// The issues to spawn agents on.
    pub issues: Vec<u64>,
    /// CI and the reviewer; they stop when this is dropped.
    pub actors: Running,
}

const GREET: &str = "#!/bin/sh\n# Prints the greeting. See issue #1.\n";

const TEST: &str = r#"#!/bin/sh
# The project's test; CI runs `sh test.sh` on every push to a pull request.
echo "running greet.sh"
got=$(sh greet.sh)
if [ "$got" = "hello" ]; then
  echo "PASS greet_test"
else
  echo "expected: hello"
  echo "     got: $got"
  echo "FAILED greet_test"
  exit 1
fi
"#;

fn git(dir: &Path, args: &[&str]) -> Result<(), String> {
    crate::git::try_git(
        dir,
        args,
        Some(("Maintainer", "maintainer@example.invalid")),
    )
}

fn commit(msg: &str) -> Step {
    Step::Run(
        [
            "git",
            "-c",
            "user.name=Agent",
            "-c",
            "user.email=agent@example.invalid",
            "commit",
            "-qam",
            msg,
        ]
        .map(String::from)
        .to_vec(),
    )
}

fn push() -> Step {
    Step::Run(
        ["git", "push", "-q", "origin", "HEAD"]
            .map(String::from)
            .to_vec(),
    )
}

fn write(path: &str, content: &str) -> Step {
    Step::Write {
        path: path.into(),
        content: content.into(),
    }
}

fn rule(when: &str, steps: Vec<Step>) -> Rule {
    Rule {
        when: when.into(),
        times: None,
        steps,
    }
}

/// What the agents do with each message they get.
pub fn playbook(forge_url: &str) -> Playbook {
    Playbook {
        forge: Some(Forge {
            url: forge_url.into(),
            repo: REPO.into(),
            token: TOKEN.into(),
        }),
        rules: vec![
            rule(
                "Work on issue #1",
                vec![
                    Step::Say("reading greet.sh and test.sh".into()),
                    Step::Think(800),
                    write("greet.sh", &format!("{GREET}echo helo\n")),
                    commit("Print a greeting"),
                    push(),
                    Step::OpenPr {
                        title: "Print a greeting".into(),
                        body: "Closes #1".into(),
                    },
                ],
            ),
            rule(
                "CI failed",
                vec![
                    Step::Think(500),
                    write("greet.sh", &format!("{GREET}echo hello\n")),
                    commit("Fix the typo in the greeting"),
                    push(),
                ],
            ),
            rule(
                "Unresolved review comments",
                vec![
                    Step::Think(500),
                    write("greet.sh", &format!("{GREET}printf 'hello\\n'\n")),
                    commit("Use printf"),
                    push(),
                ],
            ),
            rule(
                "Work on issue #2",
                vec![
                    Step::Say("reading greet.sh".into()),
                    // Long enough that the engine sees the agent at work before it asks.
                    Step::Think(2500),
                    Step::Ask(
                        "Which languages should the greeting support, and should I read them \
                         from $LANG or from a flag?"
                            .into(),
                    ),
                ],
            ),
        ],
    }
}

/// Sets the demo up on `sim`, keeping its files (checkout for the seed commit, CI's checkout,
/// the playbook) under `dir`.
pub fn setup(sim: &ForgeSim, dir: &Path) -> Result<Demo, String> {
    let git_dir = sim.world().add_repo(REPO, false).map_err(|r| r.message)?;
    let seed = dir.join("seed");
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let src = git_dir.to_string_lossy();
    git(dir, &["clone", "-q", &src, "seed"])?;
    git(&seed, &["symbolic-ref", "HEAD", "refs/heads/main"])?;
    for (name, text) in [
        ("greet.sh", GREET),
        ("test.sh", TEST),
        (
            "README.md",
            "# greeter\n\nSays hello. `sh test.sh` tests it.\n",
        ),
    ] {
        std::fs::write(seed.join(name), text).map_err(|e| format!("{name}: {e}"))?;
    }
    git(&seed, &["add", "."])?;
    git(&seed, &["commit", "-qm", "A greeter with a test"])?;
    git(&seed, &["push", "-q", "origin", "main"])?;
    let _ = std::fs::remove_dir_all(&seed);
    let issues = {
        let mut w = sim.world();
        let one = w
            .create_issue(
                REPO,
                "Print a greeting",
                "`sh greet.sh` should print `hello`; `sh test.sh` checks it.",
                &["good first issue"],
                "maintainer",
            )
            .map_err(|r| r.message)?;
        let two = w
            .create_issue(
                REPO,
                "Greet in the user's language",
                "Not everyone speaks English: the greeting should follow the user's language.",
                &["enhancement"],
                "maintainer",
            )
            .map_err(|r| r.message)?;
        w.checks_on_push(REPO, &["test"]).map_err(|r| r.message)?;
        w.protect(
            REPO,
            "main",
            crate::forge::model::Protection {
                required_checks: vec!["test".into()],
                strict: false,
                required_approvals: 1,
            },
        )
        .map_err(|r| r.message)?;
        vec![one, two]
    };
    let playbook = dir.join("playbook.json");
    let text = serde_json::to_string_pretty(&self::playbook(sim.url())).expect("serialises");
    std::fs::write(&playbook, text).map_err(|e| format!("{}: {e}", playbook.display()))?;
    let actors = sim.start_actors(Actors {
        repo: REPO.into(),
        workdir: dir.join("ci"),
        ci: Some(Ci {
            check: "test".into(),
            argv: vec!["sh".into(), "test.sh".into()],
            delay: Duration::from_secs(2),
            timeout: Duration::from_secs(60),
        }),
        reviewer: Some(Reviewer {
            login: "rita".into(),
            asks: vec![(
                "greet.sh".into(),
                3,
                "Use printf: what echo does with escapes differs between shells.".into(),
            )],
            delay: Duration::from_secs(3),
        }),
    });
    Ok(Demo {
        repo: REPO.into(),
        git_dir,
        playbook,
        issues,
        actors,
    })
}
