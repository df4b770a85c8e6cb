//! Certificates by ACME against Debian's `pebble`, a real ACME server started by the
//! test, which validates each order by TLS-ALPN-01 against the agedrop under test
//! (names resolved by `pebble-challtestsrv`'s DNS to 127.0.0.1): the first certificate
//! is issued and served, renewals replace it without a restart, a restart serves the
//! cached one, the state folder is agedrop's alone; and the port-80 listener only
//! redirects.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::util::*;

/// The name the certificate is for; the test's DNS answers 127.0.0.1 for every name.
const DOMAIN: &str = "agedrop.test";
/// Pebble's certificates live this many seconds; rustls-acme renews a third before
/// the end, so a renewal comes about 10 s after each issue.
const VALIDITY_SECONDS: u32 = 15;

/// pebble and its DNS, stopped when dropped.
struct Pebble {
    directory: String,
    management: u16,
    children: Vec<Child>,
}

impl Drop for Pebble {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Pebble {
    /// Starts pebble to validate on `tls_port`, or `None` where it is not installed and
    /// this is not CI (`AGEDROP_CI=1`: a missing pebble fails the test).
    fn start(dir: &Path, tls_port: u16) -> Option<Pebble> {
        if Command::new("pebble").arg("-h").output().is_err() {
            assert!(
                std::env::var("AGEDROP_CI").is_err(),
                "pebble is missing: .ci/run installs Debian's pebble package"
            );
            eprintln!("SKIPPED: no pebble (apt-get install pebble)");
            return None;
        }
        let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
        let (listen, management, dns) = (closed_port(), closed_port(), closed_port());
        let config = dir.join("pebble.json");
        std::fs::write(
            &config,
            serde_json::json!({ "pebble": {
                "listenAddress": format!("127.0.0.1:{listen}"),
                "managementListenAddress": format!("127.0.0.1:{management}"),
                "certificate": format!("{fixtures}/tls-cert.pem"),
                "privateKey": format!("{fixtures}/tls-key.pem"),
                "httpPort": closed_port(),
                "tlsPort": tls_port,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": false,
                "certificateValidityPeriod": VALIDITY_SECONDS,
            }})
            .to_string(),
        )
        .unwrap();
        let log = |name: &str| std::fs::File::create(dir.join(name)).unwrap();
        let mut pebble = Pebble {
            directory: format!("https://127.0.0.1:{listen}/dir"),
            management,
            children: Vec::new(),
        };
        pebble.children.push(
            Command::new("pebble-challtestsrv")
                .args(["-dns01", &format!("127.0.0.1:{dns}")])
                .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
                .args(["-management", &format!("127.0.0.1:{}", closed_port())])
                .args(["-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""])
                .stdout(log("dns.log"))
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        pebble.children.push(
            Command::new("pebble")
                .arg("-config")
                .arg(&config)
                .args(["-dnsserver", &format!("127.0.0.1:{dns}"), "-strict=false"])
                .env("PEBBLE_VA_NOSLEEP", "1")
                .env("PEBBLE_WFE_NONCEREJECT", "0")
                .stdout(log("pebble.log"))
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", listen)).is_ok() {
                return Some(pebble);
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("pebble did not start");
    }

    /// The root pebble signs this run's certificates with (made fresh at its start).
    async fn root(&self) -> reqwest::Certificate {
        let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
        let ca = std::fs::read(format!("{fixtures}/tls-ca.pem")).unwrap();
        let client = client_builder()
            .tls_certs_only([reqwest::Certificate::from_pem(&ca).unwrap()])
            .build()
            .unwrap();
        let pem = client
            .get(format!("https://127.0.0.1:{}/roots/0", self.management))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        reqwest::Certificate::from_pem(&pem).unwrap()
    }
}

/// Fetches `/` over a new connection to `DOMAIN` (at the server's port), trusting only
/// pebble's root: the certificate it was served, in DER.
async fn served_certificate(server: &TestServer, root: &reqwest::Certificate) -> Vec<u8> {
    let port: u16 = server.url.rsplit(':').next().unwrap().parse().unwrap();
    let client = client_builder()
        .tls_certs_only([root.clone()])
        .resolve(DOMAIN, ([127, 0, 0, 1], port).into())
        .tls_info(true)
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let response = client
        .get(format!("https://{DOMAIN}:{port}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let info = response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .unwrap();
    info.peer_certificate().unwrap().to_vec()
}

#[tokio::test]
async fn a_certificate_is_issued_served_renewed_and_kept_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port();
    let Some(pebble) = Pebble::start(dir.path(), port) else {
        return;
    };
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let mut server = TestServer::start_with(Options {
        listen: Some(format!("127.0.0.1:{port}")),
        server: vec![
            format!("acme_domains = [{DOMAIN:?}]"),
            "acme_contact = \"security@example.com\"".into(),
            format!("acme_directory = {:?}", pebble.directory),
            format!("acme_ca_file = \"{fixtures}/tls-ca.pem\""),
        ],
        ..Default::default()
    });
    assert!(server.url.starts_with("https://"), "{}", server.url);
    wait_for_log(&server, "newly issued by ACME", 0, 30);
    let root = pebble.root().await;
    let first = served_certificate(&server, &root).await;
    // `agedrop status` reads the certificate ACME keeps: short-lived, so warned about.
    let out = std::process::Command::new(bin())
        .args(["status", "--json", "--config"])
        .arg(server.dir.path().join("agedrop.toml"))
        .output()
        .unwrap();
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["certificate"]["days_left"], 0, "{status}");
    let warned = status["warnings"].to_string();
    assert!(warned.contains("ACME renews it"), "{warned}");

    // Pebble's certificates are short-lived: the renewal is issued and served by the
    // same process, from the next handshake on.
    wait_for_log(&server, "newly issued by ACME", 1, 30);
    let renewed = served_certificate(&server, &root).await;
    assert_ne!(
        first, renewed,
        "the renewed certificate is not the one served"
    );

    // The account key and the certificate's key are agedrop's alone.
    let state = server.data().join("acme");
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&state), 0o700);
    let files: Vec<_> = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(files.len() >= 2, "{files:?}");
    for file in &files {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }

    // A restart serves the certificate kept in the state folder before anything else.
    server.restart();
    wait_for_log(&server, "from the ACME state folder is served", 0, 10);
    served_certificate(&server, &root).await;
    assert!(
        !server.log_text().contains("ERROR"),
        "{}",
        server.log_text()
    );
}

#[tokio::test]
async fn the_plain_http_listener_only_redirects_to_the_public_address() {
    let redirect = closed_port();
    let server = TestServer::start_with(Options {
        server: [
            "public_url = \"https://security.example.com\"".to_string(),
            format!("redirect_http = \"127.0.0.1:{redirect}\""),
        ]
        .into_iter()
        .chain(Options::tls().server)
        .collect(),
        ..Default::default()
    });
    let client = client();
    for (path, host, expected) in [
        ("/", "security.example.com", "https://security.example.com/"),
        (
            "/check?code=x",
            "security.example.com",
            "https://security.example.com/check?code=x",
        ),
        // The Host a client sends never chooses where people are sent.
        (
            "/policy",
            "evil.example",
            "https://security.example.com/policy",
        ),
    ] {
        let response = client
            .post(format!("http://127.0.0.1:{redirect}{path}"))
            .header("host", host)
            .body("a body nobody reads")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 301);
        assert_eq!(response.headers()["location"], expected);
    }
    // The real listener is untouched, and stopping stops both.
    assert!(server.url.starts_with("https://"));
    drop(server);
    assert!(std::net::TcpStream::connect(("127.0.0.1", redirect)).is_err());
}
