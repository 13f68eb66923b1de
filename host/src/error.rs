//! The host library's error type. Messages are one line, lowercase, and name what to fix.

use ao_plugin_api::abi::ErrorCode;
use std::path::PathBuf;

/// Everything the host library can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A plugin file was refused before or while loading.
    #[error("{}: {reason}", path.display())]
    PluginRejected {
        /// The library.
        path: PathBuf,
        /// One line saying why and what to do.
        reason: String,
    },
    /// No loaded plugin provides this component.
    #[error("no plugin provides `{component}`{hint}")]
    ComponentNotFound {
        /// `slot/name`.
        component: String,
        /// ": did you mean …?" or empty.
        hint: String,
    },
    /// No plugin with this name was found.
    #[error("no plugin named `{name}`{hint}")]
    PluginNotFound {
        /// The name asked for.
        name: String,
        /// ": did you mean …?" or empty.
        hint: String,
    },
    /// A plugin call failed.
    #[error("{component} `{method}`: {message}")]
    PluginCall {
        /// `slot/name`.
        component: String,
        /// The protocol method.
        method: String,
        /// The plugin's (or the host's) error code.
        code: ErrorCode,
        /// What happened.
        message: String,
        /// Whether trying again later may help.
        retryable: bool,
    },
    /// The config file has problems (all of them, in file order).
    #[error("{}{}", problems.first().map(|p| p.to_string()).unwrap_or_default(), if problems.len() > 1 { format!(" (and {} more: run `ao config check`)", problems.len() - 1) } else { String::new() })]
    Config {
        /// Every problem found.
        problems: Vec<crate::config::Problem>,
    },
    /// A stored file is not valid; it is reported and left alone, never overwritten.
    #[error("{}: corrupt: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Input from the user that cannot be used.
    #[error("{0}")]
    Invalid(String),
    /// The agent died (or its runtime session vanished) before it showed any sign of life.
    #[error("{}", launch_failed(agent, why, last_lines))]
    LaunchFailed {
        /// The agent plugin.
        agent: String,
        /// What the runtime saw ("the agent exited with status 1").
        why: String,
        /// The CLI's own last lines on screen.
        last_lines: Vec<String>,
    },
    /// The user interrupted the operation (Ctrl-C, SIGTERM); what it made was undone.
    #[error("interrupted")]
    Interrupted,
    /// A file-system operation failed.
    #[error("{action} {}: {why}", path.display())]
    Io {
        /// What we were doing ("could not read").
        action: &'static str,
        /// On what.
        path: PathBuf,
        /// Why. Not the error's `source()`: the message already says it, and a chain printer
        /// would say it twice ("No such file or directory (os error 2): No such file…").
        why: std::io::Error,
    },
}

impl Error {
    /// A file-system error with the path and what we were doing.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            why: source,
        }
    }

    /// The plugin error code, when this is a plugin call failure.
    pub fn plugin_code(&self) -> Option<ErrorCode> {
        match self {
            Error::PluginCall { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// One line saying what happened, then what the CLI said, quoted: its words name the fix.
fn launch_failed(agent: &str, why: &str, last: &[String]) -> String {
    let mut out = format!("the `{agent}` agent did not start: {why}");
    if last.is_empty() {
        out.push_str(" (it printed nothing)");
    } else {
        out.push_str("; its last lines:");
        for l in last {
            out.push_str("\n  │ ");
            out.push_str(l);
        }
    }
    out
}

/// `: did you mean `x`?` for the closest candidate, or an empty string.
pub fn did_you_mean<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let best = candidates
        .into_iter()
        .map(|c| (strsim_distance(wanted, c), c))
        .filter(|(d, c)| *d <= (c.len().max(wanted.len()) / 3).max(2))
        .min_by_key(|(d, _)| *d);
    match best {
        Some((_, c)) => format!(": did you mean `{c}`?"),
        None => String::new(),
    }
}

/// Levenshtein distance; inputs are short names, so the quadratic table is fine.
fn strsim_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_nearest_name_only_when_close() {
        let names = ["notifier/webhook", "notifier/slack", "runtime/tmux"];
        assert_eq!(
            did_you_mean("notifier/webhok", names),
            ": did you mean `notifier/webhook`?"
        );
        assert_eq!(did_you_mean("tracker/linear", names), "");
    }
}
