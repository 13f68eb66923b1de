//! `ao plugins trust [<project>] [--remove]`: allow (or stop allowing) the libraries now in a
//! project's `.ao/plugins` to be loaded.

use crate::cli::output;
use anyhow::{Context, Result, bail};
use ao::plugins::trust::{PROJECT_PLUGIN_DIR, TrustStore, find_project_plugin_dir};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The project (or its .ao/plugins directory); default: the nearest one above the current directory
    project: Option<PathBuf>,
    /// Stop trusting it
    #[arg(long)]
    remove: bool,
}

pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let dir = match &args.project {
        Some(p) => {
            let p = p
                .canonicalize()
                .with_context(|| format!("could not find {}", p.display()))?;
            let inner = p.join(PROJECT_PLUGIN_DIR);
            if inner.is_dir() {
                inner.canonicalize()?
            } else {
                p
            }
        }
        None => {
            let cwd = std::env::current_dir()?;
            match find_project_plugin_dir(&cwd) {
                Some(d) => d,
                None => bail!(
                    "no {PROJECT_PLUGIN_DIR} directory in {} or above it",
                    cwd.display()
                ),
            }
        }
    };
    let mut store = TrustStore::for_user();
    if args.remove {
        let was = store.revoke(&dir)?;
        output::out(&if was {
            format!("no longer trusting {}", dir.display())
        } else {
            format!("{} was not trusted", dir.display())
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let record = store.trust(&dir)?;
    let mut text = format!(
        "trusting {} library(ies) in {}:",
        record.files.len(),
        dir.display()
    );
    for (name, sha) in &record.files {
        text.push_str(&format!("\n  {name}  sha256 {}", &sha[..16]));
    }
    text.push_str(
        "\na library added or changed later is refused until you trust the directory again",
    );
    output::out(&text)?;
    Ok(ExitCode::SUCCESS)
}
