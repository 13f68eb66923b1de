//! What a session's container is: its launch script, labels, mounts, limits and hardening.
//! Pure: built from the config and the request, checked by unit tests, sent by `lib.rs`.
//!
//! The container runs the SDK's launch script ([`LAUNCH`], under Docker's init): it lives
//! exactly as long as its agent and keeps its last screen in its log.

use crate::config::{Config, WorkspaceMode};
use ao_plugin_api::sdk::SdkError;
use ao_plugin_api::slots::runtime::CreateRequest;
use bollard::models::{ContainerCreateBody, HostConfig, Mount, MountTmpfsOptions, MountType};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use ao_plugin_api::sdk::container;
pub(crate) use ao_plugin_api::sdk::container::{
    CLONE_PATH, EXIT_SEED_FAILED, EXIT_TMUX_FAILED, LAUNCH, SEED_PATH, SOCKET, TARGET,
};

/// Labels: the index of one list call per tick. `instance` keeps two `ao` configs on one engine
/// apart; nothing secret ever goes in a label.
pub(crate) const LABEL_RUNTIME: &str = "ao.runtime";
pub(crate) const LABEL_SESSION: &str = "ao.session";
pub(crate) const LABEL_INSTANCE: &str = "ao.instance";
pub(crate) const LABEL_WORKSPACE: &str = "ao.workspace";

/// Everything `create` needs to know that is not in the config.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plan {
    pub(crate) body: ContainerCreateBody,
    /// The workspace volume to create first (clone mode).
    pub(crate) volume: Option<String>,
    /// Where the agent works, inside the container.
    pub(crate) workdir: String,
}

/// The workspace volume of a session.
pub(crate) fn volume_name(runtime_name: &str) -> String {
    format!("ao-ws-{runtime_name}")
}

