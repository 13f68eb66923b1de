//! `ao config-help`: the reference for agent-orchestrator.yaml.

use anyhow::Result;
use std::process::ExitCode;

const HELP: &str = include_str!("config_help.txt");

pub(crate) fn run() -> Result<ExitCode> {
    crate::cli::output::out(HELP)?;
    Ok(ExitCode::SUCCESS)
}
