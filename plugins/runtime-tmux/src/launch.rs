//! Turning a launch argv into a tmux `new-session` that runs it without a shell.
//!
//! tmux executes a command given as several arguments directly (execvp), but runs a single
//! argument through `sh -c`, splits its own command line at any argument ending in `;`, and
//! cannot take a command line much over 16 KiB. So: several plain arguments go straight to
//! tmux; anything else (one argument, a trailing `;`, a long prompt) goes through a generated
//! script whose every word is single-quoted, which deletes itself and `exec`s the agent. The
//! environment is always given to tmux (`-e`), never written into the script.

use ao_plugin_api::sdk::{SdkError, command};
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Above this many bytes of argv + environment, use a script (tmux's message limit is 16 KiB).
const DIRECT_LIMIT: usize = 8 * 1024;

/// How the pane's command is given to tmux.
#[derive(Debug)]
pub(crate) enum Launch {
    /// `-e K=V ... -- argv...`
    Direct(Vec<String>),
    /// `-- /bin/sh <script>`; the script is removed by itself or by [`Launch::discard`].
    Script(Vec<String>, PathBuf),
}

impl Launch {
    /// The arguments after `new-session -d -s NAME -x W -y H`.
    pub(crate) fn args(&self) -> &[String] {
        match self {
            Launch::Direct(a) | Launch::Script(a, _) => a,
        }
    }

    /// Removes the script when the session never started.
    pub(crate) fn discard(&self) {
        if let Launch::Script(_, p) = self {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Plans the launch; writes the script into `scratch` when one is needed.
pub(crate) fn plan(
    name: &str,
    argv: &[String],
    env: &BTreeMap<String, String>,
    scratch: &Path,
) -> Result<Launch, SdkError> {
    if argv.is_empty() {
        return Err(SdkError::InvalidParams(
            "the launch command is empty".into(),
        ));
    }
    for k in env.keys() {
        command::check_env_name(k)
            .map_err(|e| SdkError::InvalidParams(format!("invalid environment variable: {e}")))?;
    }
    if argv.iter().chain(env.values()).any(|s| s.contains('\0')) {
        return Err(SdkError::InvalidParams(
            "the launch command or its environment contains a NUL byte".into(),
        ));
    }
    // The environment always travels as `-e` arguments, never in the script: a value may be a
    // secret, and a secret is never written to a file (the script sits on disk until the
    // pane's shell has read it).
    let env_size: usize = env.iter().map(|(k, v)| k.len() + v.len() + 4).sum();
    if env_size > DIRECT_LIMIT {
        return Err(SdkError::InvalidParams(format!(
            "the agent's environment is {env_size} bytes; tmux takes at most {DIRECT_LIMIT} \
             on its command line"
        )));
    }
    let mut args = Vec::new();
    for (k, v) in env {
        let mut kv = format!("{k}={v}");
        // tmux ends a command at an argument ending in `;`, and reads a final `\;` as `;`.
        if kv.ends_with(';') {
            kv.pop();
            kv.push_str("\\;");
        }
        args.extend(["-e".to_string(), kv]);
    }
    args.push("--".into());
    let size = env_size + argv.iter().map(String::len).sum::<usize>();
    let awkward = argv.len() < 2 || argv.iter().any(|a| a.ends_with(';'));
    if !awkward && size <= DIRECT_LIMIT {
        args.extend(argv.iter().cloned());
        return Ok(Launch::Direct(args));
    }
    let path = write_script(name, argv, scratch)?;
    args.extend(["/bin/sh".into(), path.display().to_string()]);
    Ok(Launch::Script(args, path))
}

/// POSIX single-quoting: the only character that needs care inside '...' is ' itself.
pub(crate) fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

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
    fn plain_commands_go_straight_to_tmux() {
        let argv = vec!["claude".to_string(), "--model".into(), "x".into()];
        let l = plan(
            "s",
            &argv,
            &env(&[("AO_SESSION", "app-1")]),
            Path::new("/nonexistent"),
        )
        .unwrap();
        assert!(matches!(l, Launch::Direct(_)));
        assert_eq!(
            l.args(),
            ["-e", "AO_SESSION=app-1", "--", "claude", "--model", "x"]
        );
    }

    #[test]
    fn awkward_commands_go_through_a_quoted_script_that_runs_them_verbatim() {
        let dir = std::env::temp_dir().join(format!("ao-launch-test-{}", std::process::id()));
        let long = "x".repeat(20_000);
        let tricky = "it's $(touch /tmp/ao-canary) `x`;".to_string();
        for argv in [
            vec![
                "printf".to_string(),
                "%s|".into(),
                tricky.clone(),
                long.clone(),
            ],
            vec!["printf".to_string(), "%s|".into(), "a;".into()],
        ] {
            let l = plan("s", &argv, &env(&[("V", "a'b-secret")]), &dir).unwrap();
            let Launch::Script(args, path) = &l else {
                panic!("{l:?}")
            };
            assert_eq!(args[..4], ["-e", "V=a'b-secret", "--", "/bin/sh"]);
            let text = std::fs::read_to_string(path).unwrap();
            assert!(
                !text.contains("secret"),
                "the environment went into the file: {text}"
            );
            let out = std::process::Command::new("/bin/sh")
                .arg(path)
                .output()
                .unwrap();
            let want: String = argv[1..].iter().skip(1).map(|a| format!("{a}|")).collect();
            assert_eq!(String::from_utf8_lossy(&out.stdout), want);
            assert!(!path.exists(), "the script deletes itself");
        }
        let one = plan("s", &["claude".to_string()], &BTreeMap::new(), &dir).unwrap();
        assert!(
            matches!(one, Launch::Script(..)),
            "one argument would go through sh -c"
        );
        one.discard();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_environment_names_are_refused() {
        let argv = vec!["a".to_string(), "b".into()];
        for bad in ["", "1X", "A-B", "A=B", "A B"] {
            assert!(
                plan("s", &argv, &env(&[(bad, "v")]), Path::new("/x")).is_err(),
                "{bad}"
            );
        }
    }
}
