//! `pods/{name}/exec` over WebSocket, as the API server speaks it (the remotecommand
//! subprotocols): every message is binary, its first byte the channel — 0 stdin (client to
//! server), 1 stdout, 2 stderr, 3 the final `Status` (JSON; a non-zero exit is `Failure` with
//! reason `NonZeroExitCode` and the code in `details.causes[ExitCode]`). `v5.channel.k8s.io` adds
//! a close signal, `[255, channel]`, by which the client ends stdin; `v4.channel.k8s.io` has no
//! way to, so a command reading stdin to its end never sees it. The command runs by
//! `docker exec` in the pod's container.

use super::api::reply;
use super::{State, kubelet, status};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State as S};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub(super) const V4: &str = "v4.channel.k8s.io";
pub(super) const V5: &str = "v5.channel.k8s.io";

pub(super) async fn exec(
    S(state): S<Arc<State>>,
    Path((ns, name)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let Ok(ws) = ws else {
        return reply(
            400,
            status(400, "BadRequest", "exec needs a WebSocket upgrade"),
        );
    };
    let offered: Vec<String> = headers
        .get_all("sec-websocket-protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|p| p.trim().to_string()))
        .collect();
    let Some(protocol) = [V5, V4]
        .into_iter()
        .find(|p| offered.iter().any(|o| o == p))
    else {
        return reply(
            400,
            status(
                400,
                "BadRequest",
                &format!("none of the offered subprotocols {offered:?} is supported"),
            ),
        );
    };
    let q = super::api::query_pairs(&uri);
    let command: Vec<String> = q
        .iter()
        .filter(|(k, _)| k == "command")
        .map(|(_, v)| v.clone())
        .collect();
    let flag = |k: &str| q.iter().any(|(n, v)| n == k && v == "true");
    let key = (ns, name.clone());
    let Some(pod) = state.pod(&key) else {
        return reply(
            404,
            status(404, "NotFound", &format!("pods {name:?} not found")),
        );
    };
    let container = q
        .iter()
        .find(|(k, _)| k == "container")
        .map(|(_, v)| v.clone())
        .or_else(|| {
            pod["spec"]["containers"][0]["name"]
                .as_str()
                .map(str::to_owned)
        })
        .unwrap_or_default();
    if command.is_empty() {
        return reply(
            400,
            status(400, "BadRequest", "you must specify at least 1 command"),
        );
    }
    let running = pod["status"]["phase"] == "Running";
    let Some(docker_name) = kubelet::container_name(&pod, &container).filter(|_| running) else {
        return reply(
            400,
            status(
                400,
                "BadRequest",
                &format!(
                    "unable to upgrade connection: container not found ({container:?}) or pod not running"
                ),
            ),
        );
    };
    let stdin = flag("stdin");
    let v5 = protocol == V5;
    ws.protocols([protocol])
        .on_upgrade(move |socket| session(socket, docker_name, command, stdin, v5))
}

async fn session(
    socket: WebSocket,
    container: String,
    command: Vec<String>,
    stdin: bool,
    v5: bool,
) {
    let (mut tx, mut rx) = socket.split();
    let mut args = vec!["exec".to_string()];
    if stdin {
        args.push("-i".into());
    }
    args.push(container);
    args.extend(command.iter().cloned());
    let child = tokio::process::Command::new("docker")
        .args(&args)
        .stdin(if stdin {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        })
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            let s = status(500, "InternalError", &format!("exec: {e}"));
            let _ = tx.send(frame(3, s.to_string().as_bytes())).await;
            return;
        }
    };
    let (out_tx, mut out_rx) = tokio::sync::mpsc::channel::<(u8, Vec<u8>)>(64);
    for (ch, pipe) in [
        (
            1u8,
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
        ),
        (
            2u8,
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
        ),
    ] {
        let Some(mut pipe) = pipe else { continue };
        let out_tx = out_tx.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 32 * 1024];
            while let Ok(n) = pipe.read(&mut buf).await {
                if n == 0 || out_tx.send((ch, buf[..n].to_vec())).await.is_err() {
                    break;
                }
            }
        });
    }
    drop(out_tx);
    let mut child_stdin = child.stdin.take();
    // Client → stdin, until the client closes stdin (v5), the socket, or the command ends.
    let reader = tokio::spawn(async move {
        while let Some(Ok(msg)) = rx.next().await {
            let data = match msg {
                Message::Binary(b) => b.to_vec(),
                Message::Close(_) => break,
                _ => continue,
            };
            match data.split_first() {
                Some((0, rest)) => {
                    if let Some(s) = child_stdin.as_mut()
                        && s.write_all(rest).await.is_err()
                    {
                        child_stdin = None;
                    }
                }
                Some((255, [0])) if v5 => child_stdin = None,
                _ => {}
            }
        }
        // The socket ended: the command gets EOF on stdin.
    });
    while let Some((ch, data)) = out_rx.recv().await {
        if tx.send(frame(ch, &data)).await.is_err() {
            break;
        }
    }
    let code = child.wait().await.ok().and_then(|s| s.code()).unwrap_or(1);
    let end = if code == 0 {
        json!({"metadata": {}, "status": "Success"})
    } else {
        json!({
            "metadata": {},
            "status": "Failure",
            "message": format!(
                "command terminated with non-zero exit code: error executing command {command:?}, exit code {code}"
            ),
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
        })
    };
    let _ = tx.send(frame(3, end.to_string().as_bytes())).await;
    let _ = tx.send(Message::Close(None)).await;
    reader.abort();
}

fn frame(channel: u8, data: &[u8]) -> Message {
    let mut v = Vec::with_capacity(data.len() + 1);
    v.push(channel);
    v.extend_from_slice(data);
    Message::Binary(v.into())
}
