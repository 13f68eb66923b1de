//! The delivery driver's view of a tmux pane.

use crate::tmux::Tmux;
use ao_plugin_api::sdk::delivery::Terminal;
use ao_plugin_api::sdk::{Ctx, SdkError};
use std::sync::atomic::{AtomicU64, Ordering};

static BUFFERS: AtomicU64 = AtomicU64::new(0);

pub(crate) struct TmuxTerminal<'a> {
    tmux: &'a Tmux,
    target: &'a str,
    name: &'a str,
}

impl<'a> TmuxTerminal<'a> {
    pub(crate) fn new(tmux: &'a Tmux, target: &'a str, name: &'a str) -> Self {
        Self { tmux, target, name }
    }
}

impl Terminal for TmuxTerminal<'_> {
    fn capture(&self, ctx: &Ctx) -> Result<String, SdkError> {
        self.tmux
            .run(ctx, &["capture-pane", "-p", "-t", self.target])
    }

    fn capture_styled(&self, ctx: &Ctx) -> Result<String, SdkError> {
        self.tmux
            .run(ctx, &["capture-pane", "-p", "-e", "-t", self.target])
    }

    fn clear_input(&self, ctx: &Ctx) -> Result<(), SdkError> {
        self.tmux
            .run(ctx, &["send-keys", "-t", self.target, "C-u"])
            .map(drop)
    }

    fn paste(&self, ctx: &Ctx, text: &str) -> Result<(), SdkError> {
        // A buffer of our own (unique per paste) loaded from stdin: the text never appears on a
        // command line, and `-p` brackets it when the application enabled bracketed paste, so
        // newlines inside it do not submit early. `-d` deletes the buffer after pasting.
        let buffer = format!(
            "ao-{}-{}-{}",
            self.name,
            std::process::id(),
            BUFFERS.fetch_add(1, Ordering::Relaxed)
        );
        let result = self.tmux.run_stdin(
            ctx,
            text,
            &[
                "load-buffer",
                "-b",
                &buffer,
                "-",
                ";",
                "paste-buffer",
                "-d",
                "-p",
                "-b",
                &buffer,
                "-t",
                self.target,
            ],
        );
        if result.is_err() {
            let _ = self.tmux.run(ctx, &["delete-buffer", "-b", &buffer]);
        }
        result.map(drop)
    }

    fn press_enter(&self, ctx: &Ctx) -> Result<(), SdkError> {
        self.send_key(ctx, "Enter")
    }

    fn type_keys(&self, ctx: &Ctx, keys: &str) -> Result<(), SdkError> {
        // `-l`: the text is typed as characters, never read as key names.
        self.tmux
            .run(ctx, &["send-keys", "-t", self.target, "-l", "--", keys])
            .map(drop)
    }

    fn send_key(&self, ctx: &Ctx, key: &str) -> Result<(), SdkError> {
        if !matches!(key, "Enter" | "Up" | "Down" | "Left" | "Right" | "Escape") {
            return Err(SdkError::InvalidParams(format!(
                "not a key ao presses: {key:?}"
            )));
        }
        self.tmux
            .run(ctx, &["send-keys", "-t", self.target, key])
            .map(drop)
    }
}
