//! What the engine's list says about each session, the screens of a tick (execs in parallel,
//! logs for exited agents), and the engine's figures for `metrics`.

use crate::engine::{Engine, exec_async};
use crate::launch;
use ao_plugin_api::sdk::container;
use ao_plugin_api::sdk::{Ctx, SdkError};
use ao_plugin_api::slots::runtime::{Liveness, ProbeRequest, ProbeResponse};
use bollard::Docker;
use bollard::models::{
    ContainerCreateBody, ContainerStatsResponse, ContainerSummary, ContainerSummaryStateEnum,
    HostConfig, Mount, MountType,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, DownloadFromContainerOptionsBuilder, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder,
};
use futures_util::StreamExt;
use std::collections::{BTreeMap, HashMap};

/// One of our containers, as the list shows it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Seen {
    pub(crate) name: String,
    /// `running`, `exited`, `created`…
    pub(crate) state: String,
    /// `Exited (3) 5 seconds ago`, `Up 2 minutes`.
    pub(crate) status: String,
    /// `clone` or `mount`.
    pub(crate) workspace: String,
}

impl Seen {
    pub(crate) fn of(c: &ContainerSummary) -> Option<Self> {
        let name = c
            .names
            .as_ref()?
            .first()?
            .trim_start_matches('/')
            .to_string();
        let state = match c.state? {
            ContainerSummaryStateEnum::CREATED => "created",
            ContainerSummaryStateEnum::RUNNING => "running",
            ContainerSummaryStateEnum::PAUSED => "paused",
            ContainerSummaryStateEnum::RESTARTING => "restarting",
            ContainerSummaryStateEnum::EXITED => "exited",
            ContainerSummaryStateEnum::REMOVING => "removing",
            ContainerSummaryStateEnum::DEAD => "dead",
            ContainerSummaryStateEnum::STOPPING => "stopping",
            ContainerSummaryStateEnum::EMPTY => "unknown",
        };
        Some(Self {
            name,
            state: state.into(),
            status: c.status.clone().unwrap_or_default(),
            workspace: c
                .labels
                .as_ref()
                .and_then(|l| l.get(launch::LABEL_WORKSPACE))
                .cloned()
                .unwrap_or_default(),
        })
    }

    /// The agent is done: nothing runs in the container any more.
    pub(crate) fn exited(&self) -> bool {
        matches!(self.state.as_str(), "exited" | "dead")
    }

    fn exit_code(&self) -> Option<i64> {
        let rest = self.status.strip_prefix("Exited (")?;
        rest[..rest.find(')')?].parse().ok()
    }
}

/// The host's view of one session from the list.
pub(crate) fn liveness(seen: Option<&Seen>) -> Liveness {
    let Some(s) = seen else {
        return Liveness::gone("container not found");
    };
    let (alive, running, detail) = match s.state.as_str() {
        "running" => (true, Some(true), String::new()),
        "paused" => (true, Some(true), "the container is paused".into()),
        // Starting up: neither alive nor dead yet.
        "created" | "restarting" => (true, None, format!("the container is {}", s.state)),
        "exited" | "dead" => (
            false,
            Some(false),
            match s.exit_code() {
                Some(launch::EXIT_TMUX_FAILED) => "tmux could not start in the container".into(),
                Some(launch::EXIT_SEED_FAILED) => {
                    "the workspace could not be prepared in the container".into()
                }
                Some(137) => {
                    "the container was killed (status 137: SIGKILL or out of memory)".into()
                }
                Some(code) => format!("the agent exited with status {code}"),
                None => format!("the container is {}", s.state),
            },
        ),
        other => (false, None, format!("the container is {other}")),
    };
    Liveness {
        alive,
        session_exists: !matches!(s.state.as_str(), "removing"),
        process_running: running,
        detail,
        ..Liveness::default()
    }
}

