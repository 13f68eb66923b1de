//! HTTP plumbing GitHub's answers need read exactly: `Link` headers (RFC 8288) and where a
//! redirect leads (RFC 3986 reference resolution, for the forms `Location` takes).

/// One link of a `Link` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Link {
    /// The target, as written between `<` and `>`.
    pub(crate) target: String,
    /// The relation types of its first `rel` parameter, lowercased.
    pub(crate) rels: Vec<String>,
}

/// Every link in a `Link` header. A target may hold commas and semicolons, a parameter value
/// may be quoted (with `\` escapes) or bare, `rel` may list several types, and a link that
/// cannot be read is skipped, not allowed to swallow its neighbours.
pub(crate) fn parse(header: &str) -> Vec<Link> {
    let b = header.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    let ws = |c: u8| c == b' ' || c == b'\t';
    while i < b.len() {
        while i < b.len() && (ws(b[i]) || b[i] == b',') {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        if b[i] != b'<' {
            i = past_value(b, i);
            continue;
        }
        let Some(end) = b[i + 1..].iter().position(|&c| c == b'>') else {
            break;
        };
        let target = header[i + 1..i + 1 + end].trim().to_string();
        i += end + 2;
        let mut rels: Option<Vec<String>> = None;
        loop {
            while i < b.len() && ws(b[i]) {
                i += 1;
            }
            if i >= b.len() || b[i] != b';' {
                break;
            }
            i += 1;
            while i < b.len() && ws(b[i]) {
                i += 1;
            }
            let start = i;
            while i < b.len() && !matches!(b[i], b'=' | b';' | b',') && !ws(b[i]) {
                i += 1;
            }
            let name = &header[start..i];
            while i < b.len() && ws(b[i]) {
                i += 1;
            }
            let mut value = String::new();
            if i < b.len() && b[i] == b'=' {
                i += 1;
                while i < b.len() && ws(b[i]) {
                    i += 1;
                }
                if i < b.len() && b[i] == b'"' {
                    i += 1;
                    while i < b.len() && b[i] != b'"' {
                        if b[i] == b'\\' && i + 1 < b.len() {
                            i += 1;
                        }
                        let ch = header[i..].chars().next().unwrap_or(' ');
                        value.push(ch);
                        i += ch.len_utf8();
                    }
                    i += 1;
                } else {
                    let start = i;
                    while i < b.len() && !matches!(b[i], b';' | b',') && !ws(b[i]) {
                        i += 1;
                    }
                    value.push_str(&header[start..i]);
                }
            }
            // Only the first `rel` counts (RFC 8288 §3.3).
            if name.eq_ignore_ascii_case("rel") && rels.is_none() {
                rels = Some(
                    value
                        .split_ascii_whitespace()
                        .map(str::to_ascii_lowercase)
                        .collect(),
                );
            }
        }
        if i < b.len() && b[i] != b',' {
            i = past_value(b, i);
        }
        out.push(Link {
            target,
            rels: rels.unwrap_or_default(),
        });
    }
    out
}

/// The index of the `,` that ends the link-value at `i` (outside quotes and `<…>`), or the end.
fn past_value(b: &[u8], mut i: usize) -> usize {
    let (mut quoted, mut angled) = (false, false);
    while i < b.len() {
        match b[i] {
            b'\\' if quoted => i += 1,
            b'"' if !angled => quoted = !quoted,
            b'<' if !quoted => angled = true,
            b'>' if !quoted => angled = false,
            b',' if !quoted && !angled => return i,
            _ => {}
        }
        i += 1;
    }
    i
}

/// The target of the first link with relation `rel`.
pub(crate) fn find(header: Option<&str>, rel: &str) -> Option<String> {
    parse(header?)
        .into_iter()
        .find(|l| l.rels.iter().any(|r| r == rel))
        .map(|l| l.target)
}

/// `scheme://authority` of an absolute URL, lowercased (hosts compare case-insensitively).
pub(crate) fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(format!("{scheme}://{}", &rest[..end]).to_ascii_lowercase())
}

