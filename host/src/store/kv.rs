//! The metadata file format: one `key=value` per line, UTF-8, ending with a newline.
//!
//! Values are one line: `\` is written `\\` and a newline `\n`. Structured values are compact
//! JSON on that one line. Order is kept, so a rewrite changes only the lines that changed.

/// Why a file is not valid key=value metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corrupt {
    /// 1-based line, when one line is to blame.
    pub line: Option<usize>,
    /// What is wrong.
    pub reason: String,
}

impl std::fmt::Display for Corrupt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "line {l}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

/// Whether `k` may be a key: letters, digits, `_`, `-`, `.`.
pub fn valid_key(k: &str) -> bool {
    !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// Parses a metadata file. A missing final newline means the file was cut short.
pub fn parse(text: &str) -> Result<Vec<(String, String)>, Corrupt> {
    if !text.is_empty() && !text.ends_with('\n') {
        return Err(Corrupt {
            line: None,
            reason: "truncated: no newline at the end".into(),
        });
    }
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |reason: String| Corrupt {
            line: Some(i + 1),
            reason,
        };
        let (k, v) = line.split_once('=').ok_or_else(|| bad("no `=`".into()))?;
        if !valid_key(k) {
            return Err(bad(format!("invalid key `{k}`")));
        }
        if out.iter().any(|(seen, _): &(String, String)| seen == k) {
            return Err(bad(format!("duplicate key `{k}`")));
        }
        out.push((k.to_string(), unescape(v).map_err(bad)?));
    }
    Ok(out)
}

/// Renders pairs as a metadata file.
pub fn render(pairs: &[(String, String)]) -> String {
    let mut s = String::new();
    for (k, v) in pairs {
        debug_assert!(valid_key(k), "invalid key {k}");
        s.push_str(k);
        s.push('=');
        escape_into(v, &mut s);
        s.push('\n');
    }
    s
}

fn escape_into(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

fn unescape(v: &str) -> Result<String, String> {
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(other) => return Err(format!("unknown escape `\\{other}`")),
            None => return Err("a value ends with a lone `\\`".into()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_awkward_values() {
        let pairs = vec![
            (
                "summary".to_string(),
                "line one\nline two\\ with = and # and \r".to_string(),
            ),
            ("empty".to_string(), String::new()),
            ("json".to_string(), r#"{"a":"b\nc"}"#.to_string()),
            ("unicode".to_string(), "naïve – 日本".to_string()),
        ];
        let text = render(&pairs);
        assert_eq!(text.lines().count(), 4);
        assert_eq!(parse(&text).unwrap(), pairs);
    }

    #[test]
    fn reports_what_is_wrong_and_where() {
        assert_eq!(
            parse("a=1").unwrap_err().reason,
            "truncated: no newline at the end"
        );
        assert_eq!(
            parse("a=1\nnonsense\n").unwrap_err().to_string(),
            "line 2: no `=`"
        );
        assert_eq!(
            parse("a b=1\n").unwrap_err().to_string(),
            "line 1: invalid key `a b`"
        );
        assert_eq!(
            parse("a=1\na=2\n").unwrap_err().to_string(),
            "line 2: duplicate key `a`"
        );
        assert_eq!(
            parse("a=x\\q\n").unwrap_err().to_string(),
            "line 1: unknown escape `\\q`"
        );
        assert_eq!(parse("").unwrap(), vec![]);
        assert_eq!(
            parse("# comment\n\nk=v\n").unwrap(),
            vec![("k".into(), "v".into())]
        );
    }
}
