//! A config problem: where (file, line, column, key path) and what, in one line.

use std::path::PathBuf;

/// One problem (an error, or a warning when it comes from [`super::Config::warnings`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// The key path (`projects.app.sessionPrefix`), empty for the whole file.
    pub path: String,
    /// What is wrong and, where possible, what to write instead.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Where a key path is written, or its nearest written parent (a key may be implied, like an
/// `scm` inferred from `repo`).
pub fn locate_nearest(text: &str, path: &str) -> Option<(usize, usize)> {
    let mut p = path;
    loop {
        if let Some(found) = locate(text, p) {
            return Some(found);
        }
        p = &p[..p.rfind('.')?];
    }
}

/// Finds where a key path is written in block-style YAML: each segment must be a `key:` line
/// indented deeper than its parent, after it. Flow-style maps are not searched (no location).
pub fn locate(text: &str, path: &str) -> Option<(usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut from = 0;
    let mut parent_indent: Option<usize> = None;
    let mut found = None;
    for seg in path.split('.').filter(|s| !s.is_empty()) {
        let mut hit = None;
        // A numeric segment is the n-th `- ` item of the parent's block.
        let mut item = seg.parse::<usize>().ok();
        for (i, line) in lines.iter().enumerate().skip(from) {
            let body = line.trim_start();
            let indent = line.len() - body.len();
            if body.is_empty() || body.starts_with('#') {
                continue;
            }
            if let Some(p) = parent_indent
                && indent <= p
                && !(item.is_some() && indent == p && body.starts_with("- "))
            {
                break; // left the parent's block
            }
            if let Some(n) = item.as_mut() {
                if body.starts_with("- ") {
                    if *n == 0 {
                        hit = Some((i, indent));
                        break;
                    }
                    *n -= 1;
                }
                continue;
            }
            let key = body
                .split(':')
                .next()
                .unwrap_or("")
                .trim()
                .trim_matches(['"', '\'']);
            if key == seg
                && body[key.len()..]
                    .trim_start_matches(['"', '\''])
                    .starts_with(':')
            {
                hit = Some((i, indent));
                break;
            }
        }
        let (i, indent) = hit?;
        found = Some((i + 1, indent + 1));
        from = i + 1;
        parent_indent = Some(indent);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_nested_keys_in_their_own_block() {
        let y = "port: 1\nprojects:\n  web:\n    path: /a\n  app:\n    path: /b\n    agent: x\n";
        assert_eq!(locate(y, "projects.app.agent"), Some((7, 5)));
        assert_eq!(locate(y, "projects.web.agent"), None);
        assert_eq!(locate(y, "port"), Some((1, 1)));
        let l = "projects:\n  app:\n    postCreate:\n      - a\n      - b\n";
        assert_eq!(locate(l, "projects.app.postCreate.1"), Some((5, 7)));
        assert_eq!(locate_nearest(y, "projects.app.scm.plugin"), Some((5, 3)));
    }
}
