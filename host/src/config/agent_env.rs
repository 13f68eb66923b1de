//! What a project's agents get besides their plugin's launch command: `env` (merged
//! defaults ← project ← the project's `agentConfig`), `passEnv` (names copied from `ao`'s own
//! environment) and `extraArgs` (appended to the argv). Checked when the config loads;
//! resolved at every spawn and restore from `ao`'s environment, in memory only: a resolved
//! value is never written to a file or a log.

use super::secrets::expand_str;
use ao_plugin_api::sdk::command::check_env_name;
use std::collections::BTreeMap;

/// At most this many extra arguments…
pub const MAX_ARGS: usize = 64;
/// …each at most this long…
pub const MAX_ARG_BYTES: usize = 4 * 1024;
/// …and this long together (the runtime's command line has limits of its own).
pub const MAX_ARGS_TOTAL: usize = 16 * 1024;
/// The longest value a variable may have in the config.
pub const MAX_VALUE_BYTES: usize = 8 * 1024;

/// A project's agent environment and arguments as configured (values unresolved).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentEnv {
    /// `defaults.env` ← the project's `env`; values may hold `${NAME}`.
    pub env: BTreeMap<String, String>,
    /// `defaults.passEnv` and the project's `passEnv`.
    pub pass_env: Vec<String>,
    /// The project's `agentConfig.env`: for the project's own agent only.
    pub agent_env: BTreeMap<String, String>,
    /// The project's `agentConfig.passEnv`: for the project's own agent only.
    pub agent_pass_env: Vec<String>,
    /// The project's `agentConfig.extraArgs`: for the project's own agent only (another
    /// agent chosen with `--agent` would not know its flags).
    pub extra_args: Vec<String>,
}

