//! The `ao` binary: parse the command line, set up logging, run one command.

mod cli;

fn main() -> std::process::ExitCode {
    ao::alloc::limit_arenas();
    cli::main()
}
