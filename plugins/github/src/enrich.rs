//! Batch enrichment with cost discipline. Per repository and tick:
//!
//! 1. one conditional `GET /pulls?state=all&sort=updated` (a free `304` when no PR changed;
//!    otherwise the list says which PRs moved since the last tick, and finds new PRs for
//!    branches);
//! 2. one conditional `GET /git/ref/heads/<base>` per base branch (a moved base can change
//!    every PR's mergeability without touching the PRs);
//! 3. conditional check-runs/status GETs for heads whose CI is not settled, and for settled
//!    ones every `settledCiRecheckTicks` ticks (re-runs), spread over ticks;
//!
//! then GraphQL for what changed only, at the depth the change calls for, ≤ 50 PRs a query.
//! Webhook deliveries mark PRs and commits dirty, which forces them into the next batch.

use crate::client::{Client, Got};
use crate::facts;
use crate::query::{self, Item, Level};
use ao_plugin_api::sdk::{Ctx, SdkError};
use ao_plugin_api::slots::scm::{
    CiStatus, EnrichBatchRequest, EnrichBatchResponse, PrFacts, PrInfo, PrKey, PrState,
};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

/// Tuning from the component's config.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) rest_reserve: u64,
    pub(crate) graphql_reserve: u64,
    pub(crate) settled_recheck_ticks: u64,
    pub(crate) extra_bots: Vec<String>,
}

struct Entry {
    facts: PrFacts,
    /// `updatedAt` as GitHub wrote it when the facts were read.
    updated: String,
    /// Read within a second or two of that `updatedAt`: timestamps have one-second
    /// resolution, so a later change in the same second would look identical in the list.
    ambiguous: bool,
}

#[derive(Default)]
struct RepoMark {
    /// The newest `updated_at` seen in the PR list.
    watermark: Option<String>,
    /// Base branch → its head.
    bases: HashMap<String, String>,
}

#[derive(Default)]
struct Cache {
    prs: HashMap<String, Entry>,
    repos: HashMap<String, RepoMark>,
    /// Branches known to have no PR as of their repo's last list change.
    absent: HashSet<(String, String)>,
    /// Branches whose PR was found, until the list shows a newer one.
    found: HashMap<(String, String), PrInfo>,
    dirty: HashSet<String>,
    dirty_shas: HashSet<(String, String)>,
    tick: u64,
}

/// The SCM component's memory between ticks.
#[derive(Default)]
pub(crate) struct Enricher {
    cache: Mutex<Cache>,
    /// One batch at a time: a batch reads and writes the cache around its requests.
    busy: Mutex<()>,
}

/// A PR as the REST list shows it.
struct Listed {
    updated: String,
    head_sha: String,
    open: bool,
    info: PrInfo,
}

fn listed(repo: &str, v: &Value) -> Option<Listed> {
    Some(Listed {
        updated: v["updated_at"].as_str()?.to_string(),
        head_sha: v["head"]["sha"].as_str().unwrap_or_default().to_string(),
        open: v["state"].as_str() == Some("open"),
        info: facts::rest_info(repo, v)?,
    })
}

/// Conditional GETs of a head's check runs and statuses. `true` when CI may differ from
/// `facts`: an answer changed and, when the facts are about this head, says something else.
/// How many CI probes run at once when a cold tick probes every PR's head (against GitHub's
/// ~100 ms per request, 500 sequential probes would take over a minute).
const PROBE_THREADS: usize = 8;

/// Fewer probes than this run on the calling thread: a steady tick's handful is not worth
/// threads, whose allocator arenas would stay in the host's memory.
const PARALLEL_FROM: usize = 64;

/// What one CI probe looks at: repository, head, the facts cached for it.
type Probe = (String, String, Option<PrFacts>);

