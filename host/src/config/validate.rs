//! [`RawConfig`] → [`Config`]: defaults filled in, paths resolved, durations parsed, reactions
//! merged, cross-references checked. Pure: the file's text, its path and the home directory are
//! the only inputs.

use crate::config::agent_env::{self, AgentEnv};
use crate::config::model::{
    Defaults, EscalateAfter, IsolationName, Permissions, PluginSettings, PostCreateStep,
    PriorityName, ProjectConfig, RawConfig, ReactionAction, ReactionConfig,
};
use crate::config::problem::{Problem, locate_nearest};
use crate::config::shell_words::split_words;
use crate::config::{reactions, secrets};
use crate::error::did_you_mean;
use ao_plugin_api::slots::workspace::PostCreateCommand;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file it came from.
    pub file: PathBuf,
    /// `sha256(canonical dir of file)[..12]`: the store namespace.
    pub hash: String,
    /// Dashboard port.
    pub port: u16,
    /// Lifecycle poll interval.
    pub poll_interval: Duration,
    /// Default runtime plugin.
    pub runtime: String,
    /// Default agent plugin.
    pub agent: String,
    /// Default workspace plugin.
    pub workspace: String,
    /// Notifier aliases for unrouted priorities.
    pub default_notifiers: Vec<String>,
    /// Terminal plugin for `ao open`.
    pub terminal: String,
    /// Terminal plugins' settings by plugin name.
    pub terminals: BTreeMap<String, serde_json::Value>,
    /// Projects by id.
    pub projects: BTreeMap<String, Project>,
    /// Notifier instances by alias.
    pub notifiers: BTreeMap<String, PluginInstance>,
    /// Notifier aliases per priority (every priority present).
    pub routing: BTreeMap<PriorityName, Vec<String>>,
    /// Extra plugin directories.
    pub plugin_dirs: Vec<PathBuf>,
    /// Isolation per plugin name.
    pub isolation: BTreeMap<String, IsolationName>,
    /// Clean up sessions whose PR merged.
    pub auto_cleanup_on_merge: bool,
    /// Grace for a merged session whose agent is still busy.
    pub merge_cleanup_grace: Duration,
    /// How long a spawn waits for a sign of life.
    pub launch_timeout: Duration,
    /// A PR with nothing that says it is good may be merged.
    pub merge_without_evidence: bool,
    /// Things that work but should be changed (literal secrets).
    pub warnings: Vec<Problem>,
}

/// A plugin instance: the component name and its config (still holding `${NAME}` references).
#[derive(Debug, Clone, PartialEq)]
pub struct PluginInstance {
    /// Component name within its slot.
    pub plugin: String,
    /// The plugin's own config.
    pub config: serde_json::Value,
}

/// A resolved reaction (every field decided).
#[derive(Debug, Clone, PartialEq)]
pub struct Reaction {
    /// React automatically.
    pub auto: bool,
    /// What to do.
    pub action: ReactionAction,
    /// Message for the agent.
    pub message: Option<String>,
    /// Attempts before escalation.
    pub retries: Option<u32>,
    /// Escalate after attempts or time.
    pub escalate_after: Option<Escalation>,
    /// Hold time before reacting.
    pub threshold: Option<Duration>,
    /// Notification priority.
    pub priority: PriorityName,
}

/// When to escalate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escalation {
    /// After this many attempts.
    Attempts(u32),
    /// After this long.
    After(Duration),
}