/// Every target's liveness from `seen` (one list call), and the screens (and status tails) the
/// host asked for: one exec per running container, all at once; an exited one's screen is the
/// end of its log.
pub(crate) fn probe(
    engine: &Engine,
    ctx: &Ctx,
    seen: &HashMap<String, Seen>,
    req: ProbeRequest,
) -> Result<ProbeResponse, SdkError> {
    let mut results: BTreeMap<String, Liveness> = req
        .targets
        .iter()
        .map(|t| (t.handle.id.clone(), liveness(seen.get(&t.handle.id))))
        .collect();
    let lines = req.capture_lines.map(|l| l.clamp(1, 500));
    let tail_bytes = req.status_tail_bytes.map(|b| b.clamp(1, 1 << 20));
    let mirror_bytes = container::mirror_bytes(req.mirror_bytes);
    let mirrors = req.targets.iter().any(|t| t.mirror.is_some());
    if lines.is_none() && tail_bytes.is_none() && !mirrors {
        return Ok(ProbeResponse { results });
    }
    let docker = engine.docker();
    let futs: Vec<_> = req
        .targets
        .iter()
        .filter_map(|t| {
            let s = seen.get(&t.handle.id)?;
            (s.state == "running" || s.exited()).then_some((t, s.exited()))
        })
        .map(|(t, exited)| async move {
            let id = t.handle.id.clone();
            if exited {
                let text = match lines {
                    Some(n) => logs(docker, &id, n).await.ok(),
                    None => None,
                };
                let mut looked = container::Looked::log(text);
                if let Some(m) = t.mirror.as_ref().filter(|_| t.handle.inside().is_some()) {
                    looked.files = final_records(docker, &id, m, mirror_bytes).await;
                }
                return (id, looked);
            }
            let look = container::Look::of(t, tail_bytes, mirror_bytes);
            let out = exec_async(docker, &id, look.argv(), None)
                .await
                .ok()
                .filter(|o| o.success());
            match out {
                Some(o) => (id, look.split(&o.stdout)),
                None => (id, container::Looked::default()),
            }
        })
        .collect();
    for (id, looked) in engine.all(ctx, "capture screens", futs)? {
        if let Some(l) = results.get_mut(&id) {
            looked.fill(l, lines);
        }
    }
    Ok(ProbeResponse { results })
}

/// The most of one root's archive read from an ended container.
const MAX_ARCHIVE: usize = 64 << 20;

/// What an ended container's followed files gained since the last look, read through the
/// archive API (which works on a stopped container): the agent's last turn, written after the
/// last tick, reaches the host's copy before a restore needs it.
async fn final_records(
    docker: &Docker,
    name: &str,
    m: &ao_plugin_api::slots::runtime::Mirror,
    bytes: u32,
) -> Vec<ao_plugin_api::slots::runtime::FileChunk> {
    let mut out = Vec::new();
    for root in &m.roots {
        let opts = DownloadFromContainerOptionsBuilder::new()
            .path(root)
            .build();
        let mut stream = docker.download_from_container(name, Some(opts));
        let mut tar = Vec::new();
        while let Some(piece) = stream.next().await {
            match piece {
                Ok(b) if tar.len() + b.len() <= MAX_ARCHIVE => tar.extend_from_slice(&b),
                // Not there (404), or too big to bring at once: nothing from this root.
                _ => {
                    tar.clear();
                    break;
                }
            }
        }
        out.extend(container::records_in_tar(root, &tar, m, bytes));
    }
    out
}

/// The last `lines` lines a container wrote to stdout (the launch script's final screen).
pub(crate) async fn logs(
    docker: &Docker,
    name: &str,
    lines: u32,
) -> Result<String, bollard::errors::Error> {
    let opts = LogsOptionsBuilder::new()
        .stdout(true)
        .stderr(true)
        .tail(&lines.to_string())
        .build();
    let mut stream = docker.logs(name, Some(opts));
    let mut text = String::new();
    while let Some(chunk) = stream.next().await {
        text.push_str(&String::from_utf8_lossy(&chunk?.into_bytes()));
    }
    Ok(text)
}

