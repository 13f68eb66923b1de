//! `ao answer <session> <choice> [--dialog FP]`: answers the dialog the agent shows (a
//! permission, a trust question, a yes/no) with the human's choice: an option's number, the
//! start of its label, or y/n. Refused, with nothing pressed, when the dialog on screen is not
//! the one `ao status` showed (or the one `--dialog` names). Exits 0 once the dialog closed.

use crate::cli::{Globals, fleet, output};
use anyhow::Result;
use ao::fleet::answer::answer;
use ao::fleet::send::find;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The session id
    session: String,
    /// The option: its number, the start of its label, or y/n
    choice: String,
    /// The fingerprint of the dialog you are answering (default: the one `ao status` shows)
    #[arg(long = "dialog", value_name = "FINGERPRINT")]
    dialog: Option<String>,
    #[command(flatten)]
    cfg: crate::cli::ConfigFlag,
}

pub(crate) fn run(args: Args, globals: &Globals) -> Result<ExitCode> {
    let opened = fleet::open(&globals.with(&args.cfg))?;
    let outcome = opened.run(async |f| {
        let s = find(f, &args.session)?;
        answer(f, &s, &args.choice, args.dialog.as_deref()).await
    })?;
    if outcome.answered {
        output::note(&format!("{}: {}", args.session, outcome.evidence));
        Ok(ExitCode::SUCCESS)
    } else {
        output::error(&format!(
            "{}: not answered: {}",
            args.session, outcome.evidence
        ));
        Ok(ExitCode::FAILURE)
    }
}
