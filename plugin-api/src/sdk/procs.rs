//! "Is the agent's process still running?" — one answer for every runtime and agent.
//!
//! A runtime knows the root process of a session (the tmux pane's process, the child it
//! spawned); the agent knows its process names (`claude`, `codex`). One `ps` snapshot per tick
//! answers for every session: find a descendant of the root whose command line names the agent.

use crate::sdk::{Ctx, SdkError, command::Command};
use std::collections::HashMap;
use std::time::Duration;

/// One process.
#[derive(Debug, Clone, PartialEq)]
pub struct Proc {
    /// Its id.
    pub pid: u32,
    /// Its parent's id.
    pub ppid: u32,
    /// Resident memory in KiB.
    pub rss_kib: u64,
    /// Its command line, space-joined.
    pub args: String,
}

/// A snapshot of the process table.
#[derive(Debug, Clone, Default)]
pub struct ProcessTable {
    procs: Vec<Proc>,
    children: HashMap<u32, Vec<usize>>,
}

impl ProcessTable {
    /// Takes a snapshot with `ps` (portable across Linux and macOS).
    pub fn snapshot(ctx: Option<&Ctx>) -> Result<Self, SdkError> {
        let out = Command::new("ps")
            .args([
                "-A", "-o", "pid=", "-o", "ppid=", "-o", "rss=", "-o", "args=",
            ])
            .env("LC_ALL", "C")
            .timeout(Duration::from_secs(10))
            .run_ok(ctx)?;
        Ok(Self::parse(&out.stdout))
    }

    /// Parses `ps -o pid=,ppid=,rss=,args=` output.
    pub fn parse(text: &str) -> Self {
        let procs = text
            .lines()
            .filter_map(|line| {
                let mut rest = line.trim_start();
                let mut field = || {
                    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                    let (f, r) = rest.split_at(end);
                    rest = r.trim_start();
                    f.parse::<u64>().ok()
                };
                let pid = field()? as u32;
                let ppid = field()? as u32;
                let rss_kib = field()?;
                Some(Proc {
                    pid,
                    ppid,
                    rss_kib,
                    args: rest.trim_end().to_owned(),
                })
            })
            .collect::<Vec<_>>();
        let mut children: HashMap<u32, Vec<usize>> = HashMap::new();
        for (i, p) in procs.iter().enumerate() {
            if p.pid != p.ppid {
                children.entry(p.ppid).or_default().push(i);
            }
        }
        Self { procs, children }
    }

    /// `root` and all its descendants that were alive at the snapshot.
    pub fn tree(&self, root: u32) -> Vec<&Proc> {
        let mut out: Vec<&Proc> = self.procs.iter().filter(|p| p.pid == root).collect();
        let mut i = 0;
        while i < out.len() {
            let pid = out[i].pid;
            if let Some(kids) = self.children.get(&pid) {
                out.extend(kids.iter().map(|&k| &self.procs[k]));
            }
            i += 1;
            if out.len() > 100_000 {
                break; // a pid cycle in a torn snapshot must not loop forever
            }
        }
        out
    }

    /// The first process in `root`'s tree whose command line names one of `names`; with no
    /// names, the root itself when it is alive.
    pub fn find_agent(&self, root: u32, names: &[String]) -> Option<&Proc> {
        let tree = self.tree(root);
        if names.is_empty() {
            return tree.into_iter().next();
        }
        tree.into_iter()
            .find(|p| names.iter().any(|n| names_program(&p.args, n)))
    }

    /// Total resident memory of `root`'s tree, in KiB.
    pub fn tree_rss_kib(&self, root: u32) -> u64 {
        self.tree(root).iter().map(|p| p.rss_kib).sum()
    }
}

/// Whether a command line runs `name`: its program, or the script an interpreter runs
/// (`node /usr/local/bin/claude`, `python3 /x/bin/aider`). `grep claude` or `vim claude.md`
/// do not count.
pub fn names_program(args: &str, name: &str) -> bool {
    let base = |word: &str| word.rsplit('/').next().unwrap_or(word).to_owned();
    let mut words = args.split_whitespace();
    let Some(program) = words.next().map(base) else {
        return false;
    };
    if program == name {
        return true;
    }
    const INTERPRETERS: [&str; 6] = ["node", "python", "bun", "deno", "ruby", "perl"];
    if !INTERPRETERS.iter().any(|i| program.starts_with(i)) {
        return false;
    }
    words
        .find(|w| !w.starts_with('-'))
        .is_some_and(|script| base(script) == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PS: &str = "    1     0  1000 /sbin/init\n  100     1  2000 tmux new-session -d\n  \
                      200   100  3000 -bash\n  300   200 90000 node /usr/local/bin/claude --resume x\n  \
                      301   300   100 git status\n  400   100  3000 vim notes-about-claude\n  \
                      500   100  1000 grep claude\n";

    #[test]
    fn an_agent_is_found_below_its_root_by_name() {
        let t = ProcessTable::parse(PS);
        let names = vec!["claude".to_string()];
        assert_eq!(t.find_agent(200, &names).map(|p| p.pid), Some(300));
        assert_eq!(t.find_agent(400, &names), None);
        assert_eq!(t.find_agent(500, &names), None);
        assert_eq!(t.find_agent(999, &[]), None);
        assert_eq!(t.find_agent(400, &[]).map(|p| p.pid), Some(400));
        assert_eq!(t.tree_rss_kib(200), 3000 + 90000 + 100);
    }

    #[test]
    fn program_names_match_whole_basenames_only() {
        assert!(names_program("claude", "claude"));
        assert!(names_program("/opt/bin/codex exec", "codex"));
        assert!(names_program(
            "node /usr/lib/node_modules/.bin/claude",
            "claude"
        ));
        assert!(!names_program("claude-helper", "claude"));
        assert!(!names_program("bash -c echo claude", "claude"));
        assert!(names_program(
            "python3 -u /home/u/.local/bin/aider --yes",
            "aider"
        ));
    }

    #[test]
    fn a_live_snapshot_contains_this_process() {
        let t = ProcessTable::snapshot(None).unwrap();
        let me = std::process::id();
        assert_eq!(t.tree(me).first().map(|p| p.pid), Some(me));
    }
}
