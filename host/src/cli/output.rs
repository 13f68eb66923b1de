//! The only module that prints. stdout carries data (tables, JSON); stderr carries people's
//! messages. Output reads the same without colour; `NO_COLOR` and non-terminals get none.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use anyhow::Result;
use serde::Serialize;
use std::io::{IsTerminal, Write};

/// Writes text to stdout (a trailing newline is added when missing).
pub(crate) fn out(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        stdout.write_all(b"\n")?;
    }
    stdout.flush()?;
    Ok(())
}

/// Pretty JSON to stdout, streamed (no second copy of a large document in memory).
pub(crate) fn json(value: &impl Serialize) -> Result<()> {
    let mut w = std::io::BufWriter::new(std::io::stdout().lock());
    // As an io::Error, so a reader that went away (`| head`) is seen as a broken pipe.
    serde_json::to_writer_pretty(&mut w, value).map_err(std::io::Error::from)?;
    w.write_all(b"\n")?;
    w.flush()?;
    Ok(())
}

/// A message for a person, on stderr. A stderr that cannot be written (a full disk under
/// the daemon's log) loses the message, never the caller.
pub(crate) fn note(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// A question for a person, on stderr, without a newline (the answer follows on the line).
pub(crate) fn ask(text: &str) -> std::io::Result<()> {
    let mut e = std::io::stderr().lock();
    e.write_all(text.as_bytes())?;
    e.flush()
}

/// `error: …` on stderr.
pub(crate) fn error(text: &str) {
    let _ = writeln!(std::io::stderr(), "error: {text}");
}

/// A borderless table with a header row, for stdout.
pub(crate) fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::NOTHING)
        .set_content_arrangement(comfy_table::ContentArrangement::Disabled)
        .set_header(header.iter().copied());
    for row in rows {
        t.add_row(row);
    }
    // The NOTHING preset pads every cell with one space on each side; trim line ends.
    t.to_string()
        .lines()
        .map(|l| l.trim_end().strip_prefix(' ').unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether stdout gets ANSI colours (a terminal, and `NO_COLOR` unset).
pub(crate) fn color_stdout() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
}

/// Whether stderr gets ANSI colours.
pub(crate) fn color_stderr() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
}

/// A closed pipe (`ao plugins list | head -1`) is not an error.
pub(crate) fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
