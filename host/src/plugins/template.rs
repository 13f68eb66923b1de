//! `ao plugins new`: renders `sdk-template/` (embedded in the binary) for a new plugin crate.
//!
//! The template is a cargo-generate template. It uses only a small subset of Liquid —
//! `{{ var }}` and `{% if var == "x" %} / {% elsif %} / {% else %} / {% endif %}` — which this
//! module renders exactly as Liquid does (tags vanish, surrounding text stays byte for byte), so
//! `ao plugins new` and `cargo generate` produce identical files. A test checks that against the
//! real cargo-generate. Anything outside the subset is an error, not silently passed through.

use crate::Error;
use ao_plugin_api::manifest::Slot;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The template's files (path relative to the crate root, contents).
pub const FILES: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        include_str!("../../../sdk-template/Cargo.toml"),
    ),
    ("README.md", include_str!("../../../sdk-template/README.md")),
    (
        ".gitignore",
        include_str!("../../../sdk-template/.gitignore"),
    ),
    (
        "src/lib.rs",
        include_str!("../../../sdk-template/src/lib.rs"),
    ),
    (
        "tests/smoke.rs",
        include_str!("../../../sdk-template/tests/smoke.rs"),
    ),
];

/// What to generate.
#[derive(Debug, Clone)]
pub struct NewPlugin {
    /// Crate and plugin name, `[a-z][a-z0-9-]*`.
    pub name: String,
    /// Its slot.
    pub slot: Slot,
    /// One line.
    pub description: String,
    /// A local `plugin-api` checkout to patch in (writes `.cargo/config.toml`).
    pub api_path: Option<PathBuf>,
}

/// Writes the new crate into `dest` (which must not exist or be empty). Returns the files made.
pub fn generate(dest: &Path, p: &NewPlugin) -> Result<Vec<PathBuf>, Error> {
    let ok_name = p.name.starts_with(|c: char| c.is_ascii_lowercase())
        && p.name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !p.name.ends_with('-');
    if !ok_name {
        return Err(Error::Invalid(format!(
            "plugin name `{}` must be lowercase letters, digits and dashes, starting with a letter",
            p.name
        )));
    }
    if dest.exists()
        && std::fs::read_dir(dest)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(Error::Invalid(format!(
            "{} already exists and is not empty",
            dest.display()
        )));
    }
    let vars = BTreeMap::from([
        ("project-name", p.name.clone()),
        ("crate_name", p.name.replace('-', "_")),
        ("slot", p.slot.as_str().to_string()),
        ("description", p.description.clone()),
    ]);
    let mut rendered = Vec::new();
    for (rel, text) in FILES {
        let out =
            render(text, &vars).map_err(|e| Error::Invalid(format!("template {rel}: {e}")))?;
        rendered.push((dest.join(rel), out));
    }
    if let Some(api) = &p.api_path {
        let api = api
            .canonicalize()
            .map_err(|e| Error::io("could not find", api, e))?;
        if !api.join("Cargo.toml").is_file() {
            return Err(Error::Invalid(format!(
                "{} has no Cargo.toml: pass the plugin-api directory",
                api.display()
            )));
        }
        let path = api
            .display()
            .to_string()
            .replace('\\', "\\\\")
            .replace('"', "\\\"");
        rendered.push((
            dest.join(".cargo/config.toml"),
            format!("[patch.crates-io]\nao-plugin-api = {{ path = \"{path}\" }}\n"),
        ));
    }
    let mut made = Vec::new();
    for (path, text) in rendered {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io("could not create", dir, e))?;
        }
        std::fs::write(&path, text).map_err(|e| Error::io("could not write", &path, e))?;
        made.push(path);
    }
    Ok(made)
}

