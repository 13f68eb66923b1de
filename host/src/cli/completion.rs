//! `ao completion <shell>`: a completion script on stdout.

use anyhow::Result;
use clap::CommandFactory;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// bash, zsh, fish, elvish or powershell
    shell: clap_complete::Shell,
}

pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let mut cmd = crate::cli::Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "ao", &mut buf);
    crate::cli::output::out(&String::from_utf8_lossy(&buf))?;
    Ok(ExitCode::SUCCESS)
}
