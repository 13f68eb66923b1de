//! `ao spawn`: a transaction. Every step that makes something is written to the spawn's
//! [journal](crate::fleet::journal) first, and a failure or an interrupt (Ctrl-C, SIGTERM)
//! undoes them all in reverse, so a failed spawn leaves no id, worktree, branch, prompt,
//! metadata or tmux session behind (upstream leaked worktrees and tmux sessions). A spawn
//! killed outright is undone from its journal by the next `ao` command or the daemon.

use crate::Error;
use crate::config::Project;
use crate::config::model::Permissions;
use crate::fleet::journal::{Journal, Outcome, Step};
use crate::fleet::launch::{self, Launched, Up};
use crate::fleet::{Fleet, now_ms};
use crate::lifecycle::events::{Event, EventKind};
use crate::plugins::slots::RuntimeClient;
use crate::prompt::{self, PromptInput};
use crate::store::session::{Role, Session};
use ao_plugin_api::slots::agent::{
    LaunchRequest, LaunchSpec, PermissionMode, PromptDelivery, SetupHooksRequest,
};
use ao_plugin_api::slots::runtime::{CreateRequest, FileCopy, RuntimeHandle};
use ao_plugin_api::slots::tracker::{Issue, IssueRequest, ProjectRef};
use ao_plugin_api::slots::workspace::{self, PostCreate};
use std::collections::BTreeMap;

/// What to spawn.
#[derive(Debug, Clone, Default)]
pub struct SpawnRequest {
    /// The project id.
    pub project: String,
    /// A tracker issue id.
    pub issue: Option<String>,
    /// Agent plugin override.
    pub agent: Option<String>,
    /// Branch override.
    pub branch: Option<String>,
    /// An extra instruction (also the task when there is no issue).
    pub prompt: Option<String>,
}

/// A spawned session.
#[derive(Debug, Clone)]
pub struct Spawned {
    /// The session as written.
    pub session: Session,
    /// Whether the post-launch prompt was acknowledged (None: the prompt went in the argv).
    pub prompt_acknowledged: Option<bool>,
    /// How the agent was first seen.
    pub up: Up,
}

/// Spawns a worker session.
pub async fn spawn(fleet: &Fleet, req: &SpawnRequest) -> Result<Spawned, Error> {
    let p = fleet.project(&req.project)?.clone();
    let mut journal: Option<Journal> = None;
    match run(fleet, &p, req, &mut journal).await {
        Ok(s) => Ok(s),
        Err(e) => {
            if let Some(j) = journal {
                for o in j.roll_back(fleet, &p).await {
                    match o {
                        Outcome::Failed(_, why) => tracing::warn!("spawn rollback: {why}"),
                        Outcome::Unknown(why) => tracing::warn!("spawn rollback: {why}"),
                        Outcome::Undone(_) => {}
                    }
                }
            }
            Err(e)
        }
    }
}

