//! Turning a launch into the tmux commands that start it, given to tmux on stdin
//! (`tmux start-server ; source-file -`), never on a command line: the agent's environment may
//! hold secrets and its argv a prompt, and `ps` shows every process's argv to every local user.
//! On stdin they also escape tmux's 16 KiB limit on a client's command line.
//!
//! Every word is single-quoted in tmux's command language, where nothing inside '...' is
//! special (`;`, `$`, `~`, `#`, newlines); a `'` is written `'\''`, as in sh. tmux runs a
//! command of a single argument through `sh -c`, so a one-word argv goes through a generated
//! script that deletes itself and `exec`s the agent; the environment is never written into it.

use ao_plugin_api::sdk::tmux::DRAIN_PIPE;
use ao_plugin_api::sdk::{SdkError, command};
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The commands that start a session, and the script they run, if any.
#[derive(Debug)]
pub(crate) struct Launch {
    /// tmux command language, one command per line.
    pub(crate) commands: String,
    script: Option<PathBuf>,
}

impl Launch {
    /// Removes the script when the session never started.
    pub(crate) fn discard(&self) {
        if let Some(p) = &self.script {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// The argv of the tmux client that reads [`Launch::commands`] on its stdin.
pub(crate) const CLIENT_ARGS: [&str; 4] = ["start-server", ";", "source-file", "-"];

/// Plans the launch of `argv` with `env` as session `name` of `size` (columns, rows); writes
/// the script into `scratch` when one is needed. `drain` opens [`DRAIN_PIPE`] on the pane, for
/// a tmux that would otherwise drop the agent's last output.
pub(crate) fn plan(
    name: &str,
    argv: &[String],
    env: &BTreeMap<String, String>,
    size: (u16, u16),
    scratch: &Path,
    drain: bool,
) -> Result<Launch, SdkError> {
    command::check_launch(argv, env)?;
    let mut words: Vec<String> = vec![
        "new-session".into(),
        "-d".into(),
        "-s".into(),
        quote(name),
        "-x".into(),
        size.0.to_string(),
        "-y".into(),
        size.1.to_string(),
    ];
    for (k, v) in env {
        words.extend(["-e".into(), quote(&format!("{k}={v}"))]);
    }
    words.push("--".into());
    let script = if argv.len() < 2 {
        let path = write_script(name, argv, scratch)?;
        words.extend([quote("/bin/sh"), quote(&path.display().to_string())]);
        Some(path)
    } else {
        words.extend(argv.iter().map(|a| quote(a)));
        None
    };
    // Same command queue as new-session, so both apply before the agent can print or exit.
    let target = quote(&format!("={name}:"));
    let mut commands = format!(
        "{}\nset-option -w -t {target} remain-on-exit on\n",
        words.join(" ")
    );
    if drain {
        commands.push_str(&format!("pipe-pane -t {target} {}\n", quote(DRAIN_PIPE)));
    }
    Ok(Launch { commands, script })
}

/// Single-quoting, for sh and for tmux's command language alike: the only character that
/// needs care inside '...' is ' itself.
pub(crate) use ao_plugin_api::sdk::tmux::quote;

fn write_script(name: &str, argv: &[String], scratch: &Path) -> Result<PathBuf, SdkError> {
    std::fs::create_dir_all(scratch)
        .map_err(|e| SdkError::Internal(format!("cannot create {}: {e}", scratch.display())))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let path = scratch.join(format!("ao-launch-{name}-{nanos}.sh"));
    let mut text = format!(
        "#!/bin/sh\n# Written by ao to start tmux session {name}; it deletes itself.\nrm -f -- \"$0\"\n"
    );
    text.push_str("exec");
    for word in argv {
        text.push(' ');
        text.push_str(&quote(word));
    }
    text.push('\n');
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o700)
        .open(&path)
        .map_err(|e| SdkError::Internal(format!("cannot write {}: {e}", path.display())))?;
    file.write_all(text.as_bytes())
        .map_err(|e| SdkError::Internal(format!("cannot write {}: {e}", path.display())))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_word_is_quoted_and_nothing_goes_to_a_file() {
        let argv = vec!["claude".to_string(), "it's;\n$HOME ~ #x".into()];
        let l = plan(
            "s",
            &argv,
            &env(&[("AO_SESSION", "app-1"), ("K", "v;")]),
            (200, 50),
            Path::new("/nonexistent"),
            true,
        )
        .unwrap();
        assert_eq!(
            l.commands,
            "new-session -d -s 's' -x 200 -y 50 -e 'AO_SESSION=app-1' -e 'K=v;' -- 'claude' \
             'it'\\''s;\n$HOME ~ #x'\nset-option -w -t '=s:' remain-on-exit on\n\
             pipe-pane -t '=s:' 'exec cat >/dev/null'\n"
        );
        assert!(l.script.is_none());
    }

    #[test]
    fn a_one_word_command_goes_through_a_script_that_runs_it_verbatim_without_the_env() {
        let dir = std::env::temp_dir().join(format!("ao-launch-test-{}", std::process::id()));
        let l = plan(
            "s",
            &["true".to_string()],
            &env(&[("V", "a'b-secret")]),
            (80, 24),
            &dir,
            false,
        )
        .unwrap();
        let path = l.script.clone().expect("a script");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains("secret"),
            "the environment went into the file: {text}"
        );
        assert!(
            l.commands.contains("-e 'V=a'\\''b-secret'"),
            "{}",
            l.commands
        );
        let out = std::process::Command::new("/bin/sh")
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success());
        assert!(!path.exists(), "the script deletes itself");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_environment_names_are_refused() {
        let argv = vec!["a".to_string(), "b".into()];
        for bad in ["", "1X", "A-B", "A=B", "A B"] {
            assert!(
                plan(
                    "s",
                    &argv,
                    &env(&[(bad, "v")]),
                    (80, 24),
                    Path::new("/x"),
                    false
                )
                .is_err(),
                "{bad}"
            );
        }
    }
}
