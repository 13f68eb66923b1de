//! `ao plugins info <name|file>`: manifest, config schemas, where it was found, shadowed copies.

use crate::cli::{Globals, output};
use anyhow::{Result, bail};
use ao::plugins::catalog::ScanOptions;
use ao::plugins::discovery::Candidate;
use ao::plugins::{Catalog, Entry};
use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// A plugin name from `ao plugins list`, or the path of a library file
    plugin: String,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: Args, globals: &Globals) -> Result<ExitCode> {
    let entries: Vec<Entry> = if Path::new(&args.plugin).is_file() {
        // An unknown file: open it in a child, exactly as verify does.
        Catalog::scan_candidates(
            vec![Candidate::for_file(Path::new(&args.plugin))?],
            &ScanOptions {
                cache: None,
                ..ScanOptions::for_current_exe()
            },
        )
        .entries
    } else {
        let catalog = super::scan(globals);
        let found: Vec<Entry> = catalog.all_named(&args.plugin).cloned().collect();
        if found.is_empty() {
            let names: Vec<&str> = catalog.entries.iter().map(|e| e.name.as_str()).collect();
            bail!(ao::Error::PluginNotFound {
                name: args.plugin.clone(),
                hint: ao::error::did_you_mean(&args.plugin, names),
            });
        }
        found
    };
    if args.json {
        let first = &entries[0];
        let mut v = super::entry_json(first);
        v["manifest"] = serde_json::to_value(&first.manifest)?;
        v["copies"] = entries[1..].iter().map(super::entry_json).collect();
        output::json(&serde_json::json!({ "data": v }))?;
        return Ok(ExitCode::SUCCESS);
    }
    output::out(&describe(&entries))?;
    Ok(ExitCode::SUCCESS)
}

fn describe(entries: &[Entry]) -> String {
    let e = &entries[0];
    let mut s = String::new();
    let _ = writeln!(s, "name:        {}", e.name);
    if let Some(m) = &e.manifest {
        let _ = writeln!(s, "version:     {}", m.version);
        if !m.description.is_empty() {
            let _ = writeln!(s, "description: {}", m.description);
        }
    }
    let _ = writeln!(s, "status:      {}", e.status.label());
    let _ = writeln!(s, "library:     {}", e.path.display());
    let _ = writeln!(
        s,
        "found in:    {} ({})",
        e.dir.path.display(),
        e.dir.source.as_str()
    );
    if let Some(sha) = &e.sha256 {
        let _ = writeln!(s, "sha256:      {sha}");
    }
    if let Some(m) = &e.manifest {
        let _ = writeln!(
            s,
            "protocol:    {} (this ao speaks {})",
            m.protocol,
            ao_plugin_api::manifest::PROTOCOL_VERSION
        );
        let _ = writeln!(s, "abi:         {}", m.abi);
        let _ = writeln!(
            s,
            "built for:   {} (panic = {}, ao-plugin-api {})",
            m.target, m.panic, m.sdk_version
        );
        let _ = writeln!(s, "components:");
        for c in &m.components {
            let _ = writeln!(s, "  {}", c.id());
            let _ = writeln!(s, "    methods: {}", c.methods.join(", "));
            let schema = serde_json::to_string_pretty(&c.config_schema).unwrap_or_default();
            let _ = writeln!(s, "    config schema:");
            for line in schema.lines() {
                let _ = writeln!(s, "      {line}");
            }
        }
    }
    if entries.len() > 1 {
        let _ = writeln!(s, "other copies:");
        for other in &entries[1..] {
            let _ = writeln!(
                s,
                "  {} ({}): {}",
                other.path.display(),
                other.dir.source.as_str(),
                other.status.label()
            );
        }
    }
    s
}