/// Where a `Location` leads from `base`: absolute, scheme-relative, absolute-path or relative.
/// Only http(s) targets are followed.
pub(crate) fn resolve(base: &str, location: &str) -> Option<String> {
    let location = location.trim();
    let out = if let Some((scheme, _)) = location.split_once("://")
        && !scheme.contains(['/', '?', '#'])
    {
        location.to_string()
    } else if let Some(rest) = location.strip_prefix("//") {
        format!("{}://{rest}", base.split_once("://")?.0)
    } else if location.starts_with('/') {
        format!("{}{location}", origin_as_written(base)?)
    } else {
        let path = base.split(['?', '#']).next()?;
        let dir = &path[..path.rfind('/')? + 1];
        if dir.len() < origin_as_written(base)?.len() + 1 {
            format!("{}/{location}", origin_as_written(base)?)
        } else {
            format!("{dir}{location}")
        }
    };
    let scheme = out.split_once("://")?.0.to_ascii_lowercase();
    (scheme == "https" || scheme == "http").then_some(out)
}

fn origin_as_written(url: &str) -> Option<&str> {
    let (scheme, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&url[..scheme.len() + 3 + end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_read_as_rfc_8288_writes_them() {
        let l = r#"<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=5>; rel="last""#;
        assert_eq!(
            find(Some(l), "next").as_deref(),
            Some("https://api.github.com/x?page=2")
        );
        assert_eq!(
            find(Some(l), "last").as_deref(),
            Some("https://api.github.com/x?page=5")
        );
        assert_eq!(find(Some(r#"<a>; rel="prev""#), "next"), None);
        // Commas and semicolons inside the target, a bare rel, several types, odd case.
        let l = "<https://h/s?q=a,b;c&page=3>; rel=NEXT, <https://h/s?page=1>; rel=\"first prev\"";
        assert_eq!(
            find(Some(l), "next").as_deref(),
            Some("https://h/s?q=a,b;c&page=3")
        );
        assert_eq!(find(Some(l), "prev").as_deref(), Some("https://h/s?page=1"));
        // A quoted title holding `, <evil>; rel="next"` is a parameter, not a link.
        let l =
            r#"<https://h/1>; title="x, <https://evil/>; rel=\"next\"", <https://h/2>; rel="next""#;
        assert_eq!(find(Some(l), "next").as_deref(), Some("https://h/2"));
        // Only the first rel counts; a broken link does not eat the next one.
        let l = r#"<https://h/1>; rel="prev"; rel="next", garbage; rel="next", <https://h/3>; rel="next""#;
        assert_eq!(find(Some(l), "next").as_deref(), Some("https://h/3"));
        assert!(parse("").is_empty());
    }

    #[test]
    fn redirects_resolve_and_origins_compare() {
        let base = "https://GHE.example/api/v3/repos/a/b/issues/1?x=1";
        assert_eq!(
            resolve(base, "/api/v3/repositories/7/issues/1").as_deref(),
            Some("https://GHE.example/api/v3/repositories/7/issues/1")
        );
        assert_eq!(
            resolve(base, "https://other.example/x").as_deref(),
            Some("https://other.example/x")
        );
        assert_eq!(
            resolve(base, "//cdn.example/log").as_deref(),
            Some("https://cdn.example/log")
        );
        assert_eq!(
            resolve(base, "2").as_deref(),
            Some("https://GHE.example/api/v3/repos/a/b/issues/2")
        );
        assert_eq!(resolve(base, "ftp://x/y"), None);
        assert_eq!(
            origin("https://GHE.example/api/v3").as_deref(),
            Some("https://ghe.example")
        );
        assert_ne!(
            origin("http://127.0.0.1:80/x"),
            origin("http://localhost:80/x")
        );
        assert_ne!(origin("https://h/x"), origin("http://h/x"));
    }
}
