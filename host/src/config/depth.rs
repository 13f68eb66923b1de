//! How deep a YAML text nests flow collections (`[…]`, `{…}`), found before the YAML parser
//! sees it: the parser's time grows with the square of that depth (200 KB of `[` took minutes),
//! and no config needs more than a few levels.

/// Deeper than this is refused.
pub const MAX_FLOW_DEPTH: usize = 64;

/// The line and column (1-based) where flow nesting first goes past [`MAX_FLOW_DEPTH`].
///
/// A scanner of YAML's indicators only: quoted scalars and comments are skipped, and in block
/// context a `[` or `{` counts only where a value starts (after indentation, `key: `, `- ` or
/// `? `), since a plain scalar may contain them (`name: a[1]`).
pub fn too_deep(text: &str) -> Option<(usize, usize)> {
    let mut depth = 0usize;
    let (mut line, mut col) = (1usize, 0usize);
    let mut at_value = true;
    let mut quote: Option<char> = None;
    let mut comment = false;
    let mut prev = '\n';
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        col += 1;
        if c == '\n' {
            (line, col) = (line + 1, 0);
            comment = false;
            if quote.is_none() && depth == 0 {
                at_value = true;
            }
            prev = c;
            continue;
        }
        if comment {
            continue;
        }
        if let Some(q) = quote {
            match (q, c) {
                ('"', '\\') => {
                    chars.next();
                    col += 1;
                }
                ('\'', '\'') if chars.peek() == Some(&'\'') => {
                    chars.next();
                    col += 1;
                }
                _ if c == q => quote = None,
                _ => {}
            }
            prev = c;
            continue;
        }
        let spaced = prev == ' ' || prev == '\t' || prev == '\n';
        match c {
            '#' if spaced => comment = true,
            ' ' | '\t' => {}
            '"' | '\''
                if at_value
                    || (depth > 0 && matches!(prev, '[' | '{' | ',' | ':' | ' ' | '\t')) =>
            {
                quote = Some(c);
            }
            '[' | '{' if depth > 0 || at_value => {
                depth += 1;
                if depth > MAX_FLOW_DEPTH {
                    return Some((line, col));
                }
                at_value = false;
            }
            ']' | '}' if depth > 0 => depth -= 1,
            ':' | '-' | '?'
                if depth == 0 && matches!(chars.peek(), Some(' ' | '\t' | '\n') | None) =>
            {
                at_value = true;
            }
            _ if depth == 0 => at_value = false,
            _ => {}
        }
        prev = c;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_flow_nesting_is_found_and_ordinary_configs_pass() {
        let deep = format!("projects: {}{}\n", "[".repeat(65), "]".repeat(65));
        assert_eq!(too_deep(&deep), Some((1, 11 + 64)));
        let ok = format!("projects: {}{}\n", "[".repeat(64), "]".repeat(64));
        assert_eq!(too_deep(&ok), None);
        let maps = format!("a:\n  b: {}1{}\n", "{x: ".repeat(70), "}".repeat(70));
        assert_eq!(too_deep(&maps).map(|(l, _)| l), Some(2));
        // Brackets inside plain scalars, quotes, comments and block scalars are not nesting.
        let text = format!(
            "name: a{}\nq: \"{}\"\ns: '{}'' {}'\n# {}\nrun: |\n  echo {}\nlist: [a, [b], {{c: [d]}}]\n",
            "[".repeat(100),
            "[".repeat(100),
            "{".repeat(50),
            "[".repeat(50),
            "[".repeat(100),
            "[".repeat(100),
        );
        assert_eq!(too_deep(&text), None, "{text}");
    }
}
