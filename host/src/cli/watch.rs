//! `ao status --watch`: a full-screen view of the fleet, re-read from the store and the event
//! logs every second, what needs a human first. Enter attaches to the selected session (the
//! view comes back when you detach); `s` sends it a message (acknowledged, like `ao send`).
//! The plugins are loaded only when one of those is first used.

mod model;
mod view;

use crate::cli::{Globals, context, fleet};
use anyhow::{Result, bail};
use ao::config::Config;
use ao_plugin_api::slots::runtime::HandleRequest;
use model::Model;
use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::{Duration, Instant};

pub(crate) fn run(globals: &Globals) -> Result<ExitCode> {
    if !std::io::stdout().is_terminal() {
        bail!(
            "`ao status --watch` needs a terminal; scripts want `ao status` or `ao status --json`"
        );
    }
    let config = context::load_config(globals)?;
    let mut w = Watch {
        config,
        globals,
        model: Model::default(),
        opened: None,
    };
    w.model.refresh(&w.config);
    let mut terminal = ratatui::init();
    let result = w.run(&mut terminal);
    ratatui::restore();
    if let Some(o) = w.opened.take() {
        o.rt.block_on(o.fleet.shutdown());
        o.rt.shutdown_timeout(Duration::from_millis(200));
    }
    result.map(|()| ExitCode::SUCCESS)
}

struct Watch<'a> {
    config: Config,
    globals: &'a Globals,
    model: Model,
    opened: Option<fleet::Opened>,
}

impl Watch<'_> {
    fn run(&mut self, terminal: &mut DefaultTerminal) -> Result<()> {
        let mut refreshed = Instant::now();
        loop {
            terminal.draw(|f| view::draw(f, &self.model))?;
            if event::poll(Duration::from_millis(250))?
                && let Event::Key(k) = event::read()?
                && k.kind == KeyEventKind::Press
            {
                if self.model.input.is_some() {
                    self.typing(k.code);
                    continue;
                }
                let ctrl_c =
                    k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
                match k.code {
                    _ if ctrl_c => return Ok(()),
                    KeyCode::Char('q') | KeyCode::Esc => return Ok(()),
                    KeyCode::Up | KeyCode::Char('k') => self.model.step(-1),
                    KeyCode::Down | KeyCode::Char('j') => self.model.step(1),
                    KeyCode::Char('r') => self.model.refresh(&self.config),
                    KeyCode::Char('s') if self.model.selected().is_some() => {
                        self.model.flash = None;
                        self.model.input = Some(String::new());
                    }
                    KeyCode::Enter | KeyCode::Char('a') => self.attach(terminal),
                    _ => {}
                }
            }
            if refreshed.elapsed() >= Duration::from_secs(1) {
                self.model.refresh(&self.config);
                refreshed = Instant::now();
            }
        }
    }

    fn typing(&mut self, key: KeyCode) {
        let Some(text) = self.model.input.as_mut() else {
            return;
        };
        match key {
            KeyCode::Esc => self.model.input = None,
            KeyCode::Backspace => {
                text.pop();
            }
            KeyCode::Char(c) => text.push(c),
            KeyCode::Enter => {
                let text = self.model.input.take().unwrap_or_default();
                if !text.trim().is_empty() {
                    self.send(&text);
                }
            }
            _ => {}
        }
    }

    fn fleet(&mut self) -> Result<&fleet::Opened> {
        if self.opened.is_none() {
            self.opened = Some(fleet::open(self.globals)?);
        }
        Ok(self.opened.as_ref().expect("just opened"))
    }

    fn send(&mut self, text: &str) {
        let Some(s) = self.model.selected().cloned() else {
            return;
        };
        let flash = match self.fleet() {
            Err(e) => format!("cannot send: {e:#}"),
            Ok(o) => match o.rt.block_on(ao::fleet::send::send(&o.fleet, &s, text)) {
                Ok(out) if out.acknowledged => format!("sent to {}: the agent took it", s.id),
                Ok(_) => format!("sent to {}, but the agent has not taken it yet", s.id),
                Err(e) => format!("could not send to {}: {e}", s.id),
            },
        };
        self.model.flash = Some(flash);
    }

    fn attach(&mut self, terminal: &mut DefaultTerminal) {
        let Some(s) = self.model.selected().cloned() else {
            return;
        };
        let Some(handle) = s.runtime_handle.clone() else {
            self.model.flash = Some(format!("{} has no runtime to attach to", s.id));
            return;
        };
        let info = self.fleet().and_then(|o| {
            let p = o.fleet.project(&s.project)?;
            Ok(o.rt.block_on(async {
                let rt = o.fleet.runtime(p, &handle.runtime).await?;
                rt.attach_info(&HandleRequest { handle }).await
            })?)
        });
        let argv = match info {
            Ok(i) if !i.argv.is_empty() => i.argv,
            Ok(_) => {
                self.model.flash = Some(format!("{}'s runtime cannot be attached to", s.id));
                return;
            }
            Err(e) => {
                self.model.flash = Some(format!("cannot attach to {}: {e:#}", s.id));
                return;
            }
        };
        ratatui::restore();
        // A nested tmux refuses to start inside tmux unless told it is on purpose.
        let status = std::process::Command::new(&argv[0])
            .args(&argv[1..])
            .env_remove("TMUX")
            .status();
        *terminal = ratatui::init();
        self.model.flash = Some(match status {
            Ok(_) => format!("back from {}", s.id),
            Err(e) => format!("could not run {}: {e}", argv[0]),
        });
        self.model.refresh(&self.config);
    }
}
