//! Splitting a post-create command line into an argument vector without a shell.

/// Splits a command line the way a POSIX shell splits words (quotes and backslashes), without
/// expanding anything: `$HOME`, `;` and `|` stay literal arguments.
pub fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => cur.push(x),
                        None => return Err(format!("unclosed single quote in `{line}`")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(x @ ('"' | '\\' | '$' | '`')) => cur.push(x),
                            Some(x) => {
                                cur.push('\\');
                                cur.push(x);
                            }
                            None => return Err(format!("unclosed double quote in `{line}`")),
                        },
                        Some(x) => cur.push(x),
                        None => return Err(format!("unclosed double quote in `{line}`")),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(x) = chars.next() {
                    cur.push(x);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_split_like_a_shell_without_expanding() {
        assert_eq!(split_words("npm install").unwrap(), ["npm", "install"]);
        assert_eq!(
            split_words(r#"sh -c 'echo $HOME; rm -rf /' "a b" c\ d"#).unwrap(),
            ["sh", "-c", "echo $HOME; rm -rf /", "a b", "c d"]
        );
        assert_eq!(
            split_words(r#"echo "say \"hi\" $x""#).unwrap(),
            ["echo", "say \"hi\" $x"]
        );
        assert!(split_words("echo 'oops").is_err());
        assert_eq!(split_words("  ").unwrap(), Vec::<String>::new());
    }
}
