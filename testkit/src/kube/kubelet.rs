//! The simulator's kubelet: each pod as Docker containers, driven through the `docker` CLI on a
//! thread of its own. `emptyDir` volumes become Docker volumes; init containers run to
//! completion in order; then the pod's first container runs detached, and its exit decides the
//! phase (`Succeeded`/`Failed`) with the container's `terminated` state. A missing image, an
//! unknown Secret or key, and `activeDeadlineSeconds` end as the kubelet reports them.

use super::api::unbase64;
use super::{State, now};
use serde_json::{Value, json};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Key = (String, String);

/// Docker's name for a pod's container (its uid keeps two lives of one pod apart).
fn docker_name(pod: &Value, container: &str) -> String {
    let uid = pod["metadata"]["uid"].as_str().unwrap_or_default();
    format!("kubesim-{}-{container}", &uid[..uid.len().min(12)])
}

/// The Docker container of a pod's container, once it was started.
pub(super) fn container_name(pod: &Value, container: &str) -> Option<String> {
    let statuses = pod["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .chain(pod["status"]["initContainerStatuses"].as_array())
        .flatten();
    statuses
        .filter(|s| s["name"] == container)
        .find(|s| s["containerID"].is_string())
        .map(|_| docker_name(pod, container))
}

fn docker(args: &[String]) -> std::io::Result<std::process::Output> {
    Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
}

/// Starts a pod's life on a thread.
pub(super) fn start(state: Arc<State>, key: Key) {
    std::thread::Builder::new()
        .name(format!("kubelet-{}", key.1))
        .spawn(move || run(&state, &key))
        .expect("kubelet thread");
}

fn waiting(state: &State, key: &Key, container: &str, reason: &str, message: &str) {
    state.update_pod(key, |p| {
        p["status"]["containerStatuses"] = json!([{
            "name": container,
            "ready": false,
            "restartCount": 0,
            "image": p["spec"]["containers"][0]["image"],
            "imageID": "",
            "started": false,
            "state": {"waiting": {"reason": reason, "message": message}},
        }]);
    });
}

fn fail_pod(state: &State, key: &Key, reason: &str, message: &str) {
    state.update_pod(key, |p| {
        p["status"]["phase"] = json!("Failed");
        p["status"]["reason"] = json!(reason);
        p["status"]["message"] = json!(message);
    });
}

fn run(state: &State, key: &Key) {
    let Some(pod) = state.pod(key) else { return };
    let spec = pod["spec"].clone();
    let containers = spec["containers"].as_array().cloned().unwrap_or_default();
    let inits = spec["initContainers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let main = containers[0].clone();
    let main_name = main["name"].as_str().unwrap_or_default().to_string();
    // Images: the engine's own; nothing is pulled.
    for c in inits.iter().chain(containers.iter()) {
        let image = c["image"].as_str().unwrap_or_default();
        let present = docker(&["image".into(), "inspect".into(), image.into()])
            .is_ok_and(|o| o.status.success());
        if !present {
            let never = c["imagePullPolicy"] == "Never";
            let (reason, message) = if never {
                (
                    "ErrImageNeverPull",
                    format!("Container image {image:?} is not present with pull policy of Never"),
                )
            } else {
                (
                    "ImagePullBackOff",
                    format!("Back-off pulling image {image:?}"),
                )
            };
            waiting(state, key, &main_name, reason, &message);
            return;
        }
    }
    // Volumes: an emptyDir is a directory on the node, writable by any user as the kubelet
    // makes it (0777); `medium: Memory` a tmpfs; a hostPath the node's own path.
    let mut volumes: Vec<(String, Option<String>)> = Vec::new();
    for v in spec["volumes"].as_array().cloned().unwrap_or_default() {
        let name = v["name"].as_str().unwrap_or_default().to_string();
        if v["emptyDir"]["medium"] == "Memory" {
            volumes.push((name, None));
        } else if v.get("emptyDir").is_some() {
            let dir = std::env::temp_dir().join(format!("{}-{name}", docker_name(&pod, "vol")));
            let _ = std::fs::create_dir_all(&dir);
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777));
            state
                .docker_names
                .lock()
                .unwrap()
                .push(("dir".into(), dir.display().to_string()));
            volumes.push((name, Some(dir.display().to_string())));
        } else if let Some(path) = v["hostPath"]["path"].as_str() {
            volumes.push((name, Some(path.to_string())));
        } else if let Some(sname) = v["secret"]["secretName"].as_str() {
            // The Secret's keys as files (its `items`, or every key), with their modes.
            let dir = std::env::temp_dir().join(format!("{}-{name}", docker_name(&pod, "vol")));
            let _ = std::fs::create_dir_all(&dir);
            state
                .docker_names
                .lock()
                .unwrap()
                .push(("dir".into(), dir.display().to_string()));
            let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default();
            let Some(secret) = state
                .secrets
                .lock()
                .unwrap()
                .get(&(ns.to_string(), sname.to_string()))
                .cloned()
            else {
                waiting(
                    state,
                    key,
                    &main_name,
                    "CreateContainerConfigError",
                    &format!("secret {sname:?} not found"),
                );
                return;
            };
            let default_mode = v["secret"]["defaultMode"].as_u64().unwrap_or(0o644) as u32;
            let items: Vec<(String, String, u32)> = match v["secret"]["items"].as_array() {
                Some(items) => items
                    .iter()
                    .map(|i| {
                        (
                            i["key"].as_str().unwrap_or_default().to_string(),
                            i["path"].as_str().unwrap_or_default().to_string(),
                            i["mode"].as_u64().map(|m| m as u32).unwrap_or(default_mode),
                        )
                    })
                    .collect(),
                None => secret["data"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, _)| (k.clone(), k.clone(), default_mode))
                    .collect(),
            };
            for (k, path, mode) in items {
                let data = secret["data"][&k]
                    .as_str()
                    .and_then(unbase64)
                    .unwrap_or_default();
                let file = dir.join(&path);
                let _ = std::fs::write(&file, data);
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode));
            }
            volumes.push((name, Some(dir.display().to_string())));
        }
    }
    let started = Instant::now();
    let deadline = spec["activeDeadlineSeconds"]
        .as_u64()
        .map(Duration::from_secs);
    let mut init_statuses = Vec::new();
    for c in &inits {
        let cname = c["name"].as_str().unwrap_or_default().to_string();
        let args = match run_args(state, &pod, c, &volumes, false) {
            Ok(a) => a,
            Err((reason, message)) => {
                waiting(state, key, &cname, reason, &message);
                return;
            }
        };
        let out = docker(&args);
        let code = out
            .as_ref()
            .ok()
            .and_then(|o| o.status.code())
            .unwrap_or(128);
        let logs = docker(&[
            "logs".into(),
            "--tail".into(),
            "80".into(),
            docker_name(&pod, &cname),
        ])
        .map(|o| {
            String::from_utf8_lossy(&o.stderr).into_owned() + &String::from_utf8_lossy(&o.stdout)
        })
        .unwrap_or_default();
        init_statuses.push(json!({
            "name": cname,
            "ready": code == 0,
            "restartCount": 0,
            "image": c["image"],
            "imageID": "",
            "containerID": format!("docker://{}", docker_name(&pod, &cname)),
            "state": {"terminated": {
                "exitCode": code,
                "reason": if code == 0 { "Completed" } else { "Error" },
                "message": tail_bytes(&logs, 2048),
                "startedAt": now(),
                "finishedAt": now(),
            }},
        }));
        let statuses = json!(init_statuses);
        state.update_pod(key, |p| p["status"]["initContainerStatuses"] = statuses);
        if code != 0 {
            fail_pod(state, key, "", "");
            return;
        }
    }
    let args = match run_args(state, &pod, &main, &volumes, true) {
        Ok(a) => a,
        Err((reason, message)) => {
            waiting(state, key, &main_name, reason, &message);
            return;
        }
    };
    if state
        .pod(key)
        .is_none_or(|p| p["metadata"]["deletionTimestamp"].is_string())
    {
        return;
    }
    let out = docker(&args);
    if !out.as_ref().is_ok_and(|o| o.status.success()) {
        let why = out
            .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_string())
            .unwrap_or_else(|e| e.to_string());
        waiting(state, key, &main_name, "CreateContainerError", &why);
        return;
    }
    let dname = docker_name(&pod, &main_name);
    let started_at = now();
    state.update_pod(key, |p| {
        p["status"]["phase"] = json!("Running");
        p["status"]["startTime"] = json!(started_at);
        p["status"]["conditions"] = json!([
            {"type": "Initialized", "status": "True"},
            {"type": "Ready", "status": "True"},
            {"type": "ContainersReady", "status": "True"},
            {"type": "PodScheduled", "status": "True"},
        ]);
        p["status"]["containerStatuses"] = json!([{
            "name": main_name,
            "ready": true,
            "started": true,
            "restartCount": 0,
            "image": main["image"],
            "imageID": "",
            "containerID": format!("docker://{dname}"),
            "state": {"running": {"startedAt": started_at}},
        }]);
    });
    // Its end: an exit, or the deadline.
    let code = loop {
        let running = docker(&[
            "inspect".into(),
            "-f".into(),
            "{{.State.Running}} {{.State.ExitCode}}".into(),
            dname.clone(),
        ]);
        let text = running
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        match text.split_once(' ') {
            Some(("false", code)) => break code.parse::<i64>().unwrap_or(128),
            Some(_) => {}
            // Removed (the pod was deleted).
            None => return,
        }
        if deadline.is_some_and(|d| started.elapsed() >= d) {
            let _ = docker(&["kill".into(), dname.clone()]);
            fail_pod(
                state,
                key,
                "DeadlineExceeded",
                "Pod was active on the node longer than the specified deadline",
            );
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    if state
        .pod(key)
        .is_none_or(|p| p["metadata"]["deletionTimestamp"].is_string())
    {
        return;
    }
    // FallbackToLogsOnError: a failed container's message is the end of its log.
    let message = if code != 0 && main["terminationMessagePolicy"] == "FallbackToLogsOnError" {
        docker(&["logs".into(), "--tail".into(), "80".into(), dname.clone()])
            .map(|o| {
                let mut t = String::from_utf8_lossy(&o.stdout).into_owned();
                t.push_str(&String::from_utf8_lossy(&o.stderr));
                tail_bytes(&t, 2048)
            })
            .unwrap_or_default()
    } else {
        String::new()
    };
    let finished = now();
    state.update_pod(key, |p| {
        p["status"]["phase"] = json!(if code == 0 { "Succeeded" } else { "Failed" });
        p["status"]["conditions"][1]["status"] = json!("False");
        p["status"]["containerStatuses"][0]["ready"] = json!(false);
        p["status"]["containerStatuses"][0]["started"] = json!(false);
        let mut terminated = json!({
            "exitCode": code,
            "reason": if code == 0 { "Completed" } else { "Error" },
            "startedAt": p["status"]["startTime"],
            "finishedAt": finished,
            "containerID": format!("docker://{dname}"),
        });
        if !message.is_empty() {
            terminated["message"] = json!(message);
        }
        p["status"]["containerStatuses"][0]["state"] = json!({"terminated": terminated});
    });
}

/// The last `n` bytes of `text`, cut at a character boundary.
fn tail_bytes(text: &str, n: usize) -> String {
    let mut start = text.len().saturating_sub(n);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text[start..].to_string()
}

/// `docker run` for one container of the pod: detached for the main one, to completion (and
/// then kept for its log) for an init container.
fn run_args(
    state: &State,
    pod: &Value,
    c: &Value,
    volumes: &[(String, Option<String>)],
    detached: bool,
) -> Result<Vec<String>, (&'static str, String)> {
    let cname = c["name"].as_str().unwrap_or_default();
    let name = docker_name(pod, cname);
    state
        .docker_names
        .lock()
        .unwrap()
        .push(("container".into(), name.clone()));
    let mut a: Vec<String> = vec!["run".into()];
    if detached {
        a.push("-d".into());
    }
    a.extend(["--name".into(), name, "--network".into(), "host".into()]);
    a.extend(["--init".into()]);
    let labels = pod["metadata"]["labels"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for (k, v) in labels {
        a.extend([
            "--label".into(),
            format!("{k}={}", v.as_str().unwrap_or_default()),
        ]);
    }
    let sc = &c["securityContext"];
    let psc = &pod["spec"]["securityContext"];
    let user = sc["runAsUser"].as_i64().or(psc["runAsUser"].as_i64());
    let group = sc["runAsGroup"].as_i64().or(psc["runAsGroup"].as_i64());
    if let Some(u) = user {
        a.extend([
            "--user".into(),
            match group {
                Some(g) => format!("{u}:{g}"),
                None => u.to_string(),
            },
        ]);
    }
    if let Some(g) = psc["fsGroup"].as_i64() {
        a.extend(["--group-add".into(), g.to_string()]);
    }
    if sc["allowPrivilegeEscalation"] == false {
        a.extend(["--security-opt".into(), "no-new-privileges".into()]);
    }
    for cap in sc["capabilities"]["drop"].as_array().into_iter().flatten() {
        a.extend([
            "--cap-drop".into(),
            cap.as_str().unwrap_or_default().to_string(),
        ]);
    }
    if let Some(m) = c["resources"]["limits"]["memory"].as_str() {
        a.extend(["--memory".into(), quantity_bytes(m).to_string()]);
    }
    if let Some(wd) = c["workingDir"].as_str() {
        a.extend(["-w".into(), wd.to_string()]);
    }
    for e in c["env"].as_array().into_iter().flatten() {
        let n = e["name"].as_str().unwrap_or_default();
        let v = if let Some(v) = e["value"].as_str() {
            v.to_string()
        } else if let Some(r) = e["valueFrom"]["secretKeyRef"].as_object() {
            let sname = r["name"].as_str().unwrap_or_default();
            let skey = r["key"].as_str().unwrap_or_default();
            let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default();
            let data = state
                .secrets
                .lock()
                .unwrap()
                .get(&(ns.to_string(), sname.to_string()))
                .map(|s| s["data"][skey].clone());
            match data.and_then(|d| d.as_str().and_then(unbase64)) {
                Some(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                None => {
                    return Err((
                        "CreateContainerConfigError",
                        format!("secret {sname:?} not found or has no key {skey:?}"),
                    ));
                }
            }
        } else if let Some(f) = e["valueFrom"]["fieldRef"]["fieldPath"].as_str() {
            match f {
                "metadata.name" => pod["metadata"]["name"].as_str().unwrap_or_default().into(),
                "metadata.namespace" => pod["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or_default()
                    .into(),
                _ => String::new(),
            }
        } else {
            String::new()
        };
        a.extend(["-e".into(), format!("{n}={v}")]);
    }
    for m in c["volumeMounts"].as_array().into_iter().flatten() {
        let vname = m["name"].as_str().unwrap_or_default();
        let path = m["mountPath"].as_str().unwrap_or_default();
        let ro = if m["readOnly"] == true { ":ro" } else { "" };
        let sub = m["subPath"]
            .as_str()
            .map(|s| format!("/{s}"))
            .unwrap_or_default();
        match volumes.iter().find(|(n, _)| n == vname) {
            Some((_, Some(dir))) => a.extend(["-v".into(), format!("{dir}{sub}:{path}{ro}")]),
            Some((_, None)) => a.extend(["--tmpfs".into(), format!("{path}:mode=1777")]),
            None => {
                return Err((
                    "CreateContainerConfigError",
                    format!("volume {vname:?} is not in the pod's volumes"),
                ));
            }
        }
    }
    let command: Vec<String> = c["command"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    let args: Vec<String> = c["args"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    if let Some((first, rest)) = command.split_first() {
        a.extend(["--entrypoint".into(), first.clone()]);
        a.push(c["image"].as_str().unwrap_or_default().to_string());
        a.extend(rest.iter().cloned());
    } else {
        a.push(c["image"].as_str().unwrap_or_default().to_string());
    }
    a.extend(args);
    Ok(a)
}

/// A Kubernetes quantity (`512Mi`, `4G`, `1000000`) in bytes.
fn quantity_bytes(q: &str) -> u64 {
    let units = [
        ("Ki", 1u64 << 10),
        ("Mi", 1 << 20),
        ("Gi", 1 << 30),
        ("Ti", 1 << 40),
        ("k", 1_000),
        ("M", 1_000_000),
        ("G", 1_000_000_000),
        ("T", 1_000_000_000_000),
    ];
    for (u, m) in units {
        if let Some(n) = q.strip_suffix(u) {
            return n.parse::<u64>().unwrap_or(0) * m;
        }
    }
    q.parse().unwrap_or(0)
}

/// Deletes a pod: stops its container within the grace period, then forgets it.
pub(super) fn delete(state: Arc<State>, key: Key, grace: u64) {
    std::thread::spawn(move || {
        if let Some(pod) = state.pod(&key) {
            let all = pod["spec"]["containers"]
                .as_array()
                .into_iter()
                .chain(pod["spec"]["initContainers"].as_array())
                .flatten()
                .filter_map(|c| c["name"].as_str())
                .map(|c| docker_name(&pod, c))
                .collect::<Vec<_>>();
            for name in &all {
                let _ = docker(&["stop".into(), "-t".into(), grace.to_string(), name.clone()]);
                let _ = docker(&["rm".into(), "-f".into(), name.clone()]);
            }
        }
        state.pods.lock().unwrap().remove(&key);
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn quantities() {
        assert_eq!(super::quantity_bytes("512Mi"), 512 << 20);
        assert_eq!(super::quantity_bytes("4G"), 4_000_000_000);
        assert_eq!(super::quantity_bytes("1000"), 1000);
    }
}
