//! GraphQL query text: one aliased query for a batch of PRs at three depths, plus branch
//! lookups, so a tick costs ceil(changed / 50) queries whatever the number of sessions.

use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// How much of a PR to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    /// State, mergeability, review decision (no connections: ~free).
    Scalars,
    /// Plus the head commit's CI contexts.
    Ci,
    /// Plus review threads.
    Full,
}

/// PRs per query (GitHub's node limits and our cost target).
pub(crate) const BATCH: usize = 50;
/// Review threads per page; each costs a comment lookup, so this sets the query's price.
pub(crate) const THREADS_PAGE: u32 = 50;

const SCALARS: &str = "fragment S on PullRequest { number title url state isDraft headRefName \
    baseRefName headRefOid mergeable mergeStateStatus reviewDecision updatedAt additions deletions }";
const CONTEXT_FIELDS: &str = "pageInfo { hasNextPage endCursor } nodes { __typename \
    ... on CheckRun { databaseId name status conclusion detailsUrl startedAt completedAt } \
    ... on StatusContext { context state targetUrl createdAt } }";
const THREAD_FIELDS: &str = "pageInfo { hasNextPage endCursor } nodes { id isResolved isOutdated \
    path line comments(first: 1) { nodes { id author { __typename login } body url createdAt } } }";
const INFO: &str =
    "fragment I on PullRequest { number title url state isDraft headRefName baseRefName }";

fn ci_fragment() -> String {
    format!(
        "fragment C on PullRequest {{ ...S commits(last: 1) {{ nodes {{ commit {{ oid \
         statusCheckRollup {{ state contexts(first: 100) {{ {CONTEXT_FIELDS} }} }} }} }} }} }}"
    )
}

fn full_fragment() -> String {
    format!(
        "fragment F on PullRequest {{ ...C reviewThreads(first: {THREADS_PAGE}) {{ {THREAD_FIELDS} }} }}"
    )
}

/// One item of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Item {
    /// A PR at a depth.
    Pr {
        repo: String,
        number: u64,
        level: Level,
    },
    /// The PRs whose head is a branch.
    Branch { repo: String, branch: String },
}

/// A built query and where each item's answer will be in `data`.
pub(crate) struct Batch {
    pub(crate) query: String,
    pub(crate) variables: Value,
    /// (repository alias, field alias, item).
    pub(crate) places: Vec<(String, String, Item)>,
}

/// Builds one query for up to [`BATCH`] items.
pub(crate) fn build(items: &[Item]) -> Batch {
    let mut by_repo: BTreeMap<&str, Vec<&Item>> = BTreeMap::new();
    for it in items {
        let repo = match it {
            Item::Pr { repo, .. } | Item::Branch { repo, .. } => repo.as_str(),
        };
        by_repo.entry(repo).or_default().push(it);
    }
    let mut vars = Map::new();
    let mut decls = Vec::new();
    let mut body = String::new();
    let mut places = Vec::new();
    let (mut s, mut c, mut f, mut i) = (false, false, false, false);
    for (ri, (repo, its)) in by_repo.iter().enumerate() {
        let (owner, name) = repo.split_once('/').unwrap_or((repo, ""));
        vars.insert(format!("o{ri}"), json!(owner));
        vars.insert(format!("n{ri}"), json!(name));
        decls.push(format!("$o{ri}: String!, $n{ri}: String!"));
        let ralias = format!("r{ri}");
        body.push_str(&format!(
            " {ralias}: repository(owner: $o{ri}, name: $n{ri}) {{"
        ));
        for (bi, it) in its.iter().enumerate() {
            match it {
                Item::Pr { number, level, .. } => {
                    let frag = match level {
                        Level::Scalars => {
                            s = true;
                            "S"
                        }
                        Level::Ci => {
                            (s, c) = (true, true);
                            "C"
                        }
                        Level::Full => {
                            (s, c, f) = (true, true, true);
                            "F"
                        }
                    };
                    let alias = format!("p{number}");
                    body.push_str(&format!(
                        " {alias}: pullRequest(number: {number}) {{ ...{frag} }}"
                    ));
                    places.push((ralias.clone(), alias, (*it).clone()));
                }
                Item::Branch { branch, .. } => {
                    i = true;
                    let var = format!("b{ri}_{bi}");
                    vars.insert(var.clone(), json!(branch));
                    decls.push(format!("${var}: String!"));
                    let alias = format!("d{bi}");
                    body.push_str(&format!(
                        " {alias}: pullRequests(headRefName: ${var}, first: 5, orderBy: {{field: CREATED_AT, direction: DESC}}) {{ nodes {{ ...I }} }}"
                    ));
                    places.push((ralias.clone(), alias, (*it).clone()));
                }
            }
        }
        body.push_str(" }");
    }
    let mut query = format!(
        "query({}) {{{body} rateLimit {{ cost limit remaining resetAt used }} }}",
        decls.join(", ")
    );
    if s {
        query.push('\n');
        query.push_str(SCALARS);
    }
    if c {
        query.push('\n');
        query.push_str(&ci_fragment());
    }
    if f {
        query.push('\n');
        query.push_str(&full_fragment());
    }
    if i {
        query.push('\n');
        query.push_str(INFO);
    }
    Batch {
        query,
        variables: Value::Object(vars),
        places,
    }
}

/// The next page of a PR's CI contexts.
pub(crate) fn more_contexts() -> String {
    format!(
        "query($o: String!, $n: String!, $num: Int!, $after: String) {{ repository(owner: $o, name: $n) {{ \
         pullRequest(number: $num) {{ commits(last: 1) {{ nodes {{ commit {{ statusCheckRollup {{ \
         contexts(first: 100, after: $after) {{ {CONTEXT_FIELDS} }} }} }} }} }} }} }} \
         rateLimit {{ cost limit remaining resetAt used }} }}"
    )
}

/// The next page of a PR's review threads.
pub(crate) fn more_threads() -> String {
    format!(
        "query($o: String!, $n: String!, $num: Int!, $after: String) {{ repository(owner: $o, name: $n) {{ \
         pullRequest(number: $num) {{ reviewThreads(first: {THREADS_PAGE}, after: $after) {{ {THREAD_FIELDS} }} }} }} \
         rateLimit {{ cost limit remaining resetAt used }} }}"
    )
}