/// One project, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    /// Id (the key under `projects`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Absolute checkout path.
    pub path: PathBuf,
    /// `owner/name`.
    pub repo: Option<String>,
    /// Base branch.
    pub default_branch: String,
    /// Session id prefix.
    pub session_prefix: String,
    /// Runtime plugin.
    pub runtime: String,
    /// Agent plugin.
    pub agent: String,
    /// Workspace plugin.
    pub workspace: String,
    /// Tracker instance.
    pub tracker: Option<PluginInstance>,
    /// SCM instance.
    pub scm: Option<PluginInstance>,
    /// Agent permission mode.
    pub permissions: Permissions,
    /// Agent model.
    pub model: Option<String>,
    /// Reactions: defaults ← global ← project.
    pub reactions: BTreeMap<String, Reaction>,
    /// Extra agent instructions.
    pub agent_rules: Option<String>,
    /// A file of extra agent instructions (absolute).
    pub agent_rules_file: Option<PathBuf>,
    /// Post-create commands.
    pub post_create: Vec<PostCreateCommand>,
    /// Paths to symlink into workspaces.
    pub symlinks: Vec<String>,
    /// The runtime plugin's config.
    pub runtime_config: serde_json::Value,
    /// The agent plugin's config.
    pub agent_config: serde_json::Value,
    /// The agents' environment and extra arguments (unresolved).
    pub agent_env: AgentEnv,
    /// The workspace plugin's config.
    pub workspace_config: serde_json::Value,
}

const DEFAULT_PORT: u16 = 3000;
const DEFAULT_POLL: Duration = Duration::from_secs(30);
const DEFAULT_MERGE_GRACE: Duration = Duration::from_secs(300);
const DEFAULT_LAUNCH_TIMEOUT: Duration = Duration::from_secs(60);

fn map_value(m: &BTreeMap<String, serde_json::Value>) -> serde_json::Value {
    serde_json::Value::Object(m.clone().into_iter().collect())
}

