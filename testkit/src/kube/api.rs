//! The simulator's REST paths.

use super::{State, kubelet, now, selector, status};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State as S};
use axum::http::{StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

type Shared = Arc<State>;

pub(super) fn router(state: Shared) -> Router {
    Router::new()
        .route("/version", get(version))
        .route(
            "/api/v1/namespaces/{ns}/pods",
            get(list_pods).post(create_pod),
        )
        .route(
            "/api/v1/namespaces/{ns}/pods/{name}",
            get(get_pod).delete(delete_pod),
        )
        .route("/api/v1/namespaces/{ns}/pods/{name}/log", get(pod_log))
        .route(
            "/api/v1/namespaces/{ns}/pods/{name}/exec",
            get(super::exec::exec),
        )
        .route(
            "/api/v1/namespaces/{ns}/secrets",
            axum::routing::post(create_secret),
        )
        .route(
            "/api/v1/namespaces/{ns}/secrets/{name}",
            get(get_secret).delete(delete_secret),
        )
        .fallback(|| async {
            reply(
                404,
                status(
                    404,
                    "NotFound",
                    "the server could not find the requested resource",
                ),
            )
        })
        .layer(middleware::from_fn_with_state(state.clone(), auth))
        .with_state(state)
}

/// A request's query as pairs, repeated keys kept (`command=sh&command=-c`).
pub(super) fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

fn query_map(uri: &Uri) -> HashMap<String, String> {
    query_pairs(uri).into_iter().collect()
}

pub(super) fn reply(code: u16, body: Value) -> Response {
    let code = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (code, axum::Json(body)).into_response()
}

async fn auth(S(state): S<Shared>, req: Request, next: Next) -> Response {
    let ok = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| t == state.token);
    if !ok {
        return reply(401, status(401, "Unauthorized", "Unauthorized"));
    }
    next.run(req).await
}

async fn version() -> Response {
    let (major, minor) = super::VERSION;
    reply(
        200,
        json!({
            "major": major,
            "minor": minor,
            "gitVersion": format!("v{major}.{minor}.0"),
            "platform": "linux/amd64",
        }),
    )
}

fn body_json(body: &Bytes) -> Result<Value, Box<Response>> {
    serde_json::from_slice(body).map_err(|e| {
        Box::new(reply(
            400,
            status(400, "BadRequest", &format!("the body is not JSON: {e}")),
        ))
    })
}

fn invalid(kind: &str, name: &str, why: &str) -> Response {
    let mut s = status(
        422,
        "Invalid",
        &format!("{kind} {name:?} is invalid: {why}"),
    );
    s["details"] = json!({"name": name, "kind": kind});
    reply(422, s)
}

fn not_found(kind: &str, name: &str) -> Response {
    let mut s = status(404, "NotFound", &format!("{kind} {name:?} not found"));
    s["details"] = json!({"name": name, "kind": kind});
    reply(404, s)
}

/// DNS-1123 subdomain (object names).
pub(super) fn dns_subdomain(n: &str) -> bool {
    !n.is_empty() && n.len() <= 253 && n.split('.').all(dns_label)
}

/// DNS-1123 label (container names, each part of a subdomain).
pub(super) fn dns_label(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 63
        && n.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !n.starts_with('-')
        && !n.ends_with('-')
}

