//! The live terminal: `GET /api/sessions/{id}/terminal/ws` upgrades to a WebSocket bridged to a
//! pty running the session's attach command (for tmux, `tmux attach` to its session). Output
//! goes out as binary frames; the page sends `{"type":"input","data":…}` and
//! `{"type":"resize","cols":…,"rows":…}`. Only pages of this dashboard may connect (`Origin`).

use super::Dash;
use super::pty::{Pty, pump};
use crate::fleet::send::find;
use ao_plugin_api::slots::runtime::HandleRequest;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// Whether a WebSocket's `Origin` is this dashboard (absent: not a browser, the token sufficed).
pub(super) fn same_origin(headers: &HeaderMap, port: u16) -> bool {
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(o) => o
            .strip_prefix("http://")
            .is_some_and(|host| super::auth::loopback_host(host, port)),
    }
}

pub(super) async fn ws(
    State(d): State<Arc<Dash>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if !same_origin(&headers, d.port) {
        return (
            StatusCode::FORBIDDEN,
            "the terminal opens from this dashboard only",
        )
            .into_response();
    }
    let argv = match attach_argv(&d, &id).await {
        Ok(a) => a,
        Err(why) => return (StatusCode::BAD_REQUEST, why).into_response(),
    };
    upgrade.on_upgrade(move |socket| bridge(socket, argv))
}

async fn attach_argv(d: &Dash, id: &str) -> Result<Vec<String>, String> {
    let fleet = d.fleet.get();
    let s = find(&fleet, id).map_err(|e| e.to_string())?;
    let h = s
        .runtime_handle
        .clone()
        .ok_or_else(|| format!("{id} has no runtime to attach to"))?;
    let p = fleet.project(&s.project).map_err(|e| e.to_string())?;
    let rt = fleet
        .runtime(p, &h.runtime)
        .await
        .map_err(|e| e.to_string())?;
    let info = rt
        .attach_info(&HandleRequest { handle: h })
        .await
        .map_err(|e| e.to_string())?;
    if info.argv.is_empty() {
        return Err(format!(
            "{id}'s runtime cannot be attached to from a terminal"
        ));
    }
    Ok(info.argv)
}

#[derive(serde::Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Input {
    Input { data: String },
    Resize { cols: u16, rows: u16 },
}

async fn bridge(mut socket: WebSocket, argv: Vec<String>) {
    let mut pty = match Pty::spawn(&argv, 80, 24) {
        Ok(p) => p,
        Err(e) => {
            let _ = socket
                .send(Message::Text(format!("\r\nao: {e}\r\n").into()))
                .await;
            return;
        }
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(64);
    match pty.reader() {
        Ok(reader) => {
            std::thread::spawn(move || pump(reader, |b| tx.blocking_send(b).is_ok()));
        }
        Err(_) => return,
    }
    // A quiet pane still moves bytes: the daemon closes connections idle for minutes.
    let mut ping = tokio::time::interval(std::time::Duration::from_secs(30));
    ping.tick().await;
    loop {
        tokio::select! {
            _ = ping.tick() => {
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                    break;
                }
            }
            out = rx.recv() => match out {
                Some(bytes) => {
                    if socket.send(Message::Binary(bytes.into())).await.is_err() {
                        break;
                    }
                }
                None => {
                    let _ = socket.send(Message::Close(None)).await;
                    break;
                }
            },
            msg = socket.recv() => match msg {
                Some(Ok(Message::Text(t))) => match serde_json::from_str::<Input>(&t) {
                    Ok(Input::Input { data }) => {
                        if pty.write(data.as_bytes()).is_err() {
                            break;
                        }
                    }
                    Ok(Input::Resize { cols, rows }) => pty.resize(cols, rows),
                    Err(_) => {}
                },
                Some(Ok(Message::Binary(b))) => {
                    if pty.write(&b).is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    // Dropping the pty hangs up `tmux attach`; the session itself lives on.
    drop(pty);
}
