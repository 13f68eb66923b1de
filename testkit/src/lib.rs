//! Test doubles that behave like the real services `ao` talks to, on 127.0.0.1.
//!
//! - [`receiver`]: an HTTP endpoint that records every request and answers from a script
//!   (webhook, Slack, Discord receivers);
//! - `fixtures/`: cdylib plugins that misbehave on purpose, for the host's loader tests.

pub mod receiver;
