//! YAML text → [`RawConfig`], with errors that say where and suggest the key meant.

use crate::config::model::RawConfig;
use crate::config::problem::{Problem, locate};
use crate::error::did_you_mean;
use std::path::Path;

/// Parses the file's text. Pure: no I/O.
pub(super) fn parse(file: &Path, text: &str) -> Result<RawConfig, Problem> {
    let problem = |line, column, path: String, message: String| Problem {
        file: file.to_path_buf(),
        line,
        column,
        path,
        message,
    };
    if text.trim().is_empty()
        || text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Err(problem(
            None,
            None,
            String::new(),
            "the file is empty: it needs at least a `projects:` map".into(),
        ));
    }
    if let Some((line, column)) = super::depth::too_deep(text) {
        return Err(problem(
            Some(line),
            Some(column),
            String::new(),
            format!(
                "flow collections (`[`, `{{`) nest more than {} levels deep here: flatten them",
                super::depth::MAX_FLOW_DEPTH
            ),
        ));
    }
    let de = serde_yaml_ng::Deserializer::from_str(text);
    match serde_path_to_error::deserialize::<_, RawConfig>(de) {
        Ok(raw) => Ok(raw),
        Err(e) => {
            // serde_path_to_error's path ends at the offending key; `?` marks a key it could
            // not read (a syntax error), which we drop.
            let path = e.path().to_string();
            let path = path
                .split(".?")
                .next()
                .unwrap_or("")
                .trim_start_matches('?')
                .to_string();
            let path = if path == "." { String::new() } else { path };
            let inner = e.into_inner();
            let loc = inner.location();
            let raw_message = inner.to_string();
            let message = strip_path_prefix(&strip_location(&raw_message), &path);
            let (message, key) = rewrite(&message);
            let full_path = path;
            let spot = key.as_ref().and_then(|_| locate(text, &full_path));
            let (line, column) = match (spot, loc) {
                (Some((l, c)), _) => (Some(l), Some(c)),
                (None, Some(l)) => (Some(l.line()), Some(l.column())),
                (None, None) => (None, None),
            };
            Err(problem(line, column, full_path, message))
        }
    }
}

/// serde_yaml_ng adds " at line L column C" (at the end or mid-sentence); we print the
/// location ourselves.
fn strip_location(m: &str) -> String {
    let mut out = m.to_string();
    while let Some(i) = out.find(" at line ") {
        let rest = &out[i + " at line ".len()..];
        let Some(col) = rest.find(" column ") else {
            break;
        };
        let after = &rest[col + " column ".len()..];
        let digits = after.chars().take_while(char::is_ascii_digit).count();
        let end = i + " at line ".len() + col + " column ".len() + digits;
        out.replace_range(i..end, "");
    }
    out
}

/// serde_yaml_ng starts messages with the path of the enclosing map (`projects.app: …`); we
/// print the full path ourselves.
fn strip_path_prefix(m: &str, path: &str) -> String {
    if let Some((head, tail)) = m.split_once(": ")
        && !head.contains(' ')
        && (path == head || path.starts_with(&format!("{head}.")))
    {
        return tail.to_string();
    }
    m.to_string()
}

/// Turns serde's wording into ours. Returns the message and, for an unknown key, the key.
fn rewrite(m: &str) -> (String, Option<String>) {
    if let Some(rest) = m.strip_prefix("unknown field `") {
        let (field, tail) = rest.split_once('`').unwrap_or((rest, ""));
        let expected: Vec<&str> = tail.split('`').skip(1).step_by(2).collect();
        let hint = did_you_mean(field, expected.iter().copied());
        let message = if hint.is_empty() {
            format!(
                "unknown key `{field}` (valid keys: {})",
                expected.join(", ")
            )
        } else {
            format!("unknown key `{field}`{hint}")
        };
        return (message, Some(field.to_string()));
    }
    if let Some(rest) = m.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or(rest);
        return (format!("missing key `{field}`"), None);
    }
    if let Some(rest) = m.strip_prefix("unknown variant `") {
        let (value, tail) = rest.split_once('`').unwrap_or((rest, ""));
        let expected: Vec<&str> = tail.split('`').skip(1).step_by(2).collect();
        let hint = did_you_mean(value, expected.iter().copied());
        let message = if hint.is_empty() {
            format!("`{value}` is not one of: {}", expected.join(", "))
        } else {
            format!("`{value}` is not allowed{hint}")
        };
        return (message, None);
    }
    if m.contains("while parsing a block mapping") || m.contains("mapping values are not allowed") {
        return (format!("bad indentation or a missing `:` ({m})"), None);
    }
    if let Some(head) = m
        .strip_suffix(", expected u16")
        .or_else(|| m.strip_suffix(", expected u32"))
    {
        return (format!("{head}, expected a whole number"), None);
    }
    if m.starts_with("data did not match any variant of untagged enum PostCreateStep") {
        return (
            "a step is a command line, a list of arguments, or {run: ..., shell: true}".into(),
            None,
        );
    }
    if m.starts_with("data did not match any variant of untagged enum EscalateAfter") {
        return (
            "write a number of attempts (2) or a duration (30m)".into(),
            None,
        );
    }
    (m.to_string(), None)
}