/// Validates. Every problem is collected, not just the first.
pub fn validate(
    file: &Path,
    text: &str,
    hash: &str,
    home: Option<&Path>,
    raw: RawConfig,
) -> Result<Config, Vec<Problem>> {
    let mut v = Validator {
        file,
        text,
        problems: Vec::new(),
        warnings: Vec::new(),
    };
    let dir = file.parent().unwrap_or(Path::new("."));
    let poll_interval = match &raw.poll_interval {
        Some(s) => v.duration("pollInterval", s).unwrap_or(DEFAULT_POLL),
        None => DEFAULT_POLL,
    };
    if poll_interval < Duration::from_secs(1) {
        v.problem("pollInterval", "must be at least 1s".into());
    }

    let merge_cleanup_grace = match &raw.lifecycle.merge_cleanup_grace {
        Some(s) => v
            .duration("lifecycle.mergeCleanupGrace", s)
            .unwrap_or(DEFAULT_MERGE_GRACE),
        None => DEFAULT_MERGE_GRACE,
    };

    let launch_timeout = match &raw.lifecycle.launch_timeout {
        Some(s) => v
            .duration("lifecycle.launchTimeout", s)
            .unwrap_or(DEFAULT_LAUNCH_TIMEOUT),
        None => DEFAULT_LAUNCH_TIMEOUT,
    };

    let notifier_names: Vec<String> = raw.notifiers.keys().cloned().collect();
    let mut notifiers = BTreeMap::new();
    for (alias, settings) in &raw.notifiers {
        let path = format!("notifiers.{alias}");
        notifiers.insert(alias.clone(), v.instance(&path, settings, Some(alias)));
    }
    let default_notifiers = raw
        .defaults
        .notifiers
        .clone()
        .unwrap_or_else(|| vec!["desktop".into()]);
    v.check_aliases("defaults.notifiers", &default_notifiers, &notifier_names);
    let mut routing = BTreeMap::new();
    for (prio, route) in [
        (PriorityName::Urgent, &raw.notification_routing.urgent),
        (PriorityName::Action, &raw.notification_routing.action),
        (PriorityName::Warning, &raw.notification_routing.warning),
        (PriorityName::Info, &raw.notification_routing.info),
    ] {
        if let Some(r) = route {
            let key = serde_json::to_value(prio)
                .ok()
                .and_then(|x| x.as_str().map(String::from))
                .unwrap_or_default();
            v.check_aliases(&format!("notificationRouting.{key}"), r, &notifier_names);
        }
        routing.insert(
            prio,
            route.clone().unwrap_or_else(|| default_notifiers.clone()),
        );
    }

    let global_reactions = v.reaction_overrides("reactions", &raw.reactions);
    let runtime = raw
        .defaults
        .runtime
        .clone()
        .unwrap_or_else(|| "tmux".into());
    let agent = raw
        .defaults
        .agent
        .clone()
        .unwrap_or_else(|| "claude-code".into());
    let workspace = raw
        .defaults
        .workspace
        .clone()
        .unwrap_or_else(|| "worktree".into());

    if raw.projects.is_empty() {
        v.problem("projects", "add at least one project".into());
    }
    let mut projects = BTreeMap::new();
    let mut prefixes: BTreeMap<String, String> = BTreeMap::new();
    for (id, p) in &raw.projects {
        let at = format!("projects.{id}");
        if !valid_id(id) {
            v.problem(
                &at,
                format!("project id `{id}` may only contain letters, digits, `_` and `-`"),
            );
        }
        let path = resolve_path(&p.path, dir, home);
        let session_prefix = match &p.session_prefix {
            Some(sp) if valid_id(sp) => sp.clone(),
            Some(sp) => {
                v.problem(
                    &format!("{at}.sessionPrefix"),
                    format!("`{sp}` may only contain letters, digits, `_` and `-`"),
                );
                sp.clone()
            }
            None => derive_prefix(
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .as_deref()
                    .unwrap_or(id),
            ),
        };
        if let Some(other) = prefixes.insert(session_prefix.clone(), id.clone()) {
            v.problem(
                &format!("{at}.sessionPrefix"),
                format!("projects `{other}` and `{id}` both use session prefix `{session_prefix}`: give one an explicit `sessionPrefix`"),
            );
        }
        let project_reactions = v.reaction_overrides(&format!("{at}.reactions"), &p.reactions);
        let mut merged = BTreeMap::new();
        for key in reactions::KEYS {
            let mut r = reactions::default_for(key);
            if let Some(g) = global_reactions.get(key) {
                r = reactions::merge(&r, g);
            }
            if let Some(o) = project_reactions.get(key) {
                r = reactions::merge(&r, o);
            }
            let where_ = if project_reactions.contains_key(key) {
                format!("{at}.reactions.{key}")
            } else {
                format!("reactions.{key}")
            };
            merged.insert(key.to_string(), v.resolve_reaction(&where_, &r));
        }
        let default_scm = p
            .repo
            .as_ref()
            .filter(|r| r.contains('/'))
            .map(|_| PluginInstance {
                plugin: "github".into(),
                config: serde_json::json!({}),
            });
        let post_create = p
            .post_create
            .iter()
            .enumerate()
            .filter_map(|(i, step)| v.post_create(&format!("{at}.postCreate.{i}"), step))
            .collect();
        projects.insert(
            id.clone(),
            Project {
                id: id.clone(),
                name: p.name.clone().unwrap_or_else(|| id.clone()),
                agent_rules_file: p
                    .agent_rules_file
                    .as_ref()
                    .map(|f| resolve_path(f, &path, home)),
                path,
                repo: p.repo.clone(),
                default_branch: p.default_branch.clone().unwrap_or_else(|| "main".into()),
                session_prefix,
                runtime: p.runtime.clone().unwrap_or_else(|| runtime.clone()),
                agent: p.agent.clone().unwrap_or_else(|| agent.clone()),
                workspace: p.workspace.clone().unwrap_or_else(|| workspace.clone()),
                tracker: p
                    .tracker
                    .as_ref()
                    .map(|t| v.instance(&format!("{at}.tracker"), t, None))
                    .or_else(|| default_scm.clone()),
                scm: p
                    .scm
                    .as_ref()
                    .map(|s| v.instance(&format!("{at}.scm"), s, None))
                    .or(default_scm),
                permissions: p.agent_config.permissions.unwrap_or(Permissions::Default),
                model: p.agent_config.model.clone(),
                reactions: merged,
                agent_rules: p.agent_rules.clone(),
                post_create,
                symlinks: p.symlinks.clone(),
                runtime_config: map_value(&p.runtime_config),
                agent_config: map_value(&p.agent_config.plugin),
                agent_env: v.agent_env(&at, &raw.defaults, p),
                workspace_config: map_value(&p.workspace_config),
            },
        );
    }

    let config = Config {
        file: file.to_path_buf(),
        hash: hash.to_string(),
        port: raw.port.unwrap_or(DEFAULT_PORT),
        poll_interval,
        runtime,
        agent,
        workspace,
        default_notifiers,
        terminal: raw
            .defaults
            .terminal
            .clone()
            .unwrap_or_else(|| "web".into()),
        projects,
        terminals: raw
            .terminals
            .iter()
            .map(|(k, v)| (k.clone(), map_value(v)))
            .collect(),
        notifiers,
        routing,
        plugin_dirs: raw
            .plugins
            .dirs
            .iter()
            .map(|d| resolve_path(d, dir, home))
            .collect(),
        isolation: raw.plugins.isolation.clone(),
        auto_cleanup_on_merge: raw.lifecycle.auto_cleanup_on_merge.unwrap_or(true),
        merge_cleanup_grace,
        launch_timeout,
        merge_without_evidence: raw.lifecycle.merge_without_evidence.unwrap_or(false),
        warnings: std::mem::take(&mut v.warnings),
    };
    if v.problems.is_empty() {
        Ok(config)
    } else {
        Err(v.problems)
    }
}

