//! `ao`'s integration tests, driving the real binary and real plugin libraries.
//!
//! They need the workspace's cdylibs and examples: run `cargo build --workspace --all-targets`
//! (the README's test command does both).
// Helpers are `pub` for sibling test modules; the test crate has no outside users.
#![allow(unreachable_pub)]

mod agent_cli;
mod agent_env;
mod batch;
mod browser;
mod config;
mod dashboard;
mod demo;
mod docker;
mod engine;
mod fault_storms;
mod faults;
mod forge_cli;
mod interrupted;
mod launch;
mod leftovers;
mod lifecycle;
mod open;
mod plugin_calls;
mod plugins_cli;
mod plugins_install;
mod protocol;
mod read_cli;
mod real_agents;
mod reload;
mod runtime_workspace;
mod sdk_template;
mod store;
mod support;
mod watch;