/// The container for `req`. `host_env` reads ao's own environment (for `passEnv`); `local`
/// says whether the engine can see this machine's files; `files_inside`, whether the session's
/// own files are copied in ([`ao_plugin_api::sdk::container::archive`]) rather than mounted.
pub(crate) fn plan(
    config: &Config,
    req: &CreateRequest,
    local: bool,
    files_inside: bool,
    host_env: &dyn Fn(&str) -> Option<String>,
) -> Result<Plan, SdkError> {
    ao_plugin_api::sdk::command::check_launch(&req.argv, &req.env)?;
    let mode = config.workspace;
    if mode == WorkspaceMode::Mount && !local {
        return Err(SdkError::InvalidConfig(
            "runtimeConfig.workspace `mount` needs a local engine (unix://); a remote engine clones the workspace inside".into(),
        ));
    }
    let mut mounts = Vec::new();
    let bind = |source: &str, target: &str, read_only: bool| Mount {
        typ: Some(MountType::BIND),
        source: Some(source.to_string()),
        target: Some(target.to_string()),
        read_only: Some(read_only),
        ..Default::default()
    };
    // tmux's socket directory, writable by whatever user the agent runs as.
    mounts.push(Mount {
        typ: Some(MountType::TMPFS),
        target: Some("/run/ao".into()),
        tmpfs_options: Some(MountTmpfsOptions {
            mode: Some(0o1777),
            ..Default::default()
        }),
        ..Default::default()
    });
    let workspace = Path::new(&req.workspace_path);
    let git_dir = if local {
        common_git_dir(workspace)
    } else {
        None
    };
    let (workdir, volume) = match mode {
        WorkspaceMode::Mount => {
            mounts.push(bind(&req.workspace_path, &req.workspace_path, false));
            // A worktree's `.git` names the repository's own: the agent commits into it.
            if let Some(g) = git_dir.as_ref().filter(|g| !g.starts_with(workspace)) {
                let g = g.display().to_string();
                mounts.push(bind(&g, &g, false));
            }
            (req.workspace_path.clone(), None)
        }
        WorkspaceMode::Clone => {
            let volume = volume_name(&req.runtime_name);
            mounts.push(Mount {
                typ: Some(MountType::VOLUME),
                source: Some(volume.clone()),
                target: Some(CLONE_PATH.into()),
                ..Default::default()
            });
            if local {
                mounts.push(bind(&req.workspace_path, SEED_PATH, true));
                if let Some(g) = git_dir.as_ref().filter(|g| !g.starts_with(workspace)) {
                    let g = g.display().to_string();
                    mounts.push(bind(&g, &g, true));
                }
            }
            (CLONE_PATH.to_string(), Some(volume))
        }
    };
    let mut env: BTreeMap<String, String> = req.env.clone();
    if !files_inside {
        // The hooks' `ao hook` and the status file they append to, at the paths the agent
        // plugin wrote into the agent's config: the host reads the file as for any session.
        if let Some(dir) = env
            .get("AO_STATUS_FILE")
            .and_then(|f| Path::new(f).parent())
        {
            let d = dir.display().to_string();
            mounts.push(bind(&d, &d, false));
        }
        if let Some(exe) = env.get("AO_EXE") {
            mounts.push(bind(exe, exe, true));
        }
        // The session's system prompt, which some agents are given by path (Aider's --read).
        if let Some(prompts) = env
            .get("AO_DATA_DIR")
            .map(|d| Path::new(d).join("prompts"))
            .filter(|d| d.is_dir())
        {
            let d = prompts.display().to_string();
            mounts.push(bind(&d, &d, true));
        }
    }
    for m in &config.mounts {
        if !local {
            return Err(SdkError::InvalidConfig(
                "runtimeConfig.mounts needs a local engine (unix://)".into(),
            ));
        }
        let target = m.target.clone().unwrap_or_else(|| m.source.clone());
        mounts.push(bind(&m.source, &target, m.read_only));
    }
    // The host's PATH means nothing inside: the image's, after the directory of the mounted
    // `ao` or its shim (so `ao hook` resolves as it does on the host).
    let mut path = config.path.clone();
    if let Some(dir) = env.get("AO_EXE").and_then(|e| Path::new(e).parent()) {
        path = format!("{}:{path}", dir.display());
    }
    env.insert("PATH".into(), path);
    for name in &config.pass_env {
        // By reference: the value is read from ao's environment now and never stored.
        let value = host_env(name).ok_or_else(|| {
            SdkError::InvalidConfig(format!(
                "runtimeConfig.passEnv names {name}, which is not set in ao's environment"
            ))
        })?;
        env.insert(name.clone(), value);
    }
    // Mount mode writes into the host's files: as the user ao runs as, not as root, so the
    // worktree never fills with files its owner cannot change. That uid has no home in the
    // image; the agent gets one that is writable.
    let mut user = config.user.clone();
    if user.is_none() && mode == WorkspaceMode::Mount {
        let (uid, gid) = host_ids();
        user = Some(format!("{uid}:{gid}"));
        if uid != 0 {
            env.entry("HOME".into())
                .or_insert_with(|| "/tmp/ao-home".into());
        }
    }
    env.insert("TERM".into(), "xterm-256color".into());
    env.insert("AO_COLS".into(), config.width.to_string());
    env.insert("AO_ROWS".into(), config.height.to_string());
    env.insert("AO_WORKDIR".into(), workdir.clone());
    if mode == WorkspaceMode::Clone {
        // Seeded from the mount, or from what `create` copies in (see `upload::seed`).
        env.insert("AO_SEED".into(), if local { "1" } else { "upload" }.into());
    }
    let mut cmd = vec![
        "/bin/sh".to_string(),
        "-c".into(),
        LAUNCH.into(),
        "ao-launch".into(),
    ];
    cmd.extend(req.argv.iter().cloned());
    let labels = HashMap::from([
        (LABEL_RUNTIME.to_string(), "docker".to_string()),
        (LABEL_SESSION.to_string(), req.session_id.clone()),
        (
            LABEL_INSTANCE.to_string(),
            container::instance_of(&req.runtime_name, &req.session_id),
        ),
        (
            LABEL_WORKSPACE.to_string(),
            match mode {
                WorkspaceMode::Clone => "clone",
                WorkspaceMode::Mount => "mount",
            }
            .to_string(),
        ),
    ]);
    let host_config = HostConfig {
        init: Some(true),
        memory: config.memory_bytes()?,
        nano_cpus: config.cpus.map(|c| (c * 1e9) as i64),
        pids_limit: config.pids_limit,
        security_opt: Some(vec!["no-new-privileges".into()]),
        cap_drop: Some(vec!["ALL".into()]),
        cap_add: (!config.cap_add.is_empty()).then(|| config.cap_add.clone()),
        network_mode: config.network.clone(),
        mounts: Some(mounts),
        auto_remove: Some(false),
        ..Default::default()
    };
    let body = ContainerCreateBody {
        image: Some(config.image.clone()),
        cmd: Some(cmd),
        // The launch script is the command; an image's entrypoint would wrap it.
        entrypoint: Some(vec![]),
        env: Some(env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        labels: Some(labels),
        user,
        working_dir: Some("/".into()),
        tty: Some(false),
        host_config: Some(host_config),
        ..Default::default()
    };
    Ok(Plan {
        body,
        volume,
        workdir,
    })
}

/// The uid and gid this process runs as.
fn host_ids() -> (u32, u32) {
    // SAFETY: getuid and getgid cannot fail and touch no memory.
    unsafe { (libc::getuid(), libc::getgid()) }
}

/// The repository directory a workspace's `.git` file points into (a worktree's common git
/// dir); `None` for a workspace that holds its own `.git` directory.
fn common_git_dir(workspace: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(workspace.join(".git")).ok()?;
    let gitdir = PathBuf::from(text.trim().strip_prefix("gitdir:")?.trim());
    let gitdir = if gitdir.is_absolute() {
        gitdir
    } else {
        workspace.join(gitdir)
    };
    match std::fs::read_to_string(gitdir.join("commondir")) {
        Ok(c) => {
            let c = PathBuf::from(c.trim());
            Some(if c.is_absolute() { c } else { gitdir.join(c) })
                .and_then(|p| p.canonicalize().ok())
        }
        Err(_) => Some(gitdir),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MountSpec;

    fn req(workspace: &str) -> CreateRequest {
        CreateRequest {
            copies: Vec::new(),
            session_id: "app-3".into(),
            runtime_name: "abc123-app-3".into(),
            workspace_path: workspace.into(),
            argv: vec!["agent".into(), "--flag".into(), "$(rm -rf /)".into()],
            env: BTreeMap::from([
                ("AO_STATUS_FILE".into(), "/data/status/app-3.jsonl".into()),
                ("AO_EXE".into(), "/opt/ao/bin/ao".into()),
                ("PATH".into(), "/opt/ao/bin:/host/only".into()),
            ]),
            files: Vec::new(),
            scratch_dir: None,
        }
    }

    fn config(mode: WorkspaceMode) -> Config {
        let mut c: Config = serde_json::from_value(serde_json::json!({"image": "img:1"})).unwrap();
        c.workspace = mode;
        c
    }

    fn targets(p: &Plan) -> Vec<(String, bool)> {
        p.body
            .host_config
            .as_ref()
            .unwrap()
            .mounts
            .as_ref()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    format!(
                        "{:?}:{}->{}",
                        m.typ.unwrap(),
                        m.source.clone().unwrap_or_default(),
                        m.target.clone().unwrap()
                    ),
                    m.read_only.unwrap_or(false),
                )
            })
            .collect()
    }

    #[test]
    fn the_argv_follows_the_script_untouched_and_the_container_is_hardened() {
        let p = plan(
            &config(WorkspaceMode::Clone),
            &req("/w/app-3"),
            true,
            false,
            &|_| None,
        )
        .unwrap();
        let cmd = p.body.cmd.clone().unwrap();
        assert_eq!(cmd[..2], ["/bin/sh", "-c"]);
        assert_eq!(cmd[3..], ["ao-launch", "agent", "--flag", "$(rm -rf /)"]);
        let drain = ao_plugin_api::sdk::tmux::DRAIN_PIPE;
        assert!(cmd[2].contains(&format!("pipe-pane -t =ao: '{drain}'")));
        let hc = p.body.host_config.clone().unwrap();
        assert_eq!(hc.init, Some(true));
        assert_eq!(hc.cap_drop, Some(vec!["ALL".to_string()]));
        assert_eq!(hc.security_opt, Some(vec!["no-new-privileges".to_string()]));
        assert_eq!(p.body.tty, Some(false));
        let labels = p.body.labels.clone().unwrap();
        assert_eq!(labels[LABEL_INSTANCE], "abc123");
        assert_eq!(labels[LABEL_SESSION], "app-3");
        assert_eq!(p.volume.as_deref(), Some("ao-ws-abc123-app-3"));
        let env = p.body.env.clone().unwrap();
        assert!(env.contains(&"AO_SEED=1".to_string()), "{env:?}");
        assert!(
            env.contains(&"PATH=/opt/ao/bin:/usr/local/bin:/usr/bin:/bin".to_string()),
            "{env:?}"
        );
        // Nothing from the environment reaches a label.
        assert!(!labels.values().any(|v| v.contains("/opt/ao")));
        let m = targets(&p);
        assert!(m.contains(&("VOLUME:ao-ws-abc123-app-3->/workspace".into(), false)));
        assert!(m.contains(&("BIND:/w/app-3->/ao/seed".into(), true)));
        assert!(m.contains(&("BIND:/data/status->/data/status".into(), false)));
        assert!(m.contains(&("BIND:/opt/ao/bin/ao->/opt/ao/bin/ao".into(), true)));
    }

    #[test]
    fn the_prompts_directory_is_mounted_read_only_when_there_is_one() {
        let data = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(data.path().join("prompts")).unwrap();
        let mut r = req("/w");
        r.env
            .insert("AO_DATA_DIR".into(), data.path().display().to_string());
        let p = plan(&config(WorkspaceMode::Clone), &r, true, false, &|_| None).unwrap();
        let d = data.path().join("prompts").display().to_string();
        assert!(targets(&p).contains(&(format!("BIND:{d}->{d}"), true)));
        // A remote engine cannot see it, and nothing is mounted there.
        let p = plan(&config(WorkspaceMode::Clone), &r, false, true, &|_| None).unwrap();
        assert!(!targets(&p).iter().any(|(m, _)| m.contains("prompts")));
    }

    #[test]
    fn session_files_inside_mount_none_of_the_hosts_but_the_seed() {
        let p = plan(
            &config(WorkspaceMode::Clone),
            &req("/w/app-3"),
            true,
            true,
            &|_| None,
        )
        .unwrap();
        let m = targets(&p);
        assert!(m.contains(&("BIND:/w/app-3->/ao/seed".into(), true)));
        assert!(
            !m.iter()
                .any(|(t, _)| t.contains("/data/status") || t.contains("/opt/ao"))
        );
        // The shim is at ao's own path, first on PATH.
        let env = p.body.env.clone().unwrap();
        assert!(
            env.contains(&"PATH=/opt/ao/bin:/usr/local/bin:/usr/bin:/bin".to_string()),
            "{env:?}"
        );
    }

    #[test]
    fn mount_mode_binds_the_workspace_and_its_repository_at_their_own_paths() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        let ws = dir.path().join("ws");
        std::fs::create_dir_all(repo.join(".git/worktrees/ws")).unwrap();
        std::fs::create_dir_all(&ws).unwrap();
        std::fs::write(
            ws.join(".git"),
            format!("gitdir: {}\n", repo.join(".git/worktrees/ws").display()),
        )
        .unwrap();
        std::fs::write(repo.join(".git/worktrees/ws/commondir"), "../..\n").unwrap();
        let w = ws.display().to_string();
        let p = plan(
            &config(WorkspaceMode::Mount),
            &req(&w),
            true,
            false,
            &|_| None,
        )
        .unwrap();
        let g = repo
            .join(".git")
            .canonicalize()
            .unwrap()
            .display()
            .to_string();
        let m = targets(&p);
        assert!(m.contains(&(format!("BIND:{w}->{w}"), false)), "{m:?}");
        assert!(m.contains(&(format!("BIND:{g}->{g}"), false)), "{m:?}");
        assert_eq!(p.workdir, w);
        assert!(p.volume.is_none());
        // A remote engine cannot see host paths.
        let remote = plan(
            &config(WorkspaceMode::Mount),
            &req(&w),
            false,
            true,
            &|_| None,
        );
        assert!(matches!(remote, Err(SdkError::InvalidConfig(m)) if m.contains("local engine")));
    }

    #[test]
    fn credentials_come_from_aos_environment_by_name() {
        let mut c = config(WorkspaceMode::Clone);
        c.pass_env = vec!["API_KEY".into()];
        c.mounts = vec![MountSpec {
            source: "/opt/agent".into(),
            target: None,
            read_only: true,
        }];
        let p = plan(&c, &req("/w"), true, false, &|n| {
            (n == "API_KEY").then(|| "sk-1".to_string())
        })
        .unwrap();
        assert!(
            p.body
                .env
                .clone()
                .unwrap()
                .contains(&"API_KEY=sk-1".to_string())
        );
        assert!(targets(&p).contains(&("BIND:/opt/agent->/opt/agent".into(), true)));
        let missing = plan(&c, &req("/w"), true, false, &|_| None);
        assert!(matches!(missing, Err(SdkError::InvalidConfig(m)) if m.contains("API_KEY")));
    }
}