async fn run(
    fleet: &Fleet,
    p: &Project,
    req: &SpawnRequest,
    journal: &mut Option<Journal>,
) -> Result<Spawned, Error> {
    let stop = &fleet.interrupt;
    stop.check()?;
    let store = fleet.store(&p.id);
    let agent_name = req.agent.clone().unwrap_or_else(|| p.agent.clone());
    let agent = fleet.agent(p, &agent_name).await?;
    let runtime = fleet.runtime(p, &p.runtime).await?;
    let workspace = fleet.workspace(p).await?;
    let tracker = fleet.tracker(p).await?;
    if let Some(b) = &req.branch {
        ao_plugin_api::sdk::git::check_branch_name(b)
            .map_err(|e| Error::Invalid(format!("--branch `{b}`: {e}")))?;
        // A worker's branch is its own: never a ref path, never the branch PRs go into.
        if b.starts_with("refs/") {
            return Err(Error::Invalid(format!(
                "--branch `{b}`: give a branch name, not a ref (`{}`)",
                b.trim_start_matches("refs/heads/")
            )));
        }
        if *b == p.default_branch {
            return Err(Error::Invalid(format!(
                "--branch `{b}` is the project's default branch; a session works on a branch \
                 of its own"
            )));
        }
    }
    // A variable the config refers to but ao's environment lacks: before anything is made.
    agent_env(p, &agent_name)?;

    // The issue first: a typo in its number should cost nothing.
    let issue: Option<Issue> = match (&req.issue, &tracker) {
        (Some(id), Some(t)) => Some(t.get_issue(&issue_req(p, id)).await?),
        (Some(id), None) => {
            return Err(Error::Invalid(format!(
                "issue `{id}` given but project `{}` has no tracker (set `repo` or `tracker`)",
                p.id
            )));
        }
        _ => None,
    };

    stop.check()?;
    let id = store.reserve_id(&p.session_prefix)?;
    let tx = match Journal::begin(&store, &id) {
        Ok(j) => journal.insert(j),
        Err(e) => {
            let _ = std::fs::remove_file(store.sessions_dir().join(&id));
            return Err(e);
        }
    };

    let branch = match (&req.branch, &issue, &tracker) {
        (Some(b), _, _) => b.clone(),
        (None, Some(i), _)
            if i.branch_name
                .as_deref()
                .is_some_and(|b| ao_plugin_api::sdk::git::check_branch_name(b).is_ok()) =>
        {
            i.branch_name.clone().unwrap_or_default()
        }
        (None, Some(i), Some(t)) => t.branch_name(&issue_req(p, &i.id)).await?.branch,
        _ => format!("session/{id}"),
    };

    stop.check()?;
    let root = store.worktrees_dir().display().to_string();
    tx.record(Step::WorkspaceIntent {
        path: store.worktrees_dir().join(&id).display().to_string(),
        root: root.clone(),
        repo_path: p.path.display().to_string(),
        branch: branch.clone(),
    })?;
    let ws = workspace
        .create(&workspace::CreateRequest {
            project_id: p.id.clone(),
            session_id: id.clone(),
            repo_path: p.path.display().to_string(),
            root: root.clone(),
            branch: branch.clone(),
            base_branch: p.default_branch.clone(),
            post_create: PostCreate {
                symlinks: p.symlinks.clone(),
                commands: p.post_create.clone(),
            },
        })
        .await?;
    let request = workspace::DestroyRequest {
        path: ws.path.clone(),
        root: store.worktrees_dir().display().to_string(),
        repo_path: p.path.display().to_string(),
        // Made by this very spawn: nothing in it is the user's, nor in a branch it made
        // that still points where it was made.
        force: true,
        delete_branch: match (&ws.head, ws.created_branch) {
            (Some(head), true) => Some(workspace::BranchAt {
                name: ws.branch.clone(),
                head: head.clone(),
            }),
            _ => None,
        },
    };
    tx.record(Step::Workspace { request })?;
    stop.check()?;

    let rules = rules(p);
    let reactions = reaction_lines(p);
    let text = prompt::build(&PromptInput {
        session_id: &id,
        project_id: &p.id,
        repo: p.repo.as_deref(),
        default_branch: &p.default_branch,
        branch: Some(&branch),
        issue: issue.as_ref(),
        rules,
        reactions,
        extra: req.prompt.as_deref(),
    });
    tx.record(Step::File {
        path: store.prompts_dir().join(format!("{id}.md")),
    })?;
    prompt::write(&store.prompts_dir(), &id, &text)
        .map_err(|e| Error::io("could not write the prompt to", store.prompts_dir(), e))?;

    let status_file = fleet.status_file(&p.id, &id);
    if let Some(dir) = status_file.parent() {
        crate::paths::private_dir_all(dir).map_err(|e| Error::io("could not create", dir, e))?;
    }
    tx.record(Step::File {
        path: status_file.clone(),
    })?;
    // Optional: an agent whose hooks travel in its argv has nothing to install.
    if agent.implements(ao_plugin_api::slots::agent::SETUP_WORKSPACE_HOOKS) {
        agent
            .setup_workspace_hooks(&SetupHooksRequest {
                workspace_path: ws.path.clone(),
                session_id: id.clone(),
                status_file: status_file.display().to_string(),
                ao_command: fleet.ao_command(),
            })
            .await?;
    }

    let task = task_prompt(issue.as_ref(), req.prompt.as_deref());
    let launch_req = launch_request(
        fleet,
        p,
        &agent_name,
        &id,
        &ws.path,
        issue.as_ref().map(|i| i.id.clone()),
        Some(task.clone()),
    );
    stop.check()?;
    let spec = agent.launch(&launch_req).await?;

    let now = now_ms();
    let mut s = Session::new(&id, &p.id, now);
    s.role = Role::Worker;
    s.agent = Some(agent_name.clone());
    s.branch = Some(ws.branch.clone());
    s.issue = issue.as_ref().map(|i| i.id.clone());
    s.workspace = Some(ws.path.clone());
    s.agent_session_id = spec.agent_session_id.clone();
    s.process_names = spec.process_names.clone();
    s.summary = issue
        .as_ref()
        .map(|i| one_line(&i.title))
        .or_else(|| Some(one_line(&task)));
    // The reservation's step already undoes the metadata: same file.
    store.write_session(&s)?;

    stop.check()?;
    tx.record(Step::RuntimeIntent {
        runtime: p.runtime.clone(),
        name: runtime_name(fleet, &id),
    })?;
    crate::store::mirror::forget(&crate::lifecycle::mirror::root(fleet, &p.id, &id));
    let start = Start {
        agent: &agent_name,
        id: &id,
        workspace: &ws.path,
        spec: &spec,
        copies: Vec::new(),
    };
    let handle = start_runtime(fleet, p, &runtime, start).await?;
    tx.record(Step::Runtime {
        handle: handle.clone(),
    })?;
    let s = store.update_session(&id, |s| s.runtime_handle = Some(handle.clone()))?;
    // An agent that dies at launch fails the spawn, and everything above is undone.
    let up = stop
        .race(launch::wait_until_up(
            fleet,
            p,
            &Launched {
                agent_name: &agent_name,
                agent: &agent,
                runtime: &runtime,
                handle: &handle,
                process_names: &s.process_names,
                session_id: &id,
                workspace: &ws.path,
                agent_session_id: s.agent_session_id.clone(),
                created_at: s.created_at,
            },
            fleet.config.launch_timeout,
        ))
        .await?;

    // A prompt that does not arrive is reported, not undone; an interrupt while it is being
    // delivered still undoes the spawn: its user asked for no session.
    let mut prompt_acknowledged = None;
    if spec.prompt_delivery == PromptDelivery::PostLaunch {
        let outcome = stop
            .race(async { Ok(crate::fleet::send::send(fleet, &s, &task).await) })
            .await?;
        prompt_acknowledged = Some(outcome.map(|o| o.acknowledged).unwrap_or(false));
    }
    if let Some(j) = journal.take() {
        j.finish();
    }
    let mut ev = Event::new(
        EventKind::SessionSpawned,
        &id,
        format!(
            "spawned on {} ({})",
            ws.branch,
            s.agent.as_deref().unwrap_or("?")
        ),
    );
    ev.data = serde_json::json!({
        "branch": ws.branch, "issue": s.issue, "workspace": ws.path,
        "promptAcknowledged": prompt_acknowledged,
        "signOfLife": matches!(up, Up::Seen(_)),
    });
    crate::lifecycle::record(fleet, &p.id, &ev);
    Ok(Spawned {
        session: s,
        prompt_acknowledged,
        up,
    })
}

