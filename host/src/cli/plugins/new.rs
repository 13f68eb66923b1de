//! `ao plugins new <name> --slot <slot>`: a plugin crate from the SDK template.

use crate::cli::output;
use anyhow::{Context, Result, anyhow};
use ao::plugins::template::{self, NewPlugin};
use ao_plugin_api::manifest::Slot;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The crate and plugin name (lowercase, digits, dashes)
    name: String,
    /// The slot it fills: runtime, agent, workspace, tracker, scm, notifier, terminal
    #[arg(long)]
    slot: String,
    /// Where to create it (default: ./<name>)
    #[arg(long)]
    path: Option<PathBuf>,
    /// One line for `ao plugins list`
    #[arg(long, default_value = "An in-house ao plugin")]
    description: String,
    /// A local ao-plugin-api checkout to build against (written to .cargo/config.toml)
    #[arg(long, value_name = "DIR")]
    api_path: Option<PathBuf>,
}

pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let slot = Slot::parse(&args.slot).ok_or_else(|| {
        anyhow!(
            "unknown slot `{}`: use one of {}",
            args.slot,
            Slot::ALL.map(Slot::as_str).join(", ")
        )
    })?;
    let dest = args
        .path
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.name));
    let files = template::generate(
        &dest,
        &NewPlugin {
            name: args.name.clone(),
            slot,
            description: args.description,
            api_path: args.api_path,
        },
    )
    .with_context(|| format!("could not create the plugin in {}", dest.display()))?;
    let mut text = format!(
        "created {} ({} plugin) in {}:\n",
        args.name,
        slot,
        dest.display()
    );
    for f in files {
        text.push_str(&format!(
            "  {}\n",
            f.strip_prefix(&dest).unwrap_or(&f).display()
        ));
    }
    text.push_str(&format!(
        "next: cd {} && cargo test && cargo build --release && ao plugins install target/release/",
        dest.display()
    ));
    output::out(&text)?;
    Ok(ExitCode::SUCCESS)
}
