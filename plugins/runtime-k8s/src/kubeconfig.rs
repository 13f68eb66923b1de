//! Where the cluster is and who `ao` is to it: a kubeconfig context (the file `kubectl` reads:
//! `$KUBECONFIG`'s first file, else `~/.kube/config`), or the pod's own service account when
//! `ao` runs inside the cluster. Credentials stay where they are: a token file is read when a
//! call needs it, an `exec` credential plugin runs when its token has expired, and nothing is
//! copied into `ao`'s config or files.

use ao_plugin_api::sdk::SdkError;
use base64::Engine;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The service account's files inside a pod.
const SA_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// A cluster and a way in.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// `https://host:6443` (or `http://` for a local simulator).
    pub server: String,
    /// The CA bundle that signs the server's certificate (PEM), when not a public one.
    pub ca_pem: Option<Vec<u8>>,
    /// `insecure-skip-tls-verify`.
    pub insecure: bool,
    /// How requests are authenticated.
    pub auth: Auth,
    /// The context's namespace (`default` when it names none).
    pub namespace: String,
    /// The context's name, for messages and `kubectl --context`.
    pub context: Option<String>,
}

/// How `ao` proves who it is.
#[derive(Debug, Clone, PartialEq)]
pub enum Auth {
    /// No credentials (an API server behind a local proxy).
    None,
    /// A bearer token given inline.
    Token(String),
    /// A bearer token read from a file at each use (service-account tokens rotate).
    TokenFile(PathBuf),
    /// A client certificate and its key (PEM).
    ClientCert { cert_pem: Vec<u8>, key_pem: Vec<u8> },
    /// An exec credential plugin (`aws eks get-token`, `gke-gcloud-auth-plugin`): an argv whose
    /// stdout is an `ExecCredential` with `status.token`.
    Exec {
        command: String,
        args: Vec<String>,
        env: Vec<(String, String)>,
    },
}

