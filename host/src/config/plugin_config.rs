//! Plugin config subtrees against each component's JSON Schema (from its manifest), before any
//! plugin code runs: a typo in a notifier's settings is a config error with a line number, not
//! a failure at the first notification.

use crate::config::problem::{Problem, locate_nearest};
use crate::config::{Config, PluginInstance};
use crate::error::did_you_mean;
use ao_plugin_api::manifest::{ComponentManifest, Slot};
use jsonschema::error::ValidationErrorKind;

/// Every plugin instance of the config with its key path and slot.
fn instances(config: &Config) -> Vec<(String, Slot, std::borrow::Cow<'_, PluginInstance>)> {
    use std::borrow::Cow;
    let mut out: Vec<(String, Slot, Cow<'_, PluginInstance>)> = config
        .notifiers
        .iter()
        .map(|(a, i)| (format!("notifiers.{a}"), Slot::Notifier, Cow::Borrowed(i)))
        .collect();
    for p in config.projects.values() {
        let own = |plugin: &str, config: &serde_json::Value| {
            Cow::Owned(PluginInstance {
                plugin: plugin.to_string(),
                config: config.clone(),
            })
        };
        let at = |k: &str| format!("projects.{}.{k}", p.id);
        out.push((
            at("runtimeConfig"),
            Slot::Runtime,
            own(&p.runtime, &p.runtime_config),
        ));
        out.push((
            at("agentConfig"),
            Slot::Agent,
            own(&p.agent, &p.agent_config),
        ));
        out.push((
            at("workspaceConfig"),
            Slot::Workspace,
            own(&p.workspace, &p.workspace_config),
        ));
        if let Some(t) = &p.tracker {
            out.push((at("tracker"), Slot::Tracker, Cow::Borrowed(t)));
        }
        if let Some(s) = &p.scm {
            out.push((at("scm"), Slot::Scm, Cow::Borrowed(s)));
        }
    }
    out
}

/// Problems with plugin configs. Instances whose component is not available are skipped (that
/// is [`super::validate::check_plugins`]'s job).
pub fn check_plugin_configs(
    config: &Config,
    text: &str,
    components: &[ComponentManifest],
) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut push = |path: String, message: String| {
        let loc = locate_nearest(text, &path);
        out.push(Problem {
            file: config.file.clone(),
            line: loc.map(|l| l.0),
            column: loc.map(|l| l.1),
            path,
            message,
        });
    };
    for (path, slot, inst) in instances(config) {
        let Some(c) = components
            .iter()
            .find(|c| c.slot == slot && c.name == inst.plugin)
        else {
            continue;
        };
        if c.config_schema.is_null() {
            continue;
        }
        let validator = match jsonschema::validator_for(&c.config_schema) {
            Ok(v) => v,
            Err(e) => {
                push(
                    path,
                    format!(
                        "plugin `{}` ships an invalid config schema: {e}",
                        inst.plugin
                    ),
                );
                continue;
            }
        };
        let known: Vec<String> = c.config_schema["properties"]
            .as_object()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        for e in validator.iter_errors(&inst.config) {
            let pointer = e.instance_path().to_string();
            let at: String = pointer
                .split('/')
                .filter(|s| !s.is_empty())
                .fold(path.clone(), |acc, seg| format!("{acc}.{seg}"));
            match e.kind() {
                ValidationErrorKind::AdditionalProperties { unexpected } => {
                    for key in unexpected {
                        let hint = did_you_mean(key, known.iter().map(String::as_str));
                        let hint = if hint.is_empty() {
                            format!(" (valid keys: {})", known.join(", "))
                        } else {
                            hint
                        };
                        push(
                            format!("{at}.{key}"),
                            format!("unknown key `{key}` for plugin `{}`{hint}", inst.plugin),
                        );
                    }
                }
                _ => push(at, format!("{e} (plugin `{}`)", inst.plugin)),
            }
        }
    }
    out
}

/// Every problem with the plugins a config names: components that are not available, and
/// configs their schemas reject. `components` are the available components' manifests.
pub fn problems(config: &Config, text: &str, components: &[ComponentManifest]) -> Vec<Problem> {
    let ids: Vec<String> = components.iter().map(|c| c.id()).collect();
    let mut out = super::validate::check_plugins(config, text, &ids);
    out.extend(check_plugin_configs(config, text, components));
    out
}