/// The launch parameters of a session (a fresh start or a restore) for `agent`.
pub(crate) fn launch_request(
    fleet: &Fleet,
    p: &Project,
    agent: &str,
    id: &str,
    workspace: &str,
    issue: Option<String>,
    prompt: Option<String>,
) -> LaunchRequest {
    let prompt_file = fleet.store(&p.id).prompts_dir().join(format!("{id}.md"));
    LaunchRequest {
        session_id: id.to_string(),
        project_id: p.id.clone(),
        workspace_path: workspace.to_string(),
        issue_id: issue,
        prompt,
        system_prompt_file: prompt_file
            .is_file()
            .then(|| prompt_file.display().to_string()),
        permissions: match p.permissions {
            Permissions::Default => PermissionMode::Default,
            Permissions::Skip => PermissionMode::Skip,
        },
        model: p.model.clone(),
        status_file: Some(fleet.status_file(&p.id, id).display().to_string()),
        extra_args: p.agent_env.args(agent == p.agent).to_vec(),
        ao_command: fleet.ao_command(),
    }
}

/// Starts `agent`'s runtime session for `spec` in `workspace` (a spawn or a restore).
/// What [`start_runtime`] starts: the agent `agent` of session `id` in `workspace`, as `spec`
/// says, with `copies` put inside (a restore's records).
pub(crate) struct Start<'a> {
    pub agent: &'a str,
    pub id: &'a str,
    pub workspace: &'a str,
    pub spec: &'a LaunchSpec,
    pub copies: Vec<FileCopy>,
}

