//! Post-create steps shared by workspace plugins: symlinks into the project checkout, then
//! commands run in the new workspace as argument vectors (a shell only on explicit opt-in).

use crate::sdk::command::Command;
use crate::sdk::{Ctx, SdkError};
use crate::slots::workspace::PostCreate;
use std::path::{Component, Path};
use std::time::Duration;

/// Default deadline of one post-create command.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// Runs the steps. The first failure stops and is returned; the caller removes the workspace.
pub fn run(ctx: &Ctx, repo: &Path, workspace: &Path, steps: &PostCreate) -> Result<(), SdkError> {
    for link in &steps.symlinks {
        symlink(repo, workspace, link)?;
    }
    for step in &steps.commands {
        ctx.check()?;
        let cmd = if step.shell {
            let script = step.argv.join(" ");
            tracing::info!(command = %script, "post-create step runs through `sh -c` (shell: true)");
            Command::new("sh").args(["-c", script.as_str()])
        } else {
            Command::from_argv(&step.argv)?
        };
        let timeout = step
            .timeout_ms
            .map(Duration::from_millis)
            .unwrap_or(COMMAND_TIMEOUT);
        let shown = cmd.display();
        let out = cmd.cwd(workspace).timeout(timeout).run(Some(ctx))?;
        if !out.success() {
            let tail: Vec<&str> = out
                .stderr
                .lines()
                .chain(out.stdout.lines())
                .filter(|l| !l.trim().is_empty())
                .collect();
            let last = tail.last().copied().unwrap_or("no output");
            return Err(SdkError::Internal(format!(
                "post-create step `{shown}` exited with {}: {last}",
                out.code
                    .map_or("a signal".to_string(), |c| format!("status {c}"))
            )));
        }
    }
    Ok(())
}

/// Links `workspace/rel` to `repo/rel`. `rel` must stay inside both (no `..`, not absolute);
/// a missing source is skipped with a warning; an existing file at the target is replaced.
fn symlink(repo: &Path, workspace: &Path, rel: &str) -> Result<(), SdkError> {
    let p = Path::new(rel);
    if rel.is_empty()
        || p.components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(SdkError::InvalidParams(format!(
            "symlink `{rel}` must be a relative path inside the project without `..`"
        )));
    }
    let source = repo.join(p);
    if source.symlink_metadata().is_err() {
        tracing::warn!(path = %rel, "symlink source does not exist in the project; skipped");
        return Ok(());
    }
    let target = workspace.join(p);
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io_error(&target, e))?;
    }
    match target.symlink_metadata() {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(&target),
        Ok(_) => std::fs::remove_file(&target),
        Err(_) => Ok(()),
    }
    .map_err(|e| io_error(&target, e))?;
    std::os::unix::fs::symlink(&source, &target).map_err(|e| io_error(&target, e))
}

fn io_error(path: &Path, e: std::io::Error) -> SdkError {
    SdkError::Internal(format!("cannot create symlink {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slots::workspace::PostCreateCommand;

    fn temp(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("ao-pc-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn symlinks_then_commands_run_in_the_workspace() {
        let (repo, ws) = (temp("repo"), temp("ws"));
        std::fs::write(repo.join(".env"), "K=V").unwrap();
        std::fs::write(ws.join(".env"), "stale").unwrap();
        let steps = PostCreate {
            symlinks: vec![".env".into(), "missing".into()],
            commands: vec![PostCreateCommand {
                argv: vec![
                    "sh".into(),
                    "-c".into(),
                    "cat .env > seen; echo \"$1\" > arg".into(),
                    "-".into(),
                    "$(no)".into(),
                ],
                shell: false,
                timeout_ms: None,
            }],
        };
        run(&Ctx::detached(), &repo, &ws, &steps).unwrap();
        assert!(ws.join(".env").symlink_metadata().unwrap().is_symlink());
        assert_eq!(std::fs::read_to_string(ws.join("seen")).unwrap(), "K=V");
        assert_eq!(std::fs::read_to_string(ws.join("arg")).unwrap(), "$(no)\n");
        assert!(!ws.join("missing").exists());
    }

    #[test]
    fn a_failing_step_names_itself_and_its_last_line() {
        let (repo, ws) = (temp("repo2"), temp("ws2"));
        let steps = PostCreate {
            symlinks: vec![],
            commands: vec![PostCreateCommand {
                argv: vec!["sh".into(), "-c".into(), "echo boom >&2; exit 3".into()],
                shell: false,
                timeout_ms: None,
            }],
        };
        let err = run(&Ctx::detached(), &repo, &ws, &steps)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "post-create step `sh -c echo boom >&2; exit 3` exited with status 3: boom"
        );
    }

    #[test]
    fn escaping_symlinks_are_refused() {
        let (repo, ws) = (temp("repo3"), temp("ws3"));
        for bad in ["../x", "/etc/passwd", "a/../../b", ""] {
            let steps = PostCreate {
                symlinks: vec![bad.into()],
                commands: vec![],
            };
            assert!(run(&Ctx::detached(), &repo, &ws, &steps).is_err(), "{bad}");
        }
    }
}
