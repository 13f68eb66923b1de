//! The delivery driver's view of a tmux pane: the SDK's [`TmuxPane`] over a local client.

pub(crate) use ao_plugin_api::sdk::tmux::PANE_DEAD;
pub(crate) type TmuxTerminal<'a> = ao_plugin_api::sdk::tmux::TmuxPane<'a, crate::tmux::Tmux>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tmux::Tmux;
    use ao_plugin_api::sdk::delivery::Terminal;
    use ao_plugin_api::sdk::{Ctx, SdkError};
    use std::time::Duration;

    /// tmux 3.3a segfaults when a paste reaches a dead pane, and every session on the server
    /// dies with it: the guard must keep the server, and say why nothing was typed.
    #[test]
    fn nothing_reaches_a_dead_pane_and_the_server_lives() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("t.sock").display().to_string();
        let tmux = Tmux::new(Some(socket.clone()), Duration::from_secs(5));
        let ctx = Ctx::detached();
        tmux.run(&ctx, &["new-session", "-d", "-s", "other", "sleep", "600"])
            .unwrap();
        tmux.run(
            &ctx,
            &[
                "new-session",
                "-d",
                "-s",
                "dead",
                "true",
                ";",
                "set-option",
                "-w",
                "-t",
                "=dead:",
                "remain-on-exit",
                "on",
            ],
        )
        .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while tmux
            .run(
                &ctx,
                &["display-message", "-p", "-t", "=dead:", "#{pane_dead}"],
            )
            .unwrap()
            .trim()
            != "1"
        {
            assert!(std::time::Instant::now() < deadline, "the pane never died");
            std::thread::sleep(Duration::from_millis(20));
        }
        let term = TmuxTerminal::new(&tmux, "=dead:", "dead");
        for (what, r) in [
            ("paste", term.paste(&ctx, "hello")),
            ("keys", term.type_keys(&ctx, "y")),
            ("Enter", term.press_enter(&ctx)),
            ("C-u", term.clear_input(&ctx)),
        ] {
            match r {
                Err(SdkError::NotFound(m)) => assert!(m.ends_with(PANE_DEAD), "{what}: {m}"),
                other => panic!("{what}: {other:?}"),
            }
        }
        let sessions = tmux
            .run(&ctx, &["list-sessions", "-F", "#{session_name}"])
            .expect("the tmux server lives");
        assert_eq!(
            sessions.split_whitespace().collect::<Vec<_>>(),
            ["dead", "other"]
        );
        // No buffer of ours is left behind.
        let buffers = tmux
            .run(&ctx, &["list-buffers", "-F", "#{buffer_name}"])
            .unwrap();
        assert!(!buffers.contains("ao-"), "{buffers}");
        // A live pane still gets its paste.
        let live = TmuxTerminal::new(&tmux, "=other:", "other");
        live.paste(&ctx, "typed").unwrap();
        let _ = tmux.run(&ctx, &["kill-server"]);
    }
}