pub(crate) async fn start_runtime(
    fleet: &Fleet,
    p: &Project,
    runtime: &RuntimeClient,
    start: Start<'_>,
) -> Result<RuntimeHandle, Error> {
    let Start {
        agent,
        id,
        workspace,
        spec,
        copies,
    } = start;
    let status_file = fleet.status_file(&p.id, id);
    let mut env = spec.env.clone();
    // The user's environment over the plugin's; ao's own AO_* variables over both.
    env.extend(agent_env(p, agent)?);
    runtime
        .create(&CreateRequest {
            copies,
            session_id: id.to_string(),
            runtime_name: runtime_name(fleet, id),
            workspace_path: workspace.to_string(),
            argv: spec.argv.clone(),
            env: session_env(fleet, p, id, &status_file, env),
            files: session_files(fleet, p, id, &status_file),
            scratch_dir: Some(
                fleet
                    .store(&p.id)
                    .root()
                    .join("scratch")
                    .display()
                    .to_string(),
            ),
        })
        .await
}

/// The host files a session reads at the same path, for runtimes that copy them in: its system
/// prompt, and what its agent plugin wrote beside its status file (`<status>.opencode.js`).
fn session_files(
    fleet: &Fleet,
    p: &Project,
    id: &str,
    status_file: &std::path::Path,
) -> Vec<String> {
    let mut files = Vec::new();
    let prompt = fleet.store(&p.id).prompts_dir().join(format!("{id}.md"));
    if prompt.is_file() {
        files.push(prompt.display().to_string());
    }
    if let (Some(dir), Some(name)) = (status_file.parent(), status_file.file_name()) {
        let prefix = format!("{}.", name.to_string_lossy());
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with(&prefix) && e.path().is_file() {
                files.push(e.path().display().to_string());
            }
        }
    }
    files.sort();
    files
}

/// The runtime's name for a session: unique per config directory, so two checkouts never
/// share tmux session names.
pub(crate) fn runtime_name(fleet: &Fleet, id: &str) -> String {
    format!(
        "{}-{id}",
        fleet.config.hash.get(..6).unwrap_or(&fleet.config.hash)
    )
}

fn issue_req(p: &Project, id: &str) -> IssueRequest {
    IssueRequest {
        project: ProjectRef {
            project_id: p.id.clone(),
            repo: p.repo.clone().unwrap_or_default(),
        },
        issue_id: id.to_string(),
    }
}