/// Checks a workspace volume for work that is not pushed, in a short-lived container of the
/// same image with no network; `Some(what)` when there is some or when it cannot be told
/// (a volume is kept rather than risk the work).
pub(crate) fn unpushed(
    engine: &Engine,
    ctx: &Ctx,
    image: &str,
    volume: &str,
) -> Result<Option<String>, SdkError> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let name = format!("{volume}-check-{nanos}");
    let docker = engine.docker();
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        cmd: Some(vec![
            "/bin/sh".into(),
            "-c".into(),
            container::UNPUSHED_CHECK.into(),
        ]),
        entrypoint: Some(vec![]),
        labels: Some(HashMap::from([(
            launch::LABEL_RUNTIME.to_string(),
            "docker-check".to_string(),
        )])),
        host_config: Some(HostConfig {
            init: Some(true),
            network_mode: Some("none".into()),
            cap_drop: Some(vec!["ALL".into()]),
            security_opt: Some(vec!["no-new-privileges".into()]),
            mounts: Some(vec![Mount {
                typ: Some(MountType::VOLUME),
                source: Some(volume.to_string()),
                target: Some(launch::CLONE_PATH.into()),
                read_only: Some(true),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    };
    let run = engine.within(ctx, "check the workspace volume", async {
        let opts = CreateContainerOptionsBuilder::new().name(&name).build();
        docker.create_container(Some(opts), body).await?;
        docker.start_container(&name, None).await?;
        // A non-zero exit comes back as an error item; the log says what happened.
        let mut wait = docker.wait_container(&name, None);
        while wait.next().await.is_some() {}
        logs(docker, &name, 20).await
    });
    let opts = RemoveContainerOptionsBuilder::new().force(true).build();
    let _ = engine.run(
        ctx,
        "remove the check",
        docker.remove_container(&name, Some(opts)),
    );
    let text = match run {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => return Ok(Some(format!("it could not be checked: {e}"))),
        Err(e) => return Ok(Some(format!("it could not be checked: {e}"))),
    };
    Ok(container::parse_unpushed(&text))
}

/// Memory in use (without the page cache the kernel can drop), MB.
pub(crate) fn memory_mb(s: &ContainerStatsResponse) -> Option<f64> {
    let m = s.memory_stats.as_ref()?;
    let usage = m.usage? as f64;
    let cache = m
        .stats
        .as_ref()
        .and_then(|st| {
            st.get("inactive_file")
                .or_else(|| st.get("total_inactive_file"))
        })
        .copied()
        .unwrap_or(0) as f64;
    Some((usage - cache).max(0.0) / (1024.0 * 1024.0))
}

/// CPU use since the engine's previous sample, in percent of one CPU.
pub(crate) fn cpu_percent(s: &ContainerStatsResponse) -> Option<f64> {
    let now = s.cpu_stats.as_ref()?;
    let before = s.precpu_stats.as_ref()?;
    let used = now.cpu_usage.as_ref()?.total_usage? as f64
        - before.cpu_usage.as_ref()?.total_usage? as f64;
    let system = now.system_cpu_usage? as f64 - before.system_cpu_usage? as f64;
    let cpus = now.online_cpus.unwrap_or(1) as f64;
    (system > 0.0 && used >= 0.0).then(|| used / system * cpus * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(state: &str, status: &str) -> Seen {
        Seen {
            name: "h-app-1".into(),
            state: state.into(),
            status: status.into(),
            workspace: "clone".into(),
        }
    }

    #[test]
    fn container_states_map_to_liveness() {
        let gone = liveness(None);
        assert!(!gone.session_exists && !gone.alive);
        let up = liveness(Some(&seen("running", "Up 2 minutes")));
        assert!(up.alive && up.session_exists && up.process_running == Some(true));
        let done = liveness(Some(&seen("exited", "Exited (3) 5 seconds ago")));
        assert!(!done.alive && done.session_exists && done.process_running == Some(false));
        assert_eq!(done.detail, "the agent exited with status 3");
        let tmux = liveness(Some(&seen("exited", "Exited (125) 1 second ago")));
        assert_eq!(tmux.detail, "tmux could not start in the container");
        let starting = liveness(Some(&seen("created", "Created")));
        assert!(starting.session_exists && starting.process_running.is_none());
    }
}
