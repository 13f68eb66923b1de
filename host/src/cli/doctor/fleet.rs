//! The checks that ask the plugins, through one opened fleet: each runtime's backend (a Docker
//! engine reachable, its image present), each SCM's token and API budget, and runtime sessions
//! under this config's names that no live session owns.

use super::{Check, Level, check};
use crate::cli::Globals;
use ao::config::Config;
use ao::fleet::Fleet;
use ao_plugin_api::slots::runtime::Checks;
use ao_plugin_api::slots::scm::{Budget, RateLimitStatus};

/// A plugin's answer under the check's name: `None` when it has nothing to say.
type Answers<T> = Vec<(String, Option<Result<T, ao::Error>>)>;

pub(super) fn checks(checks: &mut Vec<Check>, globals: &Globals, c: &Config) {
    let opened = match crate::cli::fleet::open(globals) {
        Ok(o) => o,
        Err(e) => {
            checks.push(check("fleet", Level::Error, format!("{e:#}")));
            return;
        }
    };
    let ids: Vec<String> = c.projects.keys().cloned().collect();
    let (runtimes, scms, left) = opened.run(async |f| {
        (
            runtime_answers(f, &ids).await,
            scm_answers(f, &ids).await,
            ao::fleet::leftovers::find(f).await,
        )
    });
    show_runtimes(checks, runtimes);
    show_scms(checks, scms);
    show_leftovers(checks, left);
}

/// Each runtime the projects use, asked once per runtime and settings; one that cannot start
/// says why.
async fn runtime_answers(f: &Fleet, ids: &[String]) -> Answers<Checks> {
    use ao_plugin_api::slots::runtime::CHECK;
    let mut out = Vec::new();
    let mut asked = std::collections::BTreeSet::new();
    for id in ids {
        let Ok(p) = f.project(id) else { continue };
        // Projects sharing a runtime and its settings share the answer.
        let key = (p.runtime.clone(), format!("{:?}", p.runtime_config));
        if !asked.insert(key) {
            continue;
        }
        let name = format!("runtime {id} ({})", p.runtime);
        let answer = match f.runtime(p, &p.runtime).await {
            Ok(rt) if rt.implements(CHECK) => Some(rt.check(&()).await),
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        };
        out.push((name, answer));
    }
    out
}

fn show_runtimes(checks: &mut Vec<Check>, answers: Answers<Checks>) {
    for (name, answer) in answers {
        match answer {
            None => {}
            Some(Err(e)) => checks.push(check(&name, Level::Error, e.to_string())),
            Some(Ok(found)) => {
                for c in found.checks {
                    let level = if c.ok { Level::Ok } else { Level::Error };
                    checks.push(check(&format!("{name} {}", c.name), level, c.detail));
                }
            }
        }
    }
}

/// Each project's SCM: does its token work, and how much API budget is left.
async fn scm_answers(f: &Fleet, ids: &[String]) -> Answers<RateLimitStatus> {
    use ao_plugin_api::slots::scm::RATE_LIMIT;
    let mut out = Vec::new();
    for id in ids {
        let Ok(p) = f.project(id) else { continue };
        let Some(inst) = &p.scm else { continue };
        let name = format!("scm {id} ({})", inst.plugin);
        let answer = match f.scm(p).await {
            Ok(Some(scm)) if scm.implements(RATE_LIMIT) => Some(scm.rate_limit(&()).await),
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        };
        out.push((name, answer));
    }
    out
}

/// Under 10% of a window left is a warning: the engine then skips optional refreshes.
fn show_scms(checks: &mut Vec<Check>, answers: Answers<RateLimitStatus>) {
    let now = ao::fleet::now_ms();
    let show = |what: &str, b: &Budget| {
        let mins = b.reset_at_ms.saturating_sub(now).div_ceil(60_000);
        format!(
            "{what} {}/{} left (resets in {mins}m)",
            b.remaining, b.limit
        )
    };
    for (name, answer) in answers {
        checks.push(match answer {
            None => check(&name, Level::Ok, "loaded (it reports no API budget)"),
            Some(Err(e)) => check(&name, Level::Error, e.to_string()),
            Some(Ok(st)) if st.unlimited => check(
                &name,
                Level::Ok,
                "this server has no API rate limit (GitHub Enterprise with rate limiting off)",
            ),
            Some(Ok(st)) => {
                let budgets = [("REST", &st.rest), ("GraphQL", &st.graphql)];
                let low = budgets
                    .iter()
                    .filter_map(|(_, b)| b.as_ref())
                    .any(|b| b.remaining.saturating_mul(10) < b.limit);
                let detail: Vec<String> = budgets
                    .iter()
                    .filter_map(|(w, b)| b.as_ref().map(|b| show(w, b)))
                    .collect();
                let level = if low { Level::Warn } else { Level::Ok };
                check(&name, level, detail.join(", "))
            }
        });
    }
}

type Leftovers = Result<(Vec<ao::fleet::leftovers::Leftover>, Vec<String>), ao::Error>;

fn show_leftovers(checks: &mut Vec<Check>, found: Leftovers) {
    let name = "runtime sessions";
    match found {
        Err(e) => checks.push(check(name, Level::Error, e.to_string())),
        Ok((left, unknown)) => {
            for why in unknown {
                checks.push(check(name, Level::Warn, format!("unknown: {why}")));
            }
            checks.push(if left.is_empty() {
                check(name, Level::Ok, "none left behind")
            } else {
                let names: Vec<String> = left.iter().map(ao::fleet::leftovers::describe).collect();
                check(
                    name,
                    Level::Warn,
                    format!(
                        "{} no live session owns: {}; `ao session cleanup` removes them",
                        left.len(),
                        names.join(", ")
                    ),
                )
            });
        }
    }
}