/// The configured environment of `agent`'s process (`env`, `passEnv`), resolved from ao's own
/// environment now; held in memory only.
fn agent_env(p: &Project, agent: &str) -> Result<BTreeMap<String, String>, Error> {
    p.agent_env
        .resolve(agent == p.agent, &|name| std::env::var(name).ok())
        .map_err(|e| Error::Invalid(format!("project `{}`: {e} in ao's environment", p.id)))
}

/// The environment every agent process gets, over the agent plugin's own.
fn session_env(
    fleet: &Fleet,
    p: &Project,
    id: &str,
    status_file: &std::path::Path,
    mut env: BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    env.insert("AO_SESSION".into(), id.to_string());
    env.insert("AO_PROJECT_ID".into(), p.id.clone());
    env.insert(
        "AO_DATA_DIR".into(),
        fleet.store(&p.id).root().display().to_string(),
    );
    env.insert("AO_STATUS_FILE".into(), status_file.display().to_string());
    env.insert(
        "AO_CONFIG_PATH".into(),
        fleet.config.file.display().to_string(),
    );
    env.insert("AO_CALLER_TYPE".into(), "agent".into());
    // Where `ao` is, for runtimes that run the agent elsewhere (a container mounts it there so
    // the hooks' `ao hook` resolves at the same path).
    env.insert("AO_EXE".into(), fleet.ao_exe.display().to_string());
    // Agents find `ao` (for `ao report`) first on PATH.
    if let Some(dir) = fleet.ao_exe.parent() {
        // A PATH the user configured (or the plugin set) is kept, with ao's directory first.
        let path = env
            .get("PATH")
            .cloned()
            .unwrap_or_else(|| std::env::var("PATH").unwrap_or_default());
        let dir = dir.display().to_string();
        if !path.split(':').any(|d| d == dir) {
            env.insert("PATH".into(), format!("{dir}:{path}"));
        }
    }
    env
}

pub(crate) fn rules(p: &Project) -> Vec<String> {
    let mut out: Vec<String> = p.agent_rules.iter().cloned().collect();
    if let Some(f) = &p.agent_rules_file {
        match crate::files::read_regular(f, 1 << 20) {
            Ok(t) => out.push(t),
            Err(e) => tracing::warn!("agentRulesFile {}: {e}", f.display()),
        }
    }
    out
}

/// What ao will do for the agent, for the prompt.
pub(crate) fn reaction_lines(p: &Project) -> Vec<(String, String)> {
    use crate::config::model::ReactionAction::*;
    p.reactions
        .iter()
        .filter(|(_, r)| r.auto && r.action != Notify)
        .map(|(k, r)| {
            let what = match (k.as_str(), r.action) {
                ("ci-failed", _) => {
                    "when CI fails, you get the failed checks and their logs; fix and push"
                }
                ("changes-requested", _) => {
                    "review comments are sent to you with file:line; address each and push"
                }
                ("bugbot-comments", _) => {
                    "automated review comments are sent to you; address them and push"
                }
                ("merge-conflicts", _) => {
                    "on conflicts with the base branch you are asked to rebase"
                }
                (_, AutoMerge) => "ao merges the PR once it is approved, green and mergeable",
                _ => "ao sends you a message",
            };
            (k.clone(), what.to_string())
        })
        .collect()
}

fn task_prompt(issue: Option<&Issue>, extra: Option<&str>) -> String {
    match (issue, extra) {
        (Some(i), _) => format!(
            "Work on issue #{}: {}. The full task and how to work here are in your instructions.",
            i.id,
            one_line(&i.title)
        ),
        (None, Some(t)) => t.to_string(),
        (None, None) => "Start on the task in your instructions.".to_string(),
    }
}

fn one_line(s: &str) -> String {
    let flat: String = prompt::sanitize(s, 400)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let mut out: String = flat.chars().take(80).collect();
    if flat.chars().count() > 80 {
        out.push('…');
    }
    out
}