/// One probe per item, [`PROBE_THREADS`] at a time when there are many; answers in order.
fn probe_all(ctx: &Ctx, client: &Client, items: &[Probe]) -> Vec<Result<bool, SdkError>> {
    let one = |(repo, sha, f): &Probe| ci_probe(ctx, client, repo, sha, f.as_ref());
    if items.len() < PARALLEL_FROM {
        return items.iter().map(one).collect();
    }
    let per = items.len().div_ceil(PROBE_THREADS);
    std::thread::scope(|scope| {
        let workers: Vec<_> = items
            .chunks(per)
            .map(|chunk| {
                (
                    chunk.len(),
                    scope.spawn(move || chunk.iter().map(one).collect()),
                )
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|(len, w)| {
                w.join().unwrap_or_else(|_| {
                    (0..len)
                        .map(|_| Err(SdkError::Internal("a CI probe panicked".into())))
                        .collect::<Vec<_>>()
                })
            })
            .collect()
    })
}

fn ci_probe(
    ctx: &Ctx,
    client: &Client,
    repo: &str,
    sha: &str,
    facts: Option<&PrFacts>,
) -> Result<bool, SdkError> {
    let facts = facts.filter(|f| f.head_sha == sha);
    let mut differs = false;
    for (path, kind) in [
        (
            format!("/repos/{repo}/commits/{sha}/check-runs?per_page=100"),
            "check_run",
        ),
        (
            format!("/repos/{repo}/commits/{sha}/status?per_page=100"),
            "status",
        ),
    ] {
        let what = format!("CI of {sha} in {repo}");
        let got = match client.get(ctx, &path, &what, true) {
            Ok(g) => g,
            Err(e @ SdkError::RateLimited { .. }) => return Err(e),
            Err(_) => return Ok(true),
        };
        if !got.changed {
            continue;
        }
        // A head with more statuses than a page: every one counts, not the first page's.
        let body = match rest_pages(ctx, client, &got, kind, &what) {
            Ok(b) => b,
            Err(e @ SdkError::RateLimited { .. }) => return Err(e),
            Err(_) => return Ok(true),
        };
        differs |= match facts {
            Some(f) => !ci_same(f, &body, kind),
            None => true,
        };
    }
    Ok(differs)
}

/// `got` with the entries of its following pages appended (at most 10 pages).
fn rest_pages(
    ctx: &Ctx,
    client: &Client,
    got: &Got,
    kind: &str,
    what: &str,
) -> Result<Value, SdkError> {
    let key = if kind == "check_run" {
        "check_runs"
    } else {
        "statuses"
    };
    let mut body = (*got.body).clone();
    let mut next = got.pages.next.clone();
    for _ in 0..10 {
        let Some(url) = next.take() else { break };
        let more = client.get(ctx, &url, what, false)?;
        if let (Some(all), Some(extra)) = (body[key].as_array_mut(), more.body[key].as_array()) {
            all.extend(extra.iter().cloned());
        }
        next = more.pages.next.clone();
    }
    Ok(body)
}

/// Whether a REST answer (check runs or combined status) says what the facts say.
fn ci_same(f: &PrFacts, body: &Value, kind: &str) -> bool {
    use ao_plugin_api::slots::scm::CheckStatus;
    // name → (id, status) of the newest entry per name, from REST.
    let mut rest: BTreeMap<String, (String, CheckStatus)> = BTreeMap::new();
    let entries = match kind {
        "check_run" => body["check_runs"].as_array(),
        _ => body["statuses"].as_array(),
    };
    for e in entries.into_iter().flatten() {
        let (name, id, status) = if kind == "check_run" {
            let status = match (e["status"].as_str(), e["conclusion"].as_str()) {
                (Some("completed"), Some("success")) => CheckStatus::Passed,
                (Some("completed"), Some("neutral" | "skipped" | "stale")) => CheckStatus::Skipped,
                (Some("completed"), Some("cancelled")) => CheckStatus::Cancelled,
                (Some("completed"), _) => CheckStatus::Failed,
                (Some("in_progress"), _) => CheckStatus::Running,
                _ => CheckStatus::Pending,
            };
            (
                e["name"].as_str(),
                e["id"].as_u64().map(|i| i.to_string()),
                status,
            )
        } else {
            let status = match e["state"].as_str() {
                Some("success") => CheckStatus::Passed,
                Some("failure" | "error") => CheckStatus::Failed,
                _ => CheckStatus::Pending,
            };
            (e["context"].as_str(), None, status)
        };
        let Some(name) = name else { continue };
        let newer = rest.get(name).is_none_or(|(old, _)| {
            id.as_deref().and_then(|i| i.parse::<u64>().ok()) > old.parse::<u64>().ok()
        });
        if newer {
            rest.insert(name.to_string(), (id.unwrap_or_default(), status));
        }
    }
    let ours: BTreeMap<String, (String, CheckStatus)> =
        f.ci.checks
            .iter()
            .filter(|c| c.kind == kind)
            .map(|c| {
                let id = if kind == "check_run" {
                    c.id.clone().unwrap_or_default()
                } else {
                    String::new()
                };
                (c.name.clone(), (id, c.status))
            })
            .collect();
    rest == ours
}

impl Enricher {
    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A webhook said this PR changed.
    pub(crate) fn mark_pr(&self, repo: &str, number: u64) {
        self.cache().dirty.insert(format!("{repo}#{number}"));
    }

    /// A webhook said this commit's CI changed.
    pub(crate) fn mark_sha(&self, repo: &str, sha: &str) {
        let mut c = self.cache();
        let keys: Vec<String> = c
            .prs
            .iter()
            .filter(|(_, e)| e.facts.info.key.repo == repo && e.facts.head_sha == sha)
            .map(|(k, _)| k.clone())
            .collect();
        c.dirty.extend(keys);
        c.dirty_shas.insert((repo.to_string(), sha.to_string()));
    }

    /// Forgets a PR after a write (merge, close) so the next batch reads it fresh.
    pub(crate) fn invalidate(&self, key: &PrKey) {
        self.cache().dirty.insert(key.key());
    }

    pub(crate) fn enrich(
        &self,
        ctx: &Ctx,
        client: &Client,
        s: &Settings,
        req: EnrichBatchRequest,
    ) -> Result<EnrichBatchResponse, SdkError> {
        let _one = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        let tick = {
            let mut c = self.cache();
            c.tick += 1;
            c.tick
        };
        let mut resp = EnrichBatchResponse::default();
        let mut by_repo: BTreeMap<String, (Vec<u64>, Vec<String>)> = BTreeMap::new();
        for pr in &req.prs {
            let repo = crate::refs::Repo::parse(&pr.repo)?.full();
            by_repo.entry(repo).or_default().0.push(pr.number);
        }
        for (repo, branches) in &req.branches {
            let repo = crate::refs::Repo::parse(repo)?.full();
            by_repo
                .entry(repo)
                .or_default()
                .1
                .extend(branches.iter().cloned());
        }
        let mut items: Vec<Item> = Vec::new();
        let mut unprimed: Vec<(String, u64)> = Vec::new();
        for (repo, (numbers, branches)) in &by_repo {
            if let Some(why) = client.low(false, s.rest_reserve) {
                resp.errors.insert(repo.clone(), why);
                continue;
            }
            match self.plan_repo(ctx, client, s, tick, repo, numbers, branches, &mut resp) {
                Ok((mut planned, heads_unknown)) => {
                    items.append(&mut planned);
                    unprimed.extend(heads_unknown.into_iter().map(|n| (repo.clone(), n)));
                }
                Err(e) => {
                    resp.errors.insert(repo.clone(), e.to_string());
                }
            }
        }
        if !items.is_empty() {
            if let Some(why) = client.low(true, s.graphql_reserve) {
                for it in &items {
                    if let Item::Pr { repo, number, .. } = it {
                        resp.errors.insert(format!("{repo}#{number}"), why.clone());
                    }
                }
            } else {
                for chunk in items.chunks(query::BATCH) {
                    self.fetch(ctx, client, s, chunk, &mut resp);
                }
            }
        }
        // Heads learnt only now: prime their CI guards, and if CI moved since the read, read
        // again next tick (the comparison closes the gap between the two requests).
        let prime: Vec<Probe> = unprimed
            .into_iter()
            .filter_map(|(repo, n)| {
                let f = self
                    .cache()
                    .prs
                    .get(&format!("{repo}#{n}"))
                    .map(|e| e.facts.clone())?;
                (f.state == PrState::Open).then(|| (repo, f.head_sha.clone(), Some(f)))
            })
            .collect();
        for ((repo, _, f), moved) in prime.iter().zip(probe_all(ctx, client, &prime)) {
            if moved.unwrap_or(true)
                && let Some(f) = f
            {
                self.cache()
                    .dirty
                    .insert(format!("{repo}#{}", f.info.key.number));
            }
        }
        let c = self.cache();
        let detected = resp
            .detected
            .values()
            .flat_map(|d| d.values().map(|i| &i.key));
        for pr in req.prs.iter().chain(detected.collect::<Vec<_>>()) {
            if let Some(e) = c.prs.get(&pr.key()) {
                resp.prs.insert(pr.key(), e.facts.clone());
            }
        }
        Ok(resp)
    }

    /// The REST guards for one repository; returns what GraphQL must fetch.
    #[allow(clippy::too_many_arguments)]
    fn plan_repo(
        &self,
        ctx: &Ctx,
        client: &Client,
        s: &Settings,
        tick: u64,
        repo: &str,
        numbers: &[u64],
        branches: &[String],
        resp: &mut EnrichBatchResponse,
    ) -> Result<(Vec<Item>, Vec<u64>), SdkError> {
        // Guard 1: did any PR change?
        let path =
            format!("/repos/{repo}/pulls?state=all&sort=updated&direction=desc&per_page=100");
        let got = client.get(ctx, &path, &format!("the pull requests of {repo}"), true)?;
        let watermark = self
            .cache()
            .repos
            .get(repo)
            .and_then(|m| m.watermark.clone());
        let mut list: Vec<Listed> = Vec::new();
        if got.changed {
            list.extend(
                got.body
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| listed(repo, v)),
            );
            // Everything on the page changed since last time: read on until we pass the mark.
            let mut next = got.pages.next.clone();
            let mut pages = 1;
            while let (Some(mark), Some(url)) = (&watermark, next.take()) {
                if pages >= 10 || list.last().is_none_or(|l| l.updated < *mark) {
                    break;
                }
                let more = client.get(ctx, &url, &format!("the pull requests of {repo}"), false)?;
                list.extend(
                    more.body
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|v| listed(repo, v)),
                );
                next = more.pages.next;
                pages += 1;
            }
        } else {
            resp.unchanged_repos.push(repo.to_string());
        }
        let by_number: HashMap<u64, &Listed> =
            list.iter().map(|l| (l.info.key.number, l)).collect();

        let mut levels: BTreeMap<u64, Level> = BTreeMap::new();
        let mut bases: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        {
            let mut c = self.cache();
            for &n in numbers {
                let key = format!("{repo}#{n}");
                let level = match (c.prs.get(&key), by_number.get(&n)) {
                    (None, _) => Some(Level::Full),
                    (Some(e), Some(l))
                        if l.updated != e.updated
                            || l.head_sha != e.facts.head_sha
                            || e.ambiguous =>
                    {
                        Some(Level::Full)
                    }
                    _ if c.dirty.contains(&key) => Some(Level::Full),
                    (Some(e), _)
                        if e.facts.state == PrState::Open
                            && e.facts.mergeable
                                == ao_plugin_api::slots::scm::Mergeable::Unknown =>
                    {
                        Some(Level::Scalars)
                    }
                    _ => None,
                };
                if let Some(l) = level {
                    levels.insert(n, l);
                }
                // The base of every open PR, from the list or the cache (so the first tick
                // primes the base guard too).
                let base = match (by_number.get(&n), c.prs.get(&key)) {
                    (Some(l), _) => l.open.then(|| l.info.base_branch.clone()),
                    (None, Some(e)) => {
                        (e.facts.state == PrState::Open).then(|| e.facts.info.base_branch.clone())
                    }
                    (None, None) => None,
                };
                if let Some(b) = base {
                    bases.entry(b).or_default().push(n);
                }
            }
            // New PRs for branches show up at the top of the list.
            for b in branches {
                let mut found: Vec<&Listed> = list.iter().filter(|l| l.info.branch == *b).collect();
                found.sort_by_key(|l| (l.open, l.info.key.number));
                if let Some(l) = found.last() {
                    resp.detected
                        .entry(repo.to_string())
                        .or_default()
                        .insert(b.clone(), l.info.clone());
                    c.absent.remove(&(repo.to_string(), b.clone()));
                }
            }
            let mark = c.repos.entry(repo.to_string()).or_default();
            if let Some(top) = list.iter().map(|l| l.updated.clone()).max() {
                mark.watermark = Some(mark.watermark.clone().map_or(top.clone(), |w| w.max(top)));
            }
        }
        let mut items = Vec::new();
        for b in branches {
            let key = (repo.to_string(), b.clone());
            let mut c = self.cache();
            if let Some(info) = resp.detected.get(repo).and_then(|d| d.get(b)).cloned() {
                c.found.insert(key, info);
                continue;
            }
            // A list read since the last answer, without this branch: the answer stands.
            let settled = watermark.is_some() || !got.changed;
            if settled && let Some(info) = c.found.get(&key).cloned() {
                resp.detected
                    .entry(repo.to_string())
                    .or_default()
                    .insert(b.clone(), info);
                continue;
            }
            if !(settled && c.absent.contains(&key)) {
                items.push(Item::Branch {
                    repo: repo.to_string(),
                    branch: b.clone(),
                });
            }
        }

        // PRs found for branches come with their facts in this same batch: a new PR is seen
        // with its state and CI on the tick it is found, not one tick later.
        if let Some(found) = resp.detected.get(repo) {
            let c = self.cache();
            for info in found.values() {
                let n = info.key.number;
                if !numbers.contains(&n) && !c.prs.contains_key(&info.key.key()) {
                    levels.entry(n).or_insert(Level::Full);
                }
            }
        }

        // Guard 2: moved bases change mergeability of every PR on them.
        for (base, prs) in &bases {
            let path = format!(
                "/repos/{repo}/git/ref/heads/{}",
                crate::refs::escape(base, b"/")
            );
            let Ok(got) = client.get(ctx, &path, &format!("branch {base} of {repo}"), true) else {
                continue;
            };
            let sha = got.body["object"]["sha"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let mut c = self.cache();
            let mark = c.repos.entry(repo.to_string()).or_default();
            let before = mark.bases.insert(base.clone(), sha.clone());
            if before.is_some_and(|b| b != sha) {
                for n in prs {
                    let l = levels.entry(*n).or_insert(Level::Scalars);
                    *l = (*l).max(Level::Scalars);
                }
            }
        }

        // Guard 3: CI of heads that may still change (probed in parallel below).
        let mut unprimed = Vec::new();
        let mut probes: Vec<(u64, bool, Probe)> = Vec::new();
        for &n in numbers {
            let key = format!("{repo}#{n}");
            let (sha, settled, open, dirty_sha) = {
                let c = self.cache();
                let cached = c.prs.get(&key);
                let sha = by_number
                    .get(&n)
                    .map(|l| l.head_sha.clone())
                    .or_else(|| cached.map(|e| e.facts.head_sha.clone()));
                let Some(sha) = sha.filter(|s| !s.is_empty()) else {
                    unprimed.push(n);
                    continue;
                };
                let settled = cached.is_some_and(|e| {
                    matches!(e.facts.ci.status, CiStatus::Passing | CiStatus::Failing)
                });
                let open = by_number.get(&n).map_or_else(
                    || cached.is_none_or(|e| e.facts.state == PrState::Open),
                    |l| l.open,
                );
                let dirty = c.dirty_shas.contains(&(repo.to_string(), sha.clone()));
                (sha, settled, open, dirty)
            };
            if !open {
                continue;
            }
            let fetching = levels.contains_key(&n);
            let due = fetching
                || dirty_sha
                || !settled
                || (tick + n).is_multiple_of(s.settled_recheck_ticks.max(1));
            if !due {
                continue;
            }
            if dirty_sha {
                if !fetching {
                    levels.insert(n, Level::Ci);
                }
                continue;
            }
            let cached = self.cache().prs.get(&key).map(|e| e.facts.clone());
            probes.push((n, fetching, (repo.to_string(), sha, cached)));
        }
        let work: Vec<_> = probes.iter().map(|(_, _, w)| w.clone()).collect();
        for ((n, fetching, _), changed) in probes.iter().zip(probe_all(ctx, client, &work)) {
            if changed? && !fetching {
                levels.insert(*n, Level::Ci);
            }
        }
        self.cache().dirty_shas.retain(|(r, _)| r != repo);
        items.extend(levels.into_iter().map(|(number, level)| Item::Pr {
            repo: repo.to_string(),
            number,
            level,
        }));
        Ok((items, unprimed))
    }

    /// One GraphQL query for a chunk of items; results go to the cache and `resp`.
    fn fetch(
        &self,
        ctx: &Ctx,
        client: &Client,
        s: &Settings,
        chunk: &[Item],
        resp: &mut EnrichBatchResponse,
    ) {
        let batch = query::build(chunk);
        let (data, errors) = match client.graphql(ctx, &batch.query, &batch.variables) {
            Ok(r) => r,
            Err(e) => {
                for it in chunk {
                    if let Item::Pr { repo, number, .. } = it {
                        resp.errors
                            .insert(format!("{repo}#{number}"), e.to_string());
                    }
                }
                return;
            }
        };
        // Errors by alias path, e.g. ["r0", "p12"].
        let mut errs: HashMap<(String, String), String> = HashMap::new();
        for e in &errors {
            let path: Vec<&str> = e["path"]
                .as_array()
                .map(|p| p.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let msg = e["message"].as_str().unwrap_or("GraphQL error").to_string();
            match path.as_slice() {
                [r, f, ..] => errs.insert((r.to_string(), f.to_string()), msg),
                [r] => errs.insert((r.to_string(), String::new()), msg),
                [] => errs.insert((String::new(), String::new()), msg),
            };
        }
        for (ralias, alias, it) in &batch.places {
            let err = errs
                .get(&(ralias.clone(), alias.clone()))
                .or_else(|| errs.get(&(ralias.clone(), String::new())))
                .or_else(|| errs.get(&(String::new(), String::new())));
            let node = &data[ralias][alias];
            match it {
                Item::Pr {
                    repo,
                    number,
                    level,
                } => {
                    let key = format!("{repo}#{number}");
                    if node.is_null() {
                        resp.errors.insert(
                            key,
                            err.cloned()
                                .unwrap_or_else(|| "no data for this pull request".into()),
                        );
                        continue;
                    }
                    let contexts = (*level >= Level::Ci)
                        .then(|| self.all_contexts(ctx, client, repo, *number, node));
                    let threads = (*level == Level::Full)
                        .then(|| self.all_threads(ctx, client, repo, *number, node));
                    let mut c = self.cache();
                    let old = c.prs.get(&key).map(|e| &e.facts);
                    if let Some(f) = facts::apply(
                        old,
                        repo,
                        node,
                        contexts.as_deref(),
                        threads.as_deref(),
                        &s.extra_bots,
                    ) {
                        let updated = node["updatedAt"].as_str().unwrap_or_default().to_string();
                        let now = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map_or(0, |d| d.as_millis() as u64);
                        let ambiguous = f.updated_at_ms.is_none_or(|u| now.abs_diff(u) < 2_000);
                        c.prs.insert(
                            key.clone(),
                            Entry {
                                facts: f,
                                updated,
                                ambiguous,
                            },
                        );
                        c.dirty.remove(&key);
                    }
                }
                Item::Branch { repo, branch } => {
                    if let Some(e) = err {
                        resp.errors.insert(format!("{repo}:{branch}"), e.clone());
                        continue;
                    }
                    let nodes = node["nodes"].as_array().cloned().unwrap_or_default();
                    let best = nodes
                        .iter()
                        .filter_map(|n| {
                            Some((n["state"].as_str() == Some("OPEN"), facts::info(repo, n)?))
                        })
                        .max_by_key(|(open, i)| (*open, i.key.number));
                    let mut c = self.cache();
                    match best {
                        Some((_, info)) => {
                            c.absent.remove(&(repo.clone(), branch.clone()));
                            c.found.insert((repo.clone(), branch.clone()), info.clone());
                            resp.detected
                                .entry(repo.clone())
                                .or_default()
                                .insert(branch.clone(), info);
                        }
                        None => {
                            c.absent.insert((repo.clone(), branch.clone()));
                        }
                    }
                }
            }
        }
    }

    /// The head commit's contexts, paging past the first 100.
    fn all_contexts(
        &self,
        ctx: &Ctx,
        client: &Client,
        repo: &str,
        number: u64,
        pr: &Value,
    ) -> Vec<Value> {
        let path =
            |v: &Value| v["commits"]["nodes"][0]["commit"]["statusCheckRollup"]["contexts"].clone();
        let mut conn = path(pr);
        let mut out = Vec::new();
        for _ in 0..20 {
            out.extend(conn["nodes"].as_array().cloned().unwrap_or_default());
            if conn["pageInfo"]["hasNextPage"].as_bool() != Some(true) {
                break;
            }
            let Some(data) = self.page(ctx, client, &query::more_contexts(), repo, number, &conn)
            else {
                break;
            };
            conn = path(&data["repository"]["pullRequest"]);
        }
        out
    }

    /// All review threads, paging past the first page.
    fn all_threads(
        &self,
        ctx: &Ctx,
        client: &Client,
        repo: &str,
        number: u64,
        pr: &Value,
    ) -> Vec<Value> {
        let mut conn = pr["reviewThreads"].clone();
        let mut out = Vec::new();
        for _ in 0..20 {
            out.extend(conn["nodes"].as_array().cloned().unwrap_or_default());
            if conn["pageInfo"]["hasNextPage"].as_bool() != Some(true) {
                break;
            }
            let Some(data) = self.page(ctx, client, &query::more_threads(), repo, number, &conn)
            else {
                break;
            };
            conn = data["repository"]["pullRequest"]["reviewThreads"].clone();
        }
        out
    }

    fn page(
        &self,
        ctx: &Ctx,
        client: &Client,
        q: &str,
        repo: &str,
        number: u64,
        conn: &Value,
    ) -> Option<Value> {
        let (owner, name) = repo.split_once('/')?;
        let vars = json!({
            "o": owner, "n": name, "num": number,
            "after": conn["pageInfo"]["endCursor"],
        });
        client.graphql(ctx, q, &vars).ok().map(|(d, _)| d)
    }
}