impl AgentEnv {
    /// The variables for an agent's process. `own_agent`: the agent is the project's own
    /// (its `agentConfig` applies). Passed-through names come first, then `env` over them,
    /// each `${NAME}` looked up with `lookup`; `Err` names the variable that is not set.
    pub fn resolve(
        &self,
        own_agent: bool,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<BTreeMap<String, String>, String> {
        let mut out = BTreeMap::new();
        let names = self.pass_env.iter().chain(
            own_agent
                .then_some(&self.agent_pass_env)
                .into_iter()
                .flatten(),
        );
        for name in names {
            // Not set in ao's environment: nothing to pass, as with a shell's `env`.
            if let Some(v) = lookup(name) {
                out.insert(name.clone(), v);
            }
        }
        let envs = std::iter::once(&self.env).chain(own_agent.then_some(&self.agent_env));
        for env in envs {
            for (k, v) in env {
                let value = expand_str(v, lookup).map_err(|e| format!("env `{k}`: {e}"))?;
                out.insert(k.clone(), value);
            }
        }
        Ok(out)
    }

    /// The arguments appended to the agent's argv.
    pub fn args(&self, own_agent: bool) -> &[String] {
        if own_agent { &self.extra_args } else { &[] }
    }
}

/// Checks the name of a variable to set or pass: plain, and none of `ao`'s own.
pub fn check_name(name: &str) -> Result<(), String> {
    check_env_name(name)?;
    if name.starts_with("AO_") {
        return Err(format!(
            "`{name}` is set by ao for every session (AO_* names are reserved)"
        ));
    }
    Ok(())
}

/// Checks a value: no NUL, bounded, and every `${NAME}` well formed.
pub fn check_value(v: &str) -> Result<(), String> {
    if v.contains('\0') {
        return Err("contains a NUL byte".into());
    }
    if v.len() > MAX_VALUE_BYTES {
        return Err(format!("longer than {MAX_VALUE_BYTES} bytes"));
    }
    let mut rest = v;
    while let Some(start) = rest.find("${") {
        let tail = &rest[start + 2..];
        let Some(end) = tail.find('}') else {
            return Err("`${` without its `}`".into());
        };
        let name = &tail[..end];
        // Any variable of ao's environment may be read, AO_* ones included.
        check_env_name(name).map_err(|e| format!("in `${{{name}}}`: {e}"))?;
        rest = &tail[end + 1..];
    }
    Ok(())
}

/// Problems of a list of extra arguments, as `(index or None for the list, message)`.
pub fn check_args(args: &[String]) -> Vec<(Option<usize>, String)> {
    let mut out = Vec::new();
    if args.len() > MAX_ARGS {
        out.push((None, format!("at most {MAX_ARGS} arguments")));
    }
    let total: usize = args.iter().map(String::len).sum();
    if total > MAX_ARGS_TOTAL {
        out.push((
            None,
            format!("{total} bytes in all; at most {MAX_ARGS_TOTAL}"),
        ));
    }
    for (i, a) in args.iter().enumerate() {
        if a.contains('\0') {
            out.push((Some(i), "contains a NUL byte".into()));
        } else if a.len() > MAX_ARG_BYTES {
            out.push((Some(i), format!("longer than {MAX_ARG_BYTES} bytes")));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn layers_merge_and_references_resolve_from_aos_environment() {
        let e = AgentEnv {
            env: env(&[("BASE", "http://${HOST}:8080"), ("MODE", "project")]),
            pass_env: vec!["HOME_DIR".into(), "UNSET".into()],
            agent_env: env(&[("MODE", "agent"), ("KEY", "${SECRET}")]),
            agent_pass_env: vec!["EXTRA".into()],
            extra_args: vec!["--verbose".into()],
        };
        let lookup = |n: &str| match n {
            "HOST" => Some("127.0.0.1".to_string()),
            "SECRET" => Some("s3cr3t".into()),
            "HOME_DIR" => Some("/home/u".into()),
            "EXTRA" => Some("x".into()),
            _ => None,
        };
        assert_eq!(
            e.resolve(true, &lookup).unwrap(),
            env(&[
                ("BASE", "http://127.0.0.1:8080"),
                ("EXTRA", "x"),
                ("HOME_DIR", "/home/u"),
                ("KEY", "s3cr3t"),
                ("MODE", "agent"),
            ])
        );
        // Another agent than the project's: the agentConfig layer does not apply.
        assert_eq!(
            e.resolve(false, &lookup).unwrap(),
            env(&[
                ("BASE", "http://127.0.0.1:8080"),
                ("HOME_DIR", "/home/u"),
                ("MODE", "project"),
            ])
        );
        assert_eq!(e.args(true), ["--verbose"]);
        assert!(e.args(false).is_empty());
        let missing = AgentEnv {
            env: env(&[("KEY", "${NOPE}")]),
            ..AgentEnv::default()
        };
        assert_eq!(
            missing.resolve(true, &lookup).unwrap_err(),
            "env `KEY`: environment variable `NOPE` is not set"
        );
    }

    #[test]
    fn bad_names_values_and_arguments_are_named() {
        assert!(check_name("ANTHROPIC_BASE_URL").is_ok());
        assert!(check_name("_x1").is_ok());
        for bad in ["", "1X", "A-B", "A B", "A=B"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_name("AO_SESSION").unwrap_err().contains("reserved"));
        assert!(check_value("Bearer ${TOKEN}").is_ok());
        assert!(check_value("${AO_DATA_DIR}/x").is_ok());
        assert!(check_value("a\0b").is_err());
        assert!(check_value("${OPEN").unwrap_err().contains("without"));
        assert!(check_value("${BAD-NAME}").is_err());
        assert!(check_args(&["--verbose".into(), "--model=x".into()]).is_empty());
        assert_eq!(
            check_args(&["a\0".into()]),
            [(Some(0), "contains a NUL byte".to_string())]
        );
        assert_eq!(check_args(&vec!["x".to_string(); 65]).len(), 1);
        assert_eq!(check_args(&["x".repeat(5000)])[0].0, Some(0));
    }
}
