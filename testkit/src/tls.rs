//! TLS in front of a plain server (the Kubernetes simulator, the Docker engine over TCP): a
//! certificate for 127.0.0.1 signed by a CA of its own (made by the `openssl` CLI), terminated
//! by rustls, each connection piped to the plain server. With client authentication, as
//! `dockerd --tlsverify` does, only clients holding a certificate of the same CA get through.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A running TLS front; stops with its thread's runtime when dropped.
pub struct Front {
    /// `https://127.0.0.1:<port>`.
    pub url: String,
    /// The CA that signed the server's (and the client's) certificate, PEM.
    pub ca_pem: Vec<u8>,
    client: Option<PathBuf>,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

fn openssl(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl CLI");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A new P-256 key, unencrypted.
const EC: [&str; 5] = [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
];

/// A certificate signed by the CA in `d` (`ca.pem`, `ca.key`), as `<name>.pem` and `<name>.key`.
fn sign(d: &Path, name: &str, cn: &str, ext: &str) {
    let (key, csr, pem, cnf) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.pem"),
        format!("{name}.cnf"),
    );
    let subj = format!("/CN={cn}");
    let mut req = vec!["req"];
    req.extend(EC);
    req.extend(["-keyout", &key, "-out", &csr, "-subj", &subj]);
    openssl(d, &req);
    std::fs::write(d.join(&cnf), ext).expect("write the extensions");
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &pem,
            "-days",
            "2",
            "-extfile",
            &cnf,
        ],
    );
}

impl Front {
    /// A front for `127.0.0.1:<backend_port>`; with `client_auth`, clients must present a
    /// certificate of its CA ([`Front::client_dir`] holds one).
    pub fn start(backend_port: u16, client_auth: bool) -> Self {
        let dir = tempfile::tempdir().expect("a temp dir");
        let d = dir.path();
        let mut ca = vec!["req", "-x509"];
        ca.extend(EC);
        ca.extend([
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=ao-test-ca",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(d, &ca);
        sign(
            d,
            "server",
            "127.0.0.1",
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
        );
        // Docker's layout for a client (`DOCKER_CERT_PATH`): ca.pem, cert.pem, key.pem.
        let client = client_auth.then(|| {
            sign(
                d,
                "client",
                "ao-test-client",
                "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n",
            );
            let c = d.join("client");
            std::fs::create_dir_all(&c).expect("the client dir");
            for (from, to) in [("ca.pem", "ca.pem"), ("client.pem", "cert.pem"), ("client.key", "key.pem")] {
                std::fs::copy(d.join(from), c.join(to)).expect("the client's files");
            }
            c
        });
        let ca_pem = std::fs::read(d.join("ca.pem")).expect("ca.pem");
        use rustls::pki_types::pem::PemObject;
        let certs = rustls::pki_types::CertificateDer::pem_file_iter(d.join("server.pem"))
            .expect("server.pem")
            .collect::<Result<Vec<_>, _>>()
            .expect("server.pem");
        let key = rustls::pki_types::PrivateKeyDer::from_pem_file(d.join("server.key"))
            .expect("server.key");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("TLS versions");
        let builder = if client_auth {
            let mut roots = rustls::RootCertStore::empty();
            for ca in
                rustls::pki_types::CertificateDer::pem_file_iter(d.join("ca.pem")).expect("ca.pem")
            {
                roots.add(ca.expect("ca.pem")).expect("the CA");
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .expect("a client verifier");
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let config = builder
            .with_single_cert(certs, key)
            .expect("the server certificate");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!("https://{}", listener.local_addr().expect("address"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("tls-front".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("tokio runtime");
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                    let serve = async {
                        loop {
                            let Ok((tcp, _)) = listener.accept().await else {
                                continue;
                            };
                            let acceptor = acceptor.clone();
                            tokio::spawn(async move {
                                let Ok(mut tls) = acceptor.accept(tcp).await else {
                                    return;
                                };
                                let Ok(mut plain) =
                                    tokio::net::TcpStream::connect(("127.0.0.1", backend_port))
                                        .await
                                else {
                                    return;
                                };
                                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                            });
                        }
                    };
                    tokio::select! {
                        _ = serve => {}
                        _ = stopped => {}
                    }
                });
            })
            .expect("the TLS thread");
        Self {
            url,
            ca_pem,
            client,
            _dir: dir,
            stop: Some(stop),
        }
    }

    /// With client authentication: a directory with `ca.pem`, `cert.pem` and `key.pem`, a
    /// client's as Docker lays them out.
    pub fn client_dir(&self) -> Option<&Path> {
        self.client.as_deref()
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}
