//! Names as users write them: `owner/name`, `42` / `#42` / URLs, and branch names from titles.

use ao_plugin_api::sdk::SdkError;

/// A validated `owner/name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Repo {
    pub(crate) owner: String,
    pub(crate) name: String,
}

impl Repo {
    pub(crate) fn parse(s: &str) -> Result<Self, SdkError> {
        let ok = |p: &str| {
            !p.is_empty()
                && p.len() <= 100
                && p != "."
                && p != ".."
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        match s.trim().split_once('/') {
            Some((o, n)) if ok(o) && ok(n) => Ok(Self {
                owner: o.into(),
                name: n.trim_end_matches(".git").into(),
            }),
            _ => Err(SdkError::InvalidParams(format!(
                "`{s}` is not a GitHub repository: write it as owner/name"
            ))),
        }
    }

    pub(crate) fn full(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }
}

/// Percent-encodes `s` for a URL path segment or query value, leaving unreserved characters
/// and those in `keep` (`/` inside a branch path, `,` between labels) as they are.
pub(crate) fn escape(s: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || keep.contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `42`, `#42`, or a URL ending in `/issues/42` or `/pull/42` → 42 (and the URL's repo).
pub(crate) fn number(reference: &str, kind: &str) -> Result<(u64, Option<Repo>), SdkError> {
    let r = reference.trim();
    if let Some(n) = r
        .strip_prefix('#')
        .unwrap_or(r)
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
    {
        return Ok((n, None));
    }
    let parts: Vec<&str> = r.trim_end_matches('/').rsplitn(5, '/').collect();
    // [number, "issues"|"pull"|"pulls", name, owner, rest]
    if let [n, marker, name, owner, ..] = parts.as_slice()
        && matches!(*marker, "issues" | "pull" | "pulls")
        && let Ok(n) = n.split(['#', '?']).next().unwrap_or("").parse::<u64>()
        && r.starts_with("http")
    {
        let repo = Repo::parse(&format!("{owner}/{name}")).ok();
        return Ok((n, repo));
    }
    Err(SdkError::InvalidParams(format!(
        "`{reference}` is not a GitHub {kind}: use 42, #42 or its URL"
    )))
}

/// `feat/42-fix-login-redirect`: the prefix, the number and up to ~40 characters of the title.
pub(crate) fn branch_for(prefix: &str, number: u64, title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= 40 {
            break;
        }
    }
    // Cut at the last whole word when the title was long.
    if slug.len() >= 40
        && let Some(i) = slug.rfind('-')
    {
        slug.truncate(i);
    }
    let slug = slug.trim_matches('-');
    if slug.is_empty() {
        format!("{prefix}/{number}")
    } else {
        format!("{prefix}/{number}-{slug}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repos_numbers_and_branches() {
        assert_eq!(Repo::parse("acme/app.git").unwrap().full(), "acme/app");
        for bad in ["acme", "acme/", "/app", "ac me/app", "a/b/c", "../x"] {
            assert!(Repo::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(number("42", "issue").unwrap(), (42, None));
        assert_eq!(number("#7", "issue").unwrap(), (7, None));
        let (n, repo) = number(
            "https://github.com/acme/app/pull/9#discussion",
            "pull request",
        )
        .unwrap();
        assert_eq!((n, repo.unwrap().full()), (9, "acme/app".into()));
        assert_eq!(
            number("ENG-7", "issue").unwrap_err().to_string(),
            "`ENG-7` is not a GitHub issue: use 42, #42 or its URL"
        );
        assert_eq!(
            branch_for("feat", 42, "Fix login: redirect loop!"),
            "feat/42-fix-login-redirect-loop"
        );
        assert_eq!(branch_for("feat", 3, "✓✓✓"), "feat/3");
        let long = branch_for(
            "feat",
            1,
            "Make the dashboard's session page show every reaction decision",
        );
        assert_eq!(long, "feat/1-make-the-dashboard-s-session-page-show");
        ao_plugin_api::sdk::git::check_branch_name(&long).unwrap();
    }
}
