//! A pod's state as liveness, from the one LIST of a tick; the screens (status tails, agent records) of
//! running pods by exec, a few at a time; an ended pod's last screen from its log.

use crate::K8sRuntime;
use ao_plugin_api::sdk::container;
use ao_plugin_api::sdk::{Ctx, SdkError};
use ao_plugin_api::slots::runtime::{IsAliveRequest, Liveness, ProbeRequest, ProbeResponse};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// Execs in flight at once: each is a WebSocket through the API server to the kubelet.
const PARALLEL: usize = 8;

/// Waiting reasons after which a container will not start by itself.
const STUCK: [&str; 6] = [
    "ErrImagePull",
    "ImagePullBackOff",
    "ErrImageNeverPull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
];

/// Whether an init container of the pod (the clone) ended in failure.
pub(crate) fn init_failed(pod: &Value) -> bool {
    pod["status"]["initContainerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|s| {
            s["state"]["terminated"]["exitCode"]
                .as_i64()
                .is_some_and(|c| c != 0)
        })
}

/// What the pod's status says.
pub(crate) fn liveness(pod: Option<&Value>) -> Liveness {
    let Some(p) = pod else {
        return Liveness::gone("pod not found");
    };
    let st = &p["status"];
    let c = &st["containerStatuses"][0];
    let (alive, running, detail) = if p["metadata"]["deletionTimestamp"].is_string() {
        (false, Some(false), "the pod is being deleted".to_string())
    } else {
        match st["phase"].as_str().unwrap_or("") {
            "Running" => (true, Some(true), "running".to_string()),
            "Pending" => {
                let w = &c["state"]["waiting"];
                match w["reason"].as_str() {
                    Some(r) if STUCK.contains(&r) => (
                        false,
                        Some(false),
                        format!(
                            "the pod cannot start: {r}: {}",
                            w["message"].as_str().unwrap_or("")
                        ),
                    ),
                    Some(r) => (true, None, format!("starting ({r})")),
                    None => (true, None, "starting".to_string()),
                }
            }
            "Failed" if init_failed(p) => (
                false,
                Some(false),
                "the workspace could not be cloned in the pod (its init container failed)".into(),
            ),
            phase @ ("Succeeded" | "Failed") => {
                let t = &c["state"]["terminated"];
                let detail = match (t["exitCode"].as_i64(), st["reason"].as_str()) {
                    (_, Some("DeadlineExceeded")) => {
                        "the pod reached its hard lifetime (activeDeadlineSeconds)".to_string()
                    }
                    (Some(container::EXIT_SEED_FAILED), _) => {
                        "the workspace could not be seeded in the pod".to_string()
                    }
                    (Some(container::EXIT_TMUX_FAILED), _) => {
                        "tmux could not start in the pod".into()
                    }
                    (Some(code), _) => format!("the agent exited with status {code}"),
                    (None, Some(r)) => format!("the pod {}: {r}", phase.to_lowercase()),
                    (None, None) => format!("the pod {}", phase.to_lowercase()),
                };
                (false, Some(false), detail)
            }
            other => (
                false,
                None,
                format!(
                    "the pod's state is {other}: {}",
                    st["reason"].as_str().unwrap_or("unknown")
                ),
            ),
        }
    };
    Liveness {
        alive,
        session_exists: true,
        process_running: running,
        detail,
        ..Liveness::default()
    }
}

pub(crate) fn probe(
    rt: &K8sRuntime,
    ctx: &Ctx,
    pods: &HashMap<String, Value>,
    req: ProbeRequest,
) -> Result<ProbeResponse, SdkError> {
    let mut results: BTreeMap<String, Liveness> = req
        .targets
        .iter()
        .map(|t| (t.handle.id.clone(), liveness(pods.get(&t.handle.id))))
        .collect();
    let lines = req.capture_lines.map(|l| l.clamp(1, 500));
    let tail_bytes = req.status_tail_bytes.map(|b| b.clamp(1, 1 << 20));
    let mirror_bytes = container::mirror_bytes(req.mirror_bytes);
    let mirrors = req.targets.iter().any(|t| t.mirror.is_some());
    if lines.is_none() && tail_bytes.is_none() && !mirrors {
        return Ok(ProbeResponse { results });
    }
    let work: Vec<(&IsAliveRequest, bool)> = req
        .targets
        .iter()
        .filter_map(|t| {
            let pod = pods.get(&t.handle.id)?;
            match pod["status"]["phase"].as_str().unwrap_or("") {
                "Running" => Some((t, false)),
                "Succeeded" | "Failed" => Some((t, true)),
                _ => None,
            }
        })
        .collect();
    for chunk in work.chunks(PARALLEL) {
        ctx.check()?;
        let seen: Vec<(String, container::Looked)> = std::thread::scope(|s| {
            let handles: Vec<_> = chunk
                .iter()
                .map(|&(t, ended)| {
                    s.spawn(move || {
                        let id = t.handle.id.clone();
                        if ended {
                            let text = lines.and_then(|n| rt.log_tail(&id, n).ok());
                            return (id, container::Looked::log(text));
                        }
                        let look = container::Look::of(t, tail_bytes, mirror_bytes);
                        match rt.exec(&id, &look.argv(), None) {
                            Ok(o) if o.success() => (id, look.split(&o.stdout)),
                            _ => (id, container::Looked::default()),
                        }
                    })
                })
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        for (id, looked) in seen {
            if let Some(l) = results.get_mut(&id) {
                looked.fill(l, lines);
            }
        }
    }
    Ok(ProbeResponse { results })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pod_states_map_to_liveness() {
        let running = json!({"status": {"phase": "Running"}});
        assert!(liveness(Some(&running)).alive);
        let stuck = json!({"status": {"phase": "Pending", "containerStatuses": [{"state": {"waiting": {"reason": "ErrImageNeverPull", "message": "no image"}}}]}});
        let l = liveness(Some(&stuck));
        assert_eq!((l.alive, l.process_running), (false, Some(false)));
        assert!(
            l.detail.contains("ErrImageNeverPull: no image"),
            "{}",
            l.detail
        );
        let starting = json!({"status": {"phase": "Pending"}});
        assert_eq!(liveness(Some(&starting)).process_running, None);
        let exited = json!({"status": {"phase": "Failed", "containerStatuses": [{"state": {"terminated": {"exitCode": 2}}}]}});
        assert_eq!(
            liveness(Some(&exited)).detail,
            "the agent exited with status 2"
        );
        let deadline = json!({"status": {"phase": "Failed", "reason": "DeadlineExceeded"}});
        assert!(
            liveness(Some(&deadline))
                .detail
                .contains("activeDeadlineSeconds")
        );
        let l = liveness(None);
        assert!(!l.session_exists);
    }
}
