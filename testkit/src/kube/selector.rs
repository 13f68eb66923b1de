//! Label selectors as the API server reads `?labelSelector=`: equality (`a=b`, `a==b`,
//! `a!=b`), set-based (`a in (x,y)`, `a notin (x)`), existence (`a`, `!a`), comma-separated,
//! all of them required.

use std::collections::BTreeMap;

/// One requirement.
#[derive(Debug, Clone, PartialEq)]
enum Req {
    Eq(String, String),
    Ne(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    Absent(String),
}

/// A parsed selector.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Selector(Vec<Req>);

impl Selector {
    /// Parses a selector; the error is the API server's kind of message.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut reqs = Vec::new();
        for part in split_top(text) {
            let p = part.trim();
            if p.is_empty() {
                continue;
            }
            let bad = || format!("unable to parse requirement: {p:?}");
            let req = if let Some(k) = p.strip_prefix('!') {
                Req::Absent(key(k.trim()).ok_or_else(bad)?)
            } else if let Some((k, v)) = p.split_once("!=") {
                Req::Ne(
                    key(k.trim()).ok_or_else(bad)?,
                    value(v.trim()).ok_or_else(bad)?,
                )
            } else if let Some((k, v)) = p.split_once("==").or_else(|| p.split_once('=')) {
                Req::Eq(
                    key(k.trim()).ok_or_else(bad)?,
                    value(v.trim()).ok_or_else(bad)?,
                )
            } else if let Some((k, set)) = p.split_once(" notin ") {
                Req::NotIn(key(k.trim()).ok_or_else(bad)?, values(set).ok_or_else(bad)?)
            } else if let Some((k, set)) = p.split_once(" in ") {
                Req::In(key(k.trim()).ok_or_else(bad)?, values(set).ok_or_else(bad)?)
            } else {
                Req::Exists(key(p).ok_or_else(bad)?)
            };
            reqs.push(req);
        }
        Ok(Self(reqs))
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|r| match r {
            Req::Eq(k, v) => labels.get(k) == Some(v),
            Req::Ne(k, v) => labels.get(k) != Some(v),
            Req::In(k, vs) => labels.get(k).is_some_and(|l| vs.contains(l)),
            Req::NotIn(k, vs) => labels.get(k).is_none_or(|l| !vs.contains(l)),
            Req::Exists(k) => labels.contains_key(k),
            Req::Absent(k) => !labels.contains_key(k),
        })
    }
}

/// Splits at commas outside parentheses.
fn split_top(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

fn values(set: &str) -> Option<Vec<String>> {
    let inner = set.trim().strip_prefix('(')?.strip_suffix(')')?;
    inner.split(',').map(|v| value(v.trim())).collect()
}

/// A label key: `[prefix/]name`, name ≤ 63 of `[A-Za-z0-9._-]` starting and ending alphanumeric.
pub fn key(k: &str) -> Option<String> {
    let name = match k.rsplit_once('/') {
        Some((prefix, name)) => {
            let ok = !prefix.is_empty()
                && prefix.len() <= 253
                && prefix
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
            if !ok {
                return None;
            }
            name
        }
        None => k,
    };
    (!name.is_empty() && value(name).is_some()).then(|| k.to_string())
}

/// A label value: empty, or ≤ 63 of `[A-Za-z0-9._-]` starting and ending alphanumeric.
pub fn value(v: &str) -> Option<String> {
    let ok = v.is_empty()
        || (v.len() <= 63
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && v.starts_with(|c: char| c.is_ascii_alphanumeric())
            && v.ends_with(|c: char| c.is_ascii_alphanumeric()));
    ok.then(|| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn selectors_match_as_the_api_server_reads_them() {
        let l = labels(&[("ao.dev/instance", "abc"), ("ao.dev/session", "app-1")]);
        for (sel, want) in [
            ("ao.dev/instance=abc", true),
            ("ao.dev/instance==abc,ao.dev/session=app-1", true),
            ("ao.dev/instance=abd", false),
            ("ao.dev/instance!=abd", true),
            ("ao.dev/session in (app-1,app-2)", true),
            ("ao.dev/session notin (app-1)", false),
            ("ao.dev/session", true),
            ("!ao.dev/session", false),
            ("!other", true),
            ("", true),
        ] {
            assert_eq!(Selector::parse(sel).unwrap().matches(&l), want, "{sel}");
        }
        assert!(Selector::parse("a=b c").is_err());
        assert!(Selector::parse("Bad_Prefix/x=1").is_err());
        assert!(value(&"x".repeat(64)).is_none());
    }
}