#[derive(Debug, Deserialize)]
struct File {
    #[serde(default)]
    clusters: Vec<Named<Cluster>>,
    #[serde(default)]
    users: Vec<Named<User>>,
    #[serde(default)]
    contexts: Vec<Named<Context>>,
    #[serde(default, rename = "current-context")]
    current_context: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Named<T> {
    name: String,
    #[serde(alias = "cluster", alias = "user", alias = "context")]
    value: T,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Cluster {
    server: String,
    #[serde(default)]
    certificate_authority: Option<String>,
    #[serde(default)]
    certificate_authority_data: Option<String>,
    #[serde(default)]
    insecure_skip_tls_verify: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct User {
    #[serde(default)]
    token: Option<String>,
    #[serde(default, rename = "tokenFile")]
    token_file: Option<String>,
    #[serde(default)]
    client_certificate: Option<String>,
    #[serde(default)]
    client_certificate_data: Option<String>,
    #[serde(default)]
    client_key: Option<String>,
    #[serde(default)]
    client_key_data: Option<String>,
    #[serde(default)]
    exec: Option<ExecConfig>,
    #[serde(default)]
    auth_provider: Option<serde_json::Value>,
    #[serde(default)]
    username: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ExecConfig {
    command: String,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: Option<Vec<EnvVar>>,
}

#[derive(Debug, Deserialize)]
struct EnvVar {
    name: String,
    value: String,
}

#[derive(Debug, Deserialize)]
struct Context {
    cluster: String,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
}

/// The kubeconfig file `kubectl` would read: `$KUBECONFIG`'s first entry, else
/// `~/.kube/config`.
pub fn default_path() -> Option<PathBuf> {
    if let Some(k) = std::env::var_os("KUBECONFIG").filter(|k| !k.is_empty()) {
        return std::env::split_paths(&k).next();
    }
    std::env::var_os("HOME").map(|h| Path::new(&h).join(".kube/config"))
}

/// The target of `context` (default: the file's current context) in the kubeconfig at `path`.
pub fn load(path: &Path, context: Option<&str>) -> Result<Target, SdkError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        SdkError::InvalidConfig(format!(
            "cannot read the kubeconfig {}: {e} (runtimeConfig.kubeconfig)",
            path.display()
        ))
    })?;
    parse(&text, path.parent().unwrap_or(Path::new(".")), context)
        .map_err(|why| SdkError::InvalidConfig(format!("kubeconfig {}: {why}", path.display())))
}

/// [`load`] from the file's text; relative paths in it resolve against `dir`.
pub fn parse(text: &str, dir: &Path, context: Option<&str>) -> Result<Target, String> {
    let file: File = serde_yaml_ng::from_str(text).map_err(|e| format!("not a kubeconfig: {e}"))?;
    let name = context
        .map(str::to_owned)
        .or(file.current_context.clone())
        .filter(|c| !c.is_empty())
        .ok_or("it names no current-context; set runtimeConfig.context")?;
    let ctx = file
        .contexts
        .iter()
        .find(|c| c.name == name)
        .map(|c| &c.value)
        .ok_or_else(|| {
            let known: Vec<&str> = file.contexts.iter().map(|c| c.name.as_str()).collect();
            format!("no context `{name}` (it has: {})", known.join(", "))
        })?;
    let cluster = file
        .clusters
        .iter()
        .find(|c| c.name == ctx.cluster)
        .map(|c| &c.value)
        .ok_or_else(|| {
            format!(
                "context `{name}` names cluster `{}`, which is not in the file",
                ctx.cluster
            )
        })?;
    let default_user = User::default();
    let user = match &ctx.user {
        Some(u) => file
            .users
            .iter()
            .find(|x| &x.name == u)
            .map(|x| &x.value)
            .ok_or_else(|| {
                format!("context `{name}` names user `{u}`, which is not in the file")
            })?,
        None => &default_user,
    };
    let read = |p: &str| -> Result<Vec<u8>, String> {
        let full = dir.join(p);
        std::fs::read(&full).map_err(|e| format!("cannot read {}: {e}", full.display()))
    };
    let decode = |d: &str, what: &str| -> Result<Vec<u8>, String> {
        base64::engine::general_purpose::STANDARD
            .decode(d.trim())
            .map_err(|e| format!("{what} is not base64: {e}"))
    };
    let ca_pem = match (
        &cluster.certificate_authority_data,
        &cluster.certificate_authority,
    ) {
        (Some(d), _) => Some(decode(d, "certificate-authority-data")?),
        (None, Some(p)) => Some(read(p)?),
        (None, None) => None,
    };
    let cert = match (&user.client_certificate_data, &user.client_certificate) {
        (Some(d), _) => Some(decode(d, "client-certificate-data")?),
        (None, Some(p)) => Some(read(p)?),
        (None, None) => None,
    };
    let key = match (&user.client_key_data, &user.client_key) {
        (Some(d), _) => Some(decode(d, "client-key-data")?),
        (None, Some(p)) => Some(read(p)?),
        (None, None) => None,
    };
    let auth = if let Some(t) = user.token.as_ref().filter(|t| !t.is_empty()) {
        Auth::Token(t.clone())
    } else if let Some(f) = &user.token_file {
        Auth::TokenFile(dir.join(f))
    } else if let (Some(cert_pem), Some(key_pem)) = (cert, key) {
        Auth::ClientCert { cert_pem, key_pem }
    } else if let Some(e) = &user.exec {
        Auth::Exec {
            command: e.command.clone(),
            args: e.args.clone(),
            env: e
                .env
                .iter()
                .flatten()
                .map(|v| (v.name.clone(), v.value.clone()))
                .collect(),
        }
    } else if user.auth_provider.is_some() {
        return Err(format!(
            "user of context `{name}` uses an auth-provider, which kubectl itself dropped: use an exec credential plugin"
        ));
    } else if user.username.is_some() {
        return Err(format!(
            "user of context `{name}` uses a username and password, which Kubernetes no longer accepts"
        ));
    } else {
        Auth::None
    };
    Ok(Target {
        server: cluster.server.trim_end_matches('/').to_string(),
        ca_pem,
        insecure: cluster.insecure_skip_tls_verify,
        auth,
        namespace: ctx.namespace.clone().unwrap_or_else(|| "default".into()),
        context: Some(name),
    })
}

/// The pod's own service account, when `ao` runs in the cluster.
pub fn in_cluster() -> Result<Target, SdkError> {
    let host = std::env::var("KUBERNETES_SERVICE_HOST").ok();
    let port = std::env::var("KUBERNETES_SERVICE_PORT").ok();
    let (Some(host), Some(port)) = (host, port) else {
        return Err(SdkError::InvalidConfig(
            "runtimeConfig.inCluster is set, but KUBERNETES_SERVICE_HOST/PORT are not: ao is not running in a pod".into(),
        ));
    };
    let dir = Path::new(SA_DIR);
    let ca_pem = std::fs::read(dir.join("ca.crt")).ok();
    let namespace = std::fs::read_to_string(dir.join("namespace"))
        .map(|n| n.trim().to_string())
        .unwrap_or_else(|_| "default".into());
    // IPv6 addresses need brackets in a URL.
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host
    };
    Ok(Target {
        server: format!("https://{host}:{port}"),
        ca_pem,
        insecure: false,
        auth: Auth::TokenFile(dir.join("token")),
        namespace,
        context: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: c1
  cluster:
    server: https://10.0.0.1:6443/
    certificate-authority-data: LS0tLS1CRUdJTi0tLS0t
- name: c2
  cluster:
    server: http://127.0.0.1:8080
    certificate-authority: ca.pem
contexts:
- name: dev
  context: {cluster: c1, user: tok, namespace: agents}
- name: certs
  context: {cluster: c2, user: cert}
- name: eks
  context: {cluster: c1, user: eks}
- name: old
  context: {cluster: c1, user: gcp}
- name: ghost
  context: {cluster: nope, user: tok}
users:
- name: tok
  user: {token: abc123}
- name: cert
  user:
    client-certificate: client.pem
    client-key-data: a2V5
- name: eks
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: aws
      args: [eks, get-token, --cluster-name, prod]
      env: [{name: AWS_PROFILE, value: ops}]
- name: gcp
  user:
    auth-provider: {name: gcp}
"#;

    #[test]
    fn contexts_resolve_to_a_server_and_a_way_in() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), "CA").unwrap();
        std::fs::write(dir.path().join("client.pem"), "CERT").unwrap();
        let t = parse(FILE, dir.path(), None).unwrap();
        assert_eq!(t.server, "https://10.0.0.1:6443");
        assert_eq!(t.ca_pem.as_deref(), Some(&b"-----BEGIN-----"[..]));
        assert_eq!(t.auth, Auth::Token("abc123".into()));
        assert_eq!(
            (t.namespace.as_str(), t.context.as_deref()),
            ("agents", Some("dev"))
        );

        let t = parse(FILE, dir.path(), Some("certs")).unwrap();
        assert_eq!(t.ca_pem.as_deref(), Some(&b"CA"[..]));
        assert_eq!(
            t.auth,
            Auth::ClientCert {
                cert_pem: b"CERT".to_vec(),
                key_pem: b"key".to_vec()
            }
        );
        assert_eq!(t.namespace, "default");

        let t = parse(FILE, dir.path(), Some("eks")).unwrap();
        assert_eq!(
            t.auth,
            Auth::Exec {
                command: "aws".into(),
                args: ["eks", "get-token", "--cluster-name", "prod"]
                    .map(String::from)
                    .to_vec(),
                env: vec![("AWS_PROFILE".into(), "ops".into())],
            }
        );
        for (ctx, says) in [
            ("old", "auth-provider"),
            ("ghost", "cluster `nope`"),
            (
                "missing",
                "no context `missing` (it has: dev, certs, eks, old, ghost)",
            ),
        ] {
            let e = parse(FILE, dir.path(), Some(ctx)).unwrap_err();
            assert!(e.contains(says), "{ctx}: {e}");
        }
        assert!(
            parse("current-context: ''\n", dir.path(), None)
                .unwrap_err()
                .contains("current-context")
        );
    }
}
