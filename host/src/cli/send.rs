//! `ao send <session> <message|--file F>`: acknowledged delivery; exits 1 when the agent did
//! not take the message, and 3 when nothing was typed because the agent shows a dialog that
//! only the human may answer (`ao answer`).

use crate::cli::{Globals, fleet, output};
use anyhow::{Context, Result, bail};
use ao::fleet::send::{find, send};
use std::process::ExitCode;

/// The exit code of a send refused at a dialog: distinct from 1 (not acknowledged), so a
/// script can tell "ask the human" from "try again".
pub(crate) const DIALOG_EXIT: u8 = 3;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The session id
    session: String,
    /// The message (or use --file)
    #[arg(conflicts_with = "message_file")]
    message: Vec<String>,
    /// Read the message from a file (- for standard input)
    #[arg(long = "file", value_name = "FILE")]
    message_file: Option<String>,
    #[command(flatten)]
    cfg: crate::cli::ConfigFlag,
}

pub(crate) fn run(args: Args, globals: &Globals) -> Result<ExitCode> {
    let text = match &args.message_file {
        Some(f) if f == "-" => {
            std::io::read_to_string(std::io::stdin()).context("reading stdin")?
        }
        Some(f) => std::fs::read_to_string(f).with_context(|| format!("could not read {f}"))?,
        None => args.message.join(" "),
    };
    if text.trim().is_empty() {
        bail!("nothing to send: give a message or --file");
    }
    let opened = fleet::open(&globals.with(&args.cfg))?;
    let outcome = opened.run(async |f| {
        let s = find(f, &args.session)?;
        send(f, &s, &text).await
    })?;
    if let Some(d) = &outcome.dialog {
        output::error(&format!(
            "{} is asking the human, so nothing was sent ({}): {}{}; answer with `ao answer {} <choice>`",
            args.session,
            d.kind,
            d.question,
            if d.options.is_empty() {
                String::new()
            } else {
                format!(" [{}]", d.options.join(" | "))
            },
            args.session,
        ));
        return Ok(ExitCode::from(DIALOG_EXIT));
    }
    if outcome.acknowledged {
        output::note(&format!(
            "delivered to {} ({})",
            args.session, outcome.evidence
        ));
        Ok(ExitCode::SUCCESS)
    } else {
        output::error(&format!(
            "{} did not acknowledge the message after {} attempt(s): {}",
            args.session, outcome.attempts, outcome.evidence
        ));
        Ok(ExitCode::FAILURE)
    }
}