struct Validator<'a> {
    file: &'a Path,
    text: &'a str,
    problems: Vec<Problem>,
    warnings: Vec<Problem>,
}

impl Validator<'_> {
    fn at(&self, path: &str, message: String) -> Problem {
        let loc = locate_nearest(self.text, path);
        Problem {
            file: self.file.to_path_buf(),
            line: loc.map(|l| l.0),
            column: loc.map(|l| l.1),
            path: path.to_string(),
            message,
        }
    }

    fn problem(&mut self, path: &str, message: String) {
        let p = self.at(path, message);
        self.problems.push(p);
    }

    fn duration(&mut self, path: &str, s: &str) -> Option<Duration> {
        match humantime::parse_duration(s) {
            Ok(d) => Some(d),
            Err(_) => {
                self.problem(
                    path,
                    format!("`{s}` is not a duration: write e.g. 30s, 10m or 2h"),
                );
                None
            }
        }
    }

    fn check_aliases(&mut self, path: &str, names: &[String], known: &[String]) {
        for n in names {
            // `desktop` needs no configuration, so it is always available.
            if n != "desktop" && !known.contains(n) {
                let hint = did_you_mean(n, known.iter().map(String::as_str));
                let hint = if hint.is_empty() {
                    " (define it under `notifiers:`)".to_string()
                } else {
                    hint
                };
                self.problem(path, format!("unknown notifier `{n}`{hint}"));
            }
        }
    }

    fn instance(&mut self, path: &str, s: &PluginSettings, alias: Option<&str>) -> PluginInstance {
        let config = serde_json::Value::Object(s.config.clone().into_iter().collect());
        for literal in secrets::literal_secrets(path, &config) {
            let w = self.at(&literal, "looks like a literal secret: put it in an environment variable and write `${NAME}` (or a `…Env` key)".into());
            self.warnings.push(w);
        }
        let plugin = match (&s.plugin, alias) {
            (Some(p), _) => p.clone(),
            (None, Some(a)) => a.to_string(),
            (None, None) => {
                self.problem(path, "missing key `plugin`".into());
                String::new()
            }
        };
        PluginInstance { plugin, config }
    }

    /// The project's merged `env`/`passEnv`/`extraArgs`, every name, value and argument
    /// checked, literal secrets warned about.
    fn agent_env(&mut self, at: &str, defaults: &Defaults, p: &ProjectConfig) -> AgentEnv {
        let layers = [
            ("defaults".to_string(), &defaults.env, &defaults.pass_env),
            (at.to_string(), &p.env, &p.pass_env),
            (
                format!("{at}.agentConfig"),
                &p.agent_config.env,
                &p.agent_config.pass_env,
            ),
        ];
        for (base, env, pass) in layers {
            for (k, val) in env {
                let path = format!("{base}.env.{k}");
                if let Err(e) = agent_env::check_name(k).and_then(|_| agent_env::check_value(val)) {
                    self.problem(&path, e);
                }
            }
            let as_json = serde_json::to_value(env).unwrap_or_default();
            for literal in secrets::literal_secrets(&format!("{base}.env"), &as_json) {
                let w = self.at(&literal, "looks like a literal secret: export it where you start ao and write `${NAME}` (or list it in `passEnv`)".into());
                self.warnings.push(w);
            }
            for (i, name) in pass.iter().enumerate() {
                if let Err(e) = agent_env::check_name(name) {
                    self.problem(&format!("{base}.passEnv.{i}"), e);
                }
            }
        }
        let args_at = format!("{at}.agentConfig.extraArgs");
        for (i, e) in agent_env::check_args(&p.agent_config.extra_args) {
            let path = i.map_or(args_at.clone(), |i| format!("{args_at}.{i}"));
            self.problem(&path, e);
        }
        let mut env = defaults.env.clone();
        env.extend(p.env.clone());
        let mut pass_env = defaults.pass_env.clone();
        pass_env.extend(p.pass_env.iter().cloned());
        AgentEnv {
            env,
            pass_env,
            agent_env: p.agent_config.env.clone(),
            agent_pass_env: p.agent_config.pass_env.clone(),
            extra_args: p.agent_config.extra_args.clone(),
        }
    }

    fn reaction_overrides(
        &mut self,
        path: &str,
        m: &BTreeMap<String, ReactionConfig>,
    ) -> BTreeMap<String, ReactionConfig> {
        for k in m.keys() {
            if !reactions::KEYS.contains(&k.as_str()) {
                let hint = did_you_mean(k, reactions::KEYS);
                let hint = if hint.is_empty() {
                    format!(" (keys: {})", reactions::KEYS.join(", "))
                } else {
                    hint
                };
                self.problem(
                    &format!("{path}.{k}"),
                    format!("unknown reaction `{k}`{hint}"),
                );
            }
        }
        m.clone()
    }

    fn resolve_reaction(&mut self, path: &str, r: &ReactionConfig) -> Reaction {
        let escalate_after = match &r.escalate_after {
            Some(EscalateAfter::Attempts(n)) => Some(Escalation::Attempts(*n)),
            Some(EscalateAfter::After(s)) => self
                .duration(&format!("{path}.escalateAfter"), s)
                .map(Escalation::After),
            None => None,
        };
        let threshold = r
            .threshold
            .as_ref()
            .and_then(|s| self.duration(&format!("{path}.threshold"), s));
        let action = r.action.unwrap_or(ReactionAction::Notify);
        if action == ReactionAction::SendToAgent && r.message.as_deref().is_none_or(str::is_empty) {
            self.problem(path, "`send-to-agent` needs a `message`".into());
        }
        Reaction {
            auto: r.auto.unwrap_or(true),
            action,
            message: r.message.clone(),
            retries: r.retries,
            escalate_after,
            threshold,
            priority: r.priority.unwrap_or(PriorityName::Info),
        }
    }

    fn post_create(&mut self, path: &str, step: &PostCreateStep) -> Option<PostCreateCommand> {
        let argv = match step {
            PostCreateStep::Argv(a) => a.clone(),
            PostCreateStep::Line(line) => match split_words(line) {
                Ok(a) => a,
                Err(e) => {
                    self.problem(path, e);
                    return None;
                }
            },
            PostCreateStep::Shell(s) if s.shell => {
                return Some(PostCreateCommand {
                    argv: vec![s.run.clone()],
                    shell: true,
                    timeout_ms: None,
                });
            }
            PostCreateStep::Shell(s) => match split_words(&s.run) {
                Ok(a) => a,
                Err(e) => {
                    self.problem(path, e);
                    return None;
                }
            },
        };
        if argv.is_empty() {
            self.problem(path, "empty command".into());
            return None;
        }
        Some(PostCreateCommand {
            argv,
            shell: false,
            timeout_ms: None,
        })
    }
}

fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `~/x` → home/x; relative → against `base`; absolute stays.
pub fn resolve_path(p: &str, base: &Path, home: Option<&Path>) -> PathBuf {
    if let (Some(rest), Some(home)) = (p.strip_prefix("~/"), home) {
        return home.join(rest);
    }
    if p == "~"
        && let Some(home) = home
    {
        return home.to_path_buf();
    }
    let path = Path::new(p);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

/// Upstream's prefix rule (short names as they are, CamelCase capitals, dash/underscore
/// initials, else the first three letters), made safe: only `[a-z0-9_-]` survive.
pub fn derive_prefix(name: &str) -> String {
    let caps: String = name.chars().filter(|c| c.is_ascii_uppercase()).collect();
    let raw = if name.chars().count() <= 4 {
        name.to_string()
    } else if caps.len() > 1 {
        caps
    } else if name.contains('-') || name.contains('_') {
        let sep = if name.contains('-') { '-' } else { '_' };
        name.split(sep).filter_map(|w| w.chars().next()).collect()
    } else {
        name.chars().take(3).collect()
    };
    let clean: String = raw
        .to_ascii_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    if clean.is_empty() { "s".into() } else { clean }
}

/// Checks that every plugin the config names is provided by some loaded component.
/// `available` holds component ids (`runtime/tmux`). `text` locates the problems.
pub fn check_plugins(config: &Config, text: &str, available: &[String]) -> Vec<Problem> {
    let v = Validator {
        file: &config.file,
        text,
        problems: Vec::new(),
        warnings: Vec::new(),
    };
    let mut out = Vec::new();
    let mut check = |path: String, slot: &str, name: &str| {
        let id = format!("{slot}/{name}");
        if name.is_empty() || available.contains(&id) {
            return;
        }
        let same_slot: Vec<&str> = available
            .iter()
            .filter_map(|a| a.strip_prefix(slot).and_then(|r| r.strip_prefix('/')))
            .collect();
        let hint = did_you_mean(name, same_slot.iter().copied());
        let hint = if hint.is_empty() {
            if same_slot.is_empty() {
                format!(" (no {slot} plugin is installed: see `ao plugins list`)")
            } else {
                format!(" (available: {})", same_slot.join(", "))
            }
        } else {
            hint
        };
        out.push(v.at(&path, format!("no {slot} plugin named `{name}`{hint}")));
    };
    for (alias, n) in &config.notifiers {
        check(format!("notifiers.{alias}.plugin"), "notifier", &n.plugin);
    }
    for p in config.projects.values() {
        let at = format!("projects.{}", p.id);
        check(format!("{at}.runtime"), "runtime", &p.runtime);
        check(format!("{at}.agent"), "agent", &p.agent);
        check(format!("{at}.workspace"), "workspace", &p.workspace);
        if let Some(t) = &p.tracker {
            check(format!("{at}.tracker.plugin"), "tracker", &t.plugin);
        }
        if let Some(s) = &p.scm {
            check(format!("{at}.scm.plugin"), "scm", &s.plugin);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_follow_upstream_but_stay_valid() {
        assert_eq!(derive_prefix("app"), "app");
        assert_eq!(derive_prefix("PyTorch"), "pt");
        assert_eq!(derive_prefix("agent-orchestrator"), "ao");
        assert_eq!(derive_prefix("my_cool_repo"), "mcr");
        assert_eq!(derive_prefix("integrator"), "int");
        assert_eq!(derive_prefix("my.app"), "my");
        assert_eq!(derive_prefix("..."), "s");
    }

    #[test]
    fn paths_resolve_against_home_and_the_config_dir() {
        let home = Path::new("/home/u");
        assert_eq!(
            resolve_path("~/code/app", Path::new("/etc"), Some(home)),
            Path::new("/home/u/code/app")
        );
        assert_eq!(
            resolve_path("app", Path::new("/srv/cfg"), Some(home)),
            Path::new("/srv/cfg/app")
        );
        assert_eq!(
            resolve_path("/abs", Path::new("/srv"), None),
            Path::new("/abs")
        );
    }
}
