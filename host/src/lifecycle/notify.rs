//! Notification routing: an event's priority picks notifier aliases
//! (`notificationRouting.<priority>`, else `defaults.notifiers`); they run concurrently, each
//! under its own timeout, so one slow or failing notifier never delays or blocks another.
//! Failures are logged as `notify.failed` events (never notified, so no loop).

use crate::config::model::PriorityName;
use crate::fleet::{Fleet, now_ms};
use crate::lifecycle::events::{Event, EventKind};
use ao_plugin_api::slots::notifier::{Notification, NotifyRequest, Priority};
use std::time::Duration;

/// Per-notifier deadline.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Where a notification went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The alias.
    pub alias: String,
    /// `Ok` or why not.
    pub result: Result<(), String>,
}

/// Sends `e` to every notifier routed for its priority, concurrently, and logs failures.
pub async fn notify(
    fleet: &Fleet,
    project: &str,
    e: &Event,
    pr_url: Option<&str>,
) -> Vec<Delivery> {
    let aliases = fleet
        .config
        .routing
        .get(&e.priority)
        .cloned()
        .unwrap_or_else(|| fleet.config.default_notifiers.clone());
    let n = Notification {
        event_type: e.kind.as_str().to_string(),
        priority: priority(e.priority),
        title: title(e),
        message: e.message.clone(),
        session_id: e.session.clone(),
        project_id: Some(project.to_string()),
        pr_url: pr_url.map(String::from),
        url: None,
        timestamp_ms: now_ms(),
        data: e.data.clone(),
    };
    let sends = aliases.iter().map(|alias| {
        let n = n.clone();
        async move {
            let result = async {
                let client = fleet
                    .notifier(alias, TIMEOUT)
                    .await
                    .map_err(|e| e.to_string())?;
                let req = NotifyRequest { notification: n };
                match tokio::time::timeout(TIMEOUT, client.notify(&req)).await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err(format!("no answer within {}s", TIMEOUT.as_secs())),
                }
            }
            .await;
            Delivery {
                alias: alias.clone(),
                result,
            }
        }
    });
    let out = futures_util::future::join_all(sends).await;
    for d in &out {
        if let Err(why) = &d.result {
            let mut ev = Event::new(
                EventKind::NotifyFailed,
                e.session.as_deref().unwrap_or(""),
                format!(
                    "notifier `{}` failed for {}: {why}",
                    d.alias,
                    e.kind.as_str()
                ),
            );
            ev.session = e.session.clone();
            crate::lifecycle::record(fleet, project, &ev);
        }
    }
    out
}

fn priority(p: PriorityName) -> Priority {
    match p {
        PriorityName::Urgent => Priority::Urgent,
        PriorityName::Action => Priority::Action,
        PriorityName::Warning => Priority::Warning,
        PriorityName::Info => Priority::Info,
    }
}

fn title(e: &Event) -> String {
    let who = e.session.as_deref().unwrap_or("ao");
    let what = match e.kind {
        EventKind::SessionNeedsInput => "needs your input",
        EventKind::SessionStuck => "is stuck",
        EventKind::SessionKilled => "agent exited",
        EventKind::ReactionEscalated => "needs a human",
        EventKind::MergeReady => "is ready to merge",
        EventKind::MergeCompleted | EventKind::PrMerged => "merged",
        EventKind::PrClosed => "PR closed",
        EventKind::AllComplete => "all sessions finished",
        _ => e.kind.as_str(),
    };
    format!("{who}: {what}")
}
