//! Every live pane's screen in a few tmux client calls: `capture-pane` commands chained with
//! `;`, each preceded by a marker line, addressed by pane id (`%12`, looked up directly by the
//! server, unlike a session name). One process per chunk instead of one per session: tmux
//! serialises clients, and its per-command cost grows with its session count, so per-session
//! captures made a tick quadratic in the fleet.

use crate::tmux::Tmux;
use ao_plugin_api::sdk::{Ctx, SdkError};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};

/// tmux sends a client's argv to the server in one message of at most 16 KiB; stay well under.
const CHUNK_BYTES: usize = 12 * 1024;

static NONCE: AtomicU64 = AtomicU64::new(0);

/// The screens of `panes` (pane id, whether its process is dead), keyed by pane id, each cut to
/// its last `lines` non-empty lines. A pane that vanished between listing and capture is simply
/// missing. A dead pane's capture reaches into its history (tmux may scroll what a process
/// printed just before it exited off the visible screen) and leaves out blank lines (tmux
/// writes "Pane is dead" on the bottom row, under a screen of blanks): what is left is the
/// agent's last words.
pub(crate) fn capture(
    ctx: &Ctx,
    tmux: &Tmux,
    panes: &[(&str, bool)],
    lines: u32,
) -> Result<HashMap<String, String>, SdkError> {
    // A marker no screen can fake: it names this call.
    let marker = format!(
        "\u{1}ao-screen-{}-{}\u{1}",
        std::process::id(),
        NONCE.fetch_add(1, Ordering::Relaxed)
    );
    let mut out = HashMap::new();
    let dead: HashSet<&str> = panes.iter().filter(|p| p.1).map(|p| p.0).collect();
    let mut args: Vec<String> = Vec::new();
    let mut size = 0;
    let flush = |args: &mut Vec<String>, out: &mut HashMap<String, String>| {
        if args.is_empty() {
            return Ok(());
        }
        let text = match tmux.run(ctx, args) {
            Ok(t) => t,
            // A pane gone mid-chunk fails the whole chain: fall back to one call each.
            Err(e) if crate::tmux::is_gone(&e) => {
                let ids: Vec<String> = args
                    .windows(2)
                    .filter(|w| w[0] == "-t")
                    .map(|w| w[1].clone())
                    .collect();
                let mut text = String::new();
                for id in ids {
                    if let Ok(t) = tmux.run(ctx, &["capture-pane", "-p", "-J", "-t", &id]) {
                        text.push_str(&format!("{marker}{id}\n{t}"));
                    }
                }
                text
            }
            Err(e) => return Err(e),
        };
        split(&text, &marker, lines, &dead, out);
        args.clear();
        Ok(())
    };
    let history = format!("-{lines}");
    for (id, dead) in panes {
        let mark = format!("{marker}{id}");
        let mut cmd = vec![
            "display-message",
            "-p",
            &mark,
            ";",
            "capture-pane",
            "-p",
            "-J",
            "-t",
            id,
        ];
        if *dead {
            cmd.extend(["-S", history.as_str()]);
        }
        cmd.push(";");
        let len: usize = cmd.iter().map(|a| a.len() + 1).sum();
        if size + len > CHUNK_BYTES {
            flush(&mut args, &mut out)?;
            size = 0;
        }
        args.extend(cmd.iter().map(|a| a.to_string()));
        size += len;
    }
    if args.last().is_some_and(|a| a == ";") {
        args.pop();
    }
    flush(&mut args, &mut out)?;
    Ok(out)
}

fn split(
    text: &str,
    marker: &str,
    lines: u32,
    dead: &HashSet<&str>,
    out: &mut HashMap<String, String>,
) {
    for part in text.split(marker).skip(1) {
        let (id, screen) = part.split_once('\n').unwrap_or((part, ""));
        let id = id.trim();
        let mut kept: Vec<&str> = screen.lines().map(str::trim_end).collect();
        if dead.contains(id) {
            kept.retain(|l| !l.is_empty());
        }
        while kept.last().is_some_and(|l| l.is_empty()) {
            kept.pop();
        }
        let start = kept.len().saturating_sub(lines as usize);
        out.insert(id.to_owned(), kept[start..].join("\n"));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn split_reads_marked_screens() {
        let mut out = Default::default();
        let m = "\u{1}M\u{1}";
        let dead = ["%3"].into_iter().collect();
        let text = format!("{m}%1\na\nb\n\n{m}%22\nx\n{m}%3\nlast words\n\n\n\nPane is dead\n");
        super::split(&text, m, 2, &dead, &mut out);
        assert_eq!(out["%1"], "a\nb");
        assert_eq!(out["%22"], "x");
        assert_eq!(out["%3"], "last words\nPane is dead");
    }
}