/// Renders the Liquid subset described in the module docs.
pub fn render(text: &str, vars: &BTreeMap<&str, String>) -> Result<String, String> {
    // One frame per open `if`: (this branch is active, some branch already matched, parent active).
    let mut frames: Vec<(bool, bool, bool)> = Vec::new();
    let active = |frames: &Vec<(bool, bool, bool)>| frames.last().is_none_or(|f| f.0 && f.2);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let next = [rest.find("{{"), rest.find("{%")]
            .into_iter()
            .flatten()
            .min();
        let Some(start) = next else {
            if active(&frames) {
                out.push_str(rest);
            }
            break;
        };
        if active(&frames) {
            out.push_str(&rest[..start]);
        }
        let is_output = rest[start..].starts_with("{{");
        let close = if is_output { "}}" } else { "%}" };
        let body_start = start + 2;
        let end = rest[body_start..].find(close).ok_or("unclosed tag")? + body_start;
        let body = rest[body_start..end].trim();
        rest = &rest[end + 2..];
        if is_output {
            if active(&frames) {
                out.push_str(
                    vars.get(body)
                        .ok_or_else(|| format!("unknown variable `{body}`"))?,
                );
            }
            continue;
        }
        let mut words = body.split_whitespace();
        match words.next() {
            Some("if") => {
                let parent = active(&frames);
                let cond = condition(words.collect::<Vec<_>>(), vars)?;
                frames.push((cond, cond, parent));
            }
            Some("elsif") => {
                let cond = condition(words.collect::<Vec<_>>(), vars)?;
                let f = frames.last_mut().ok_or("`elsif` without `if`")?;
                f.0 = !f.1 && cond;
                f.1 |= cond;
            }
            Some("else") => {
                let f = frames.last_mut().ok_or("`else` without `if`")?;
                f.0 = !f.1;
                f.1 = true;
            }
            Some("endif") => {
                frames.pop().ok_or("`endif` without `if`")?;
            }
            other => return Err(format!("unsupported tag `{}`", other.unwrap_or(""))),
        }
    }
    if !frames.is_empty() {
        return Err("`if` without `endif`".into());
    }
    Ok(out)
}

fn condition(words: Vec<&str>, vars: &BTreeMap<&str, String>) -> Result<bool, String> {
    match words.as_slice() {
        [var, "==", lit] if lit.len() >= 2 && lit.starts_with('"') && lit.ends_with('"') => {
            let value = vars
                .get(var)
                .ok_or_else(|| format!("unknown variable `{var}`"))?;
            Ok(value == &lit[1..lit.len() - 1])
        }
        _ => Err(format!("unsupported condition `{}`", words.join(" "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> BTreeMap<&'static str, String> {
        BTreeMap::from([
            ("slot", "tracker".to_string()),
            ("project-name", "acme".to_string()),
        ])
    }

    #[test]
    fn renders_variables_and_branches_like_liquid() {
        let t = "a {{project-name}}\n{% if slot == \"notifier\" %}N\n{% elsif slot == \"tracker\" %}T\n{% else %}E\n{% endif %}z";
        assert_eq!(render(t, &vars()).unwrap(), "a acme\nT\nz");
        let t = "{% if slot == \"x\" %}{% if slot == \"tracker\" %}no{% endif %}{% else %}yes{% endif %}";
        assert_eq!(render(t, &vars()).unwrap(), "yes");
    }

    #[test]
    fn rejects_what_it_cannot_render_faithfully() {
        assert!(
            render("{{ nope }}", &vars())
                .unwrap_err()
                .contains("unknown variable")
        );
        assert!(
            render("{% for x in y %}", &vars())
                .unwrap_err()
                .contains("unsupported tag")
        );
        assert!(render("{% if slot %}x{% endif %}", &vars()).is_err());
        assert!(
            render("{% if slot == \"a\" %}", &vars())
                .unwrap_err()
                .contains("endif")
        );
    }

    #[test]
    fn every_template_file_renders_for_every_slot() {
        for slot in Slot::ALL {
            let vars = BTreeMap::from([
                ("project-name", "acme-thing".to_string()),
                ("crate_name", "acme_thing".to_string()),
                ("slot", slot.as_str().to_string()),
                ("description", "d".to_string()),
            ]);
            for (rel, text) in FILES {
                let out = render(text, &vars).unwrap_or_else(|e| panic!("{rel}: {e}"));
                assert!(
                    !out.contains("{%") && !out.contains("{{"),
                    "{rel} for {slot}"
                );
            }
        }
    }
}