fn labels_of(v: &Value) -> BTreeMap<String, String> {
    v["metadata"]["labels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// What the API server checks of a pod before storing it (the part the runtime can get wrong).
fn check_pod(pod: &Value, ns: &str) -> Result<String, Box<Response>> {
    let name = pod["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if pod["kind"] != "Pod" || pod["apiVersion"] != "v1" {
        return Err(Box::new(reply(
            400,
            status(400, "BadRequest", "the body is not a v1 Pod"),
        )));
    }
    if !dns_subdomain(&name) {
        return Err(Box::new(invalid(
            "Pod",
            &name,
            "metadata.name: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'",
        )));
    }
    if let Some(n) = pod["metadata"]["namespace"].as_str()
        && n != ns
    {
        return Err(Box::new(reply(
            400,
            status(
                400,
                "BadRequest",
                "the namespace of the provided object does not match the namespace sent on the request",
            ),
        )));
    }
    for (k, v) in labels_of(pod) {
        if selector::key(&k).is_none() || selector::value(&v).is_none() {
            return Err(Box::new(invalid(
                "Pod",
                &name,
                &format!("metadata.labels: invalid label {k}={v}"),
            )));
        }
    }
    let containers = pod["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if containers.is_empty() {
        return Err(Box::new(invalid(
            "Pod",
            &name,
            "spec.containers: Required value",
        )));
    }
    let inits = pod["spec"]["initContainers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for c in containers.iter().chain(inits.iter()) {
        let cname = c["name"].as_str().unwrap_or_default();
        if !dns_label(cname) {
            return Err(Box::new(invalid(
                "Pod",
                &name,
                &format!("container name {cname:?} is not a DNS-1123 label"),
            )));
        }
        if c["image"].as_str().is_none_or(str::is_empty) {
            return Err(Box::new(invalid(
                "Pod",
                &name,
                &format!("spec.containers[{cname}].image: Required value"),
            )));
        }
    }
    match pod["spec"]["restartPolicy"].as_str() {
        None | Some("Always" | "OnFailure" | "Never") => {}
        Some(p) => {
            return Err(Box::new(invalid(
                "Pod",
                &name,
                &format!("spec.restartPolicy: Unsupported value: {p:?}"),
            )));
        }
    }
    Ok(name)
}

async fn create_pod(S(state): S<Shared>, Path(ns): Path<String>, body: Bytes) -> Response {
    let mut pod = match body_json(&body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    state
        .bodies
        .lock()
        .unwrap()
        .push((format!("/api/v1/namespaces/{ns}/pods"), pod.clone()));
    let name = match check_pod(&pod, &ns) {
        Ok(n) => n,
        Err(r) => return *r,
    };
    let key = (ns.clone(), name.clone());
    {
        let mut pods = state.pods.lock().unwrap();
        if pods.contains_key(&key) {
            let mut s = status(
                409,
                "AlreadyExists",
                &format!("pods {name:?} already exists"),
            );
            s["details"] = json!({"name": name, "kind": "pods"});
            return reply(409, s);
        }
        let uid = format!("{:032x}", rand_u128());
        let meta = &mut pod["metadata"];
        meta["namespace"] = json!(ns);
        meta["uid"] = json!(uid);
        meta["creationTimestamp"] = json!(now());
        meta["resourceVersion"] = json!(state.next_rv());
        pod["status"] = json!({"phase": "Pending", "qosClass": "Burstable"});
        pods.insert(key.clone(), pod.clone());
    }
    kubelet::start(state.clone(), key);
    reply(201, pod)
}

fn rand_u128() -> u128 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    let a = h.finish() as u128;
    let mut h2 = std::collections::hash_map::RandomState::new().build_hasher();
    h2.write_u128(a);
    (a << 64) | h2.finish() as u128
}

async fn list_pods(S(state): S<Shared>, Path(ns): Path<String>, uri: Uri) -> Response {
    let q = query_map(&uri);
    let sel =
        match selector::Selector::parse(q.get("labelSelector").map(String::as_str).unwrap_or("")) {
            Ok(s) => s,
            Err(e) => return reply(400, status(400, "BadRequest", &e)),
        };
    let items: Vec<Value> = state
        .pods
        .lock()
        .unwrap()
        .iter()
        .filter(|((n, _), p)| *n == ns && sel.matches(&labels_of(p)))
        .map(|(_, p)| {
            let mut p = p.clone();
            p["kind"] = Value::Null;
            p["apiVersion"] = Value::Null;
            if let Some(o) = p.as_object_mut() {
                o.remove("kind");
                o.remove("apiVersion");
            }
            p
        })
        .collect();
    reply(
        200,
        json!({
            "kind": "PodList",
            "apiVersion": "v1",
            "metadata": {"resourceVersion": state.current_rv()},
            "items": items,
        }),
    )
}

async fn get_pod(S(state): S<Shared>, Path((ns, name)): Path<(String, String)>) -> Response {
    match state.pod(&(ns, name.clone())) {
        Some(p) => reply(200, p),
        None => not_found("pods", &name),
    }
}

async fn delete_pod(
    S(state): S<Shared>,
    Path((ns, name)): Path<(String, String)>,
    uri: Uri,
    body: Bytes,
) -> Response {
    let q = query_map(&uri);
    let key = (ns, name.clone());
    let Some(_) = state.pod(&key) else {
        return not_found("pods", &name);
    };
    // The grace period from the query or a DeleteOptions body; 30 s by default, as the API.
    let from_body = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|b| b["gracePeriodSeconds"].as_u64());
    let grace = q
        .get("gracePeriodSeconds")
        .and_then(|g| g.parse().ok())
        .or(from_body)
        .unwrap_or(30);
    state.update_pod(&key, |p| {
        p["metadata"]["deletionTimestamp"] = json!(now());
        p["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
    });
    let pod = state.pod(&key).unwrap_or(Value::Null);
    kubelet::delete(state.clone(), key, grace);
    reply(200, pod)
}

async fn pod_log(
    S(state): S<Shared>,
    Path((ns, name)): Path<(String, String)>,
    uri: Uri,
) -> Response {
    let q = query_map(&uri);
    let key = (ns, name.clone());
    let Some(pod) = state.pod(&key) else {
        return not_found("pods", &name);
    };
    let container = match q.get("container") {
        Some(c) => c.clone(),
        None => pod["spec"]["containers"][0]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    };
    let Some(id) = kubelet::container_name(&pod, &container) else {
        return reply(
            400,
            status(
                400,
                "BadRequest",
                &format!("container {container:?} in pod {name:?} is waiting to start"),
            ),
        );
    };
    let tail = q.get("tailLines").cloned();
    let text = tokio::task::spawn_blocking(move || {
        let mut args = vec!["logs".to_string()];
        if let Some(t) = tail {
            args.extend(["--tail".into(), t]);
        }
        args.push(id);
        std::process::Command::new("docker")
            .args(&args)
            .output()
            .map(|o| {
                let mut t = String::from_utf8_lossy(&o.stdout).into_owned();
                t.push_str(&String::from_utf8_lossy(&o.stderr));
                t
            })
            .unwrap_or_default()
    })
    .await
    .unwrap_or_default();
    (StatusCode::OK, [("content-type", "text/plain")], text).into_response()
}

async fn create_secret(S(state): S<Shared>, Path(ns): Path<String>, body: Bytes) -> Response {
    let mut secret = match body_json(&body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    // Recorded without its data: tests validate shapes, never keep credentials.
    let mut shown = secret.clone();
    for k in ["data", "stringData"] {
        if let Some(m) = shown[k].as_object_mut() {
            for v in m.values_mut() {
                *v = json!("");
            }
        }
    }
    state
        .bodies
        .lock()
        .unwrap()
        .push((format!("/api/v1/namespaces/{ns}/secrets"), shown));
    let name = secret["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if secret["kind"] != "Secret" || !dns_subdomain(&name) {
        return invalid("Secret", &name, "metadata.name or kind");
    }
    let key = (ns.clone(), name.clone());
    let mut secrets = state.secrets.lock().unwrap();
    if secrets.contains_key(&key) {
        return reply(
            409,
            status(
                409,
                "AlreadyExists",
                &format!("secrets {name:?} already exists"),
            ),
        );
    }
    // stringData is folded into data (base64), as the API server does.
    if let Some(sd) = secret["stringData"].as_object().cloned() {
        for (k, v) in sd {
            let b64 = base64(v.as_str().unwrap_or_default().as_bytes());
            secret["data"][k] = json!(b64);
        }
        if let Some(o) = secret.as_object_mut() {
            o.remove("stringData");
        }
    }
    secret["metadata"]["namespace"] = json!(ns);
    secret["metadata"]["resourceVersion"] = json!(state.next_rv());
    secret["metadata"]["creationTimestamp"] = json!(now());
    secrets.insert(key, secret.clone());
    reply(201, secret)
}

async fn get_secret(S(state): S<Shared>, Path((ns, name)): Path<(String, String)>) -> Response {
    match state.secrets.lock().unwrap().get(&(ns, name.clone())) {
        Some(s) => reply(200, s.clone()),
        None => not_found("secrets", &name),
    }
}

async fn delete_secret(S(state): S<Shared>, Path((ns, name)): Path<(String, String)>) -> Response {
    match state.secrets.lock().unwrap().remove(&(ns, name.clone())) {
        Some(s) => reply(200, s),
        None => not_found("secrets", &name),
    }
}

/// Standard base64 with padding (Secret data).
pub(super) fn base64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Decodes standard base64 (Secret data); `None` when it is not.
pub(super) fn unbase64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_round_trips() {
        for s in ["", "a", "ab", "abc", "ghp_token-1234"] {
            let e = super::base64(s.as_bytes());
            assert_eq!(super::unbase64(&e).unwrap(), s.as_bytes(), "{e}");
        }
        assert_eq!(super::base64(b"ab"), "YWI=");
        assert!(super::dns_subdomain("abc123-app-1"));
        assert!(!super::dns_subdomain("ABC"));
        assert!(!super::dns_label("a_b"));
    }
}
