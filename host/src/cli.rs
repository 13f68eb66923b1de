//! The command layer: one clap tree, one file per subcommand. Commands return
//! `anyhow::Result<ExitCode>`; errors are printed once, here, as `error: …` with their context.

mod answer;
mod batch_spawn;
mod completion;
mod config;
mod config_help;
mod context;
mod dashboard;
mod demo;
mod doctor;
mod fleet;
mod hook;
mod log_writer;
mod open;
mod output;
mod plugins;
mod report;
mod send;
mod session;
mod shim;
mod spawn;
mod start;
mod status;
mod stop;
mod watch;

use anyhow::Result;
use clap::{ArgAction, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Runs fleets of AI coding agents in parallel, each in its own worktree, branch, session and PR.
#[derive(Debug, Parser)]
#[command(name = "ao", version, propagate_version = true, max_term_width = 100)]
pub(crate) struct Cli {
    /// More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides
    #[arg(short, long, action = ArgAction::Count, global = true)]
    verbose: u8,
    /// Only errors on stderr
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// A directory searched for plugins before all others (repeatable)
    #[arg(long = "plugin-dir", value_name = "DIR", global = true)]
    plugin_dirs: Vec<PathBuf>,
    #[command(flatten)]
    config: ConfigFlag,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole lifecycle offline on a simulated GitHub with scripted agents
    Demo(demo::Args),
    /// Every session, grouped by project, with status, activity, PR and summary
    Status(status::Args),
    /// Start ao: the lifecycle engine and its webhook endpoint, in the background
    Start(start::Args),
    /// Stop ao (agents keep running unless --kill-sessions)
    Stop(stop::Args),
    /// Start a worker session on an issue or a prompt
    Spawn(spawn::Args),
    /// Start one worker session per issue, a few at a time (skips issues already being worked on)
    BatchSpawn(batch_spawn::Args),
    /// Send a message to a session's agent (waits for it to take the message)
    Send(send::Args),
    /// Answer the dialog a session's agent shows (a permission, trust or yes/no question)
    Answer(answer::Args),
    /// Show a session (or --all) through the terminal plugin (tmux window, browser tab, ...)
    Open(open::Args),
    /// Print the dashboard's URL (with its token) of the running ao
    Dashboard(dashboard::Args),
    /// Session commands
    Session(session::Args),
    /// Check that everything ao needs is in place
    Doctor(doctor::Args),
    /// Validate the config or print its JSON Schema
    Config(config::Args),
    /// The reference for agent-orchestrator.yaml
    ConfigHelp,
    /// Print a shell completion script
    Completion(completion::Args),
    /// Record an agent's state in its status file (run by the agent's own hooks)
    Hook(hook::Args),
    /// Report this session's state (run by the agent)
    Report(report::Args),
    /// Acknowledge the task (run by the agent; same as `ao report started`)
    Acknowledge(report::AckArgs),
    /// List, inspect, install, verify, scaffold and try plugins
    Plugins(plugins::Args),
    /// Internal: serve a plugin library to a parent `ao` (probe, isolation)
    #[command(name = "__plugin-shim", hide = true)]
    PluginShim(shim::Args),
}

/// `--config FILE`: accepted before the subcommand and by each command that reads the config.
/// Not a clap `global`, because `ao plugins call --config` is the component's own config.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct ConfigFlag {
    /// The config file (default: $AO_CONFIG, else the nearest agent-orchestrator.yaml upwards)
    #[arg(long = "config", value_name = "FILE")]
    pub(crate) file: Option<PathBuf>,
}

/// What every command may need from the global flags.
#[derive(Debug)]
pub(crate) struct Globals {
    pub(crate) plugin_dirs: Vec<PathBuf>,
    pub(crate) config: Option<PathBuf>,
}

impl Globals {
    /// These globals with a command's own `--config`, which wins over one given before it.
    pub(crate) fn with(&self, flag: &ConfigFlag) -> Globals {
        Globals {
            plugin_dirs: self.plugin_dirs.clone(),
            config: flag.file.clone().or_else(|| self.config.clone()),
        }
    }
}

pub(crate) fn main() -> ExitCode {
    // `ao hook` runs inside agents' hooks: no tracing setup, and no parse error may exit 2.
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if argv.get(1).is_some_and(|a| a == "hook") {
        return hook::run_raw(argv);
    }
    let cli = Cli::parse_from(argv);
    init_tracing(cli.verbose, cli.quiet);
    let globals = Globals {
        plugin_dirs: cli.plugin_dirs,
        config: cli.config.file,
    };
    let result: Result<ExitCode> = match cli.command {
        Command::Demo(args) => demo::run(args, &globals),
        Command::Status(args) => status::run(args, &globals),
        Command::Start(args) => start::run(args, &globals),
        Command::Stop(args) => stop::run(args, &globals),
        Command::Spawn(args) => spawn::run(args, &globals),
        Command::BatchSpawn(args) => batch_spawn::run(args, &globals),
        Command::Send(args) => send::run(args, &globals),
        Command::Answer(args) => answer::run(args, &globals),
        Command::Open(args) => open::run(args, &globals),
        Command::Dashboard(args) => dashboard::run(args, &globals),
        Command::Session(args) => session::run(args, &globals),
        Command::Doctor(args) => doctor::run(args, &globals),
        Command::Config(args) => config::run(args, &globals),
        Command::ConfigHelp => config_help::run(),
        Command::Completion(args) => completion::run(args),
        Command::Report(args) => report::run(args),
        Command::Acknowledge(args) => report::acknowledge(args),
        Command::Hook(args) => hook::run(args)
            .map(|()| ExitCode::SUCCESS)
            .map_err(anyhow::Error::msg),
        Command::Plugins(args) => plugins::run(args, &globals),
        Command::PluginShim(args) => shim::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) if output::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            output::error(&format!("{e:#}"));
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(verbose: u8, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| log_writer::LogWriter)
        .log_internal_errors(false)
        .with_target(verbose >= 2)
        .without_time()
        .with_ansi(output::color_stderr())
        .try_init();
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_tree_is_valid() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
