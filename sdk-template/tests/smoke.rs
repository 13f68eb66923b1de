//! Runs the plugin in process against the SDK's test host.

use ao_plugin_api::manifest::Slot;
use ao_plugin_api::serde_json;
{% if slot == "notifier" %}use ao_plugin_api::sdk::Ctx;
use ao_plugin_api::sdk::testing::TestHost;
use ao_plugin_api::slots::notifier::{Notification, Notifier, NotifyRequest, Priority};
{% endif %}
#[test]
fn the_manifest_names_the_component() {
    let m = {{crate_name}}::ao_plugin_manifest();
    assert_eq!(m.name, "{{project-name}}");
    assert_eq!(m.components.len(), 1);
    assert_eq!(m.components[0].slot, Slot::parse("{{slot}}").unwrap());
    assert_eq!(m.panic, "unwind");
}

#[test]
fn a_bad_config_is_refused() {
    let config = serde_json::json!({ "noSuchSetting": true });
    let parsed: Result<{{crate_name}}::Config, _> = serde_json::from_value(config);
    assert!(parsed.is_err());
}
{% if slot == "notifier" %}
#[test]
fn notify_logs_the_title() {
    let host = TestHost::new();
    let config = {{crate_name}}::Config { prefix: "[test] ".into() };
    let plugin = {{crate_name}}::Plugin::new(config, &host.handle()).unwrap();
    let notification = Notification {
        event_type: "ci.failing".into(),
        priority: Priority::Warning,
        title: "CI failed".into(),
        message: "lint".into(),
        session_id: None,
        project_id: None,
        pr_url: None,
        url: None,
        timestamp_ms: 0,
        data: serde_json::Value::Null,
    };
    plugin.notify(&Ctx::detached(), NotifyRequest { notification }).unwrap();
    assert!(host.logs().iter().any(|l| l == "INFO [test] CI failed [ci.failing]: lint"), "{:?}", host.logs());
}
{% endif %}
