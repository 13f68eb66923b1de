//! Drawing the watch screen from the model: a title line, the sessions (what needs a human in
//! red, what is waiting on a fix in yellow, what is ready in green), the latest events, and a
//! footer with the keys, the message being typed, or the last feedback.

use super::model::{Model, attention};
use crate::cli::context::ago;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState};

fn status_style(a: u8) -> Style {
    match a {
        0 => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        1 => Style::new().fg(Color::Yellow),
        2 => Style::new().fg(Color::Green),
        4 => Style::new().fg(Color::DarkGray),
        _ => Style::new(),
    }
}

pub(crate) fn draw(f: &mut Frame, m: &Model) {
    let [title, table, events, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(4),
        Constraint::Length(super::model::EVENTS as u16 + 2),
        Constraint::Length(1),
    ])
    .areas(f.area());

    let urgent = m.urgent();
    let head = format!(
        "ao — {} session(s){}",
        m.sessions.len(),
        if urgent > 0 {
            format!(" · {urgent} need you")
        } else {
            String::new()
        }
    );
    f.render_widget(
        Paragraph::new(head).style(Style::new().add_modifier(Modifier::BOLD)),
        title,
    );

    let rows = m.sessions.iter().map(|s| {
        let activity = s.activity_fact.as_ref().map_or("-".to_string(), |a| {
            let state = serde_json::to_value(a.state)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default();
            format!("{state} {}", ago(a.at, m.now))
        });
        let pr = match (&s.pr, &s.pr_fact) {
            (Some(url), Some(f)) => format!(
                "#{} ci:{} review:{}",
                url.rsplit('/').next().unwrap_or(""),
                f.ci,
                f.review
            ),
            (Some(url), None) => format!("#{}", url.rsplit('/').next().unwrap_or("")),
            _ => "-".into(),
        };
        let what = if s.status_reason.is_empty() {
            s.summary.clone().unwrap_or_default()
        } else {
            s.status_reason.clone()
        };
        Row::new(vec![
            Cell::from(s.id.clone()),
            Cell::from(s.status.as_str()).style(status_style(attention(s.status))),
            Cell::from(activity),
            Cell::from(pr),
            Cell::from(
                s.cost
                    .as_ref()
                    .map_or_else(|| "-".into(), crate::cli::status::cost_cell),
            ),
            Cell::from(what),
        ])
    });
    let widths = [
        Constraint::Length(18),
        Constraint::Length(18),
        Constraint::Length(18),
        Constraint::Length(30),
        Constraint::Length(16),
        Constraint::Fill(1),
    ];
    let t = Table::new(rows, widths)
        .header(
            Row::new(["SESSION", "STATUS", "ACTIVITY", "PR", "COST", "WHAT"])
                .style(Style::new().add_modifier(Modifier::BOLD)),
        )
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED))
        .highlight_symbol("> ")
        .block(Block::new().borders(Borders::TOP | Borders::BOTTOM));
    let mut state = TableState::default().with_selected(m.selected_index());
    f.render_stateful_widget(t, table, &mut state);

    let lines: Vec<Line> = m
        .events
        .iter()
        .map(|e| {
            Line::from(format!(
                "{:>4} ago  {:<10} {:<24} {}",
                ago(e.ts, m.now),
                e.session.as_deref().unwrap_or("ao"),
                e.kind,
                e.message
            ))
        })
        .collect();
    f.render_widget(
        Paragraph::new(lines).block(Block::new().borders(Borders::TOP).title(" events ")),
        events,
    );

    let bottom = match (&m.input, m.selected()) {
        (Some(text), Some(s)) => {
            format!("message to {}: {text}_   (Enter sends, Esc cancels)", s.id)
        }
        _ => m.flash.clone().unwrap_or_else(|| {
            "↑/↓ select · Enter attach · s send a message · r refresh · q quit".into()
        }),
    };
    f.render_widget(Paragraph::new(bottom), footer);
}
