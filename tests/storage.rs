//! Durability against a real process: restarts and crashes, concurrent commits, quotas,
//! a full disk, slow and stalled uploads, trickled requests, and a graceful shutdown.

use futures_util::StreamExt;
use std::time::Duration;

use crate::util::*;

#[tokio::test]
async fn a_report_survives_a_restart() {
    let mut server = TestServer::start();
    let fields = vec![
        ("title", "Before restart".to_string()),
        ("description", "d".into()),
    ];
    let page = submit_form(
        &server,
        &fields,
        &[("a.bin".into(), bytes_with_canary(300_000, "x"))],
    )
    .await;
    let code = receipt_code(&page.text().await.unwrap());
    server.restart();
    let (status, page) = check(&server, &code).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Before restart") && page.contains("a.bin"),
        "{page}"
    );
}

#[tokio::test]
async fn a_receipt_is_shown_only_once_its_report_would_survive_a_crash() {
    let mut server = TestServer::start();
    let code = submit_simple(&server, "Before a crash").await;
    // kill -9 right after the receipt.
    server.signal("KILL");
    std::thread::sleep(Duration::from_millis(200));
    server.launch();
    let (status, page) = check(&server, &code).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Before a crash"));
}

#[tokio::test]
async fn concurrent_submissions_all_commit() {
    let server = TestServer::start();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let url = server.at("/submit");
        tasks.push(tokio::spawn(async move {
            let fields = vec![
                ("title", format!("Concurrent {i}")),
                ("description", "d".into()),
            ];
            let files = [(
                format!("f{i}.bin"),
                bytes_with_canary(200_000 + i * 1000, "c"),
            )];
            let response = client()
                .post(url)
                .multipart(form(&fields, &files))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            (i, receipt_code(&response.text().await.unwrap()))
        }));
    }
    for task in tasks {
        let (i, code) = task.await.unwrap();
        let (status, page) = check(&server, &code).await;
        assert_eq!(status, 200);
        assert!(page.contains(&format!("Concurrent {i}<")), "{page}");
        assert!(page.contains(&format!("f{i}.bin")));
    }
}

#[tokio::test]
async fn quota_refuses_new_reports_and_keeps_old_ones() {
    let mut server = TestServer::start();
    let earlier = submit_simple(&server, "Stored before the quota").await;
    server.options.limits = vec!["storage_min_free_mib = 100000000".into()];
    server.restart();
    let response = try_submit(&server, "t").await;
    assert_eq!(response.status(), 507);
    let page = response.text().await.unwrap();
    assert!(page.contains("run out of room"), "{page}");
    assert!(page.contains("Reports sent earlier are safe"));
    let (status, _) = check(&server, &earlier).await;
    assert_eq!(status, 200);
}

/// A tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    /// Mounts a tmpfs, or says why it cannot. Without root this is impossible; CI runs
    /// as root and sets AGEDROP_CI, so there a failed mount fails the test.
    fn mount(path: &std::path::Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(path).unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if mounted {
            return Some(Tmpfs(path.to_path_buf()));
        }
        assert!(
            std::env::var_os("AGEDROP_CI").is_none(),
            "this test must mount a small tmpfs: run it as root"
        );
        eprintln!("SKIPPED: the full-disk test needs root to mount a tmpfs (CI runs it)");
        None
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// Writes zeros to `path` until the file system is full.
fn fill_up(path: &std::path::Path) {
    use std::io::Write;
    let mut file = std::fs::File::create(path).unwrap();
    let block = vec![0u8; 64 * 1024];
    while file.write_all(&block).is_ok() {}
    let small = [0u8; 512];
    while file.write_all(&small).is_ok() {}
    let _ = file.sync_all();
}

async fn submit_big(server: &TestServer, mib: usize) -> (u16, String) {
    let response = submit_form(
        server,
        &[
            ("title", "Too big for the disk".into()),
            ("description", "d".into()),
        ],
        &[(
            "big.bin".into(),
            bytes_with_canary(mib * 1024 * 1024, "full"),
        )],
    )
    .await;
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn a_full_disk_gives_a_clear_page_and_loses_nothing() {
    let holder = tempfile::tempdir().unwrap();
    let mount = holder.path().join("small");
    let Some(_tmpfs) = Tmpfs::mount(&mount, "64m") else {
        return;
    };
    let mut server = TestServer::start_with(Options {
        data: Some(mount.join("data")),
        limits: vec![
            "storage_min_free_mib = 0".into(),
            "storage_reserve_mib = 16".into(),
        ],
        ..Default::default()
    });
    let earlier = submit_simple(&server, "Stored before the disk filled").await;

    // Something else fills the disk to the last byte. The next report cannot be
    // stored: the reporter gets a clear page, and the server stops (sled takes no
    // writes after an I/O error) after freeing its reserve file.
    let filler = mount.join("filler");
    fill_up(&filler);
    let response = submit_form(
        &server,
        &[
            ("title", "On a full disk".into()),
            ("description", "d".into()),
        ],
        &[("f.bin".into(), bytes_with_canary(3 * 1024 * 1024, "full"))],
    )
    .await;
    let status = response.status().as_u16();
    let page = response.text().await.unwrap();
    assert_eq!(status, 503, "{page}");
    assert!(page.contains("could not be stored"), "{page}");
    assert!(page.contains("Reports sent earlier are safe"), "{page}");
    assert!(!page.contains("receipt-code"));
    let exit = server
        .wait_exit(Duration::from_secs(10))
        .unwrap_or_else(|| {
            panic!(
                "server still runs after a storage failure:\n{}",
                server.log_text()
            )
        });
    assert!(!exit.success());
    assert!(server.log_text().contains("storage failed"));

    // It starts again on the still-full disk, in the room its reserve file held, and
    // every earlier report is there.
    server.launch();
    let (status, page) = check(&server, &earlier).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Stored before the disk filled"));

    // With room kept free, an upload larger than the disk is refused on the way in and
    // the server keeps serving.
    std::fs::remove_file(&filler).unwrap();
    server.options.limits = vec![
        "storage_min_free_mib = 24".into(),
        "storage_reserve_mib = 16".into(),
    ];
    server.restart();
    let (status, page) = submit_big(&server, 80).await;
    assert_eq!(status, 507, "{page}");
    assert!(page.contains("run out of room"), "{page}");
    assert!(page.contains("Reports sent earlier are safe"), "{page}");
    assert!(server.is_running());
    assert_eq!(check(&server, &earlier).await.0, 200);
}

#[tokio::test]
async fn a_slow_upload_that_keeps_moving_finishes() {
    let server = TestServer::start_with(Options::limits(&["idle_timeout_seconds = 1"]));
    let boundary = "agedropTestBoundary";

    // 8 pieces, 400 ms apart: 3.2 s in all, well over the 1 s idle timeout.
    let [head, file, tail] = multipart_parts(boundary, "Slow upload", 8 * 1024);
    let mut pieces: Vec<Vec<u8>> = vec![head];
    pieces.extend(file.chunks(1024).map(|c| c.to_vec()));
    pieces.push(tail);
    let response = submit_slowly(&server, boundary, pieces, Duration::from_millis(400)).await;
    assert_eq!(response.status(), 200);
    let code = receipt_code(&response.text().await.unwrap());
    assert_eq!(check(&server, &code).await.0, 200);
}

#[tokio::test]
async fn a_stalled_upload_is_cut_off_at_the_idle_timeout() {
    let server = TestServer::start_with(Options::limits(&["idle_timeout_seconds = 1"]));
    let boundary = "agedropTestBoundary";
    let [head, _, _] = multipart_parts(boundary, "Stalled upload", 0);
    let stream =
        futures_util::stream::iter(vec![head, b"partial".to_vec()]).then(|piece| async move {
            if piece == b"partial" {
                tokio::time::sleep(Duration::from_secs(4)).await;
            }
            Ok::<_, std::io::Error>(piece)
        });
    let started = std::time::Instant::now();
    let result = submit_stream(&server, boundary, 100_000, stream).await;
    if let Ok(response) = result {
        assert!(response.status().is_client_error(), "{}", response.status());
    }
    assert!(started.elapsed() < Duration::from_secs(4), "not cut off");
    // And the server still serves.
    submit_simple(&server, "After a stalled upload").await;
}

/// A server that gives a request 2 s and a pause 5 s, with two page slots and one
/// upload slot.
fn tight() -> TestServer {
    TestServer::start_with(Options::limits(&[
        "request_timeout_seconds = 2",
        "idle_timeout_seconds = 5",
        "max_concurrent_requests = 2",
        "max_concurrent_uploads = 1",
    ]))
}

#[tokio::test]
async fn a_trickled_form_is_cut_off_at_the_request_timeout() {
    let server = tight();
    // A receipt form trickled a byte a second: cut off at the request timeout, although
    // it never pauses long enough for the idle timeout.
    let trickle = futures_util::stream::iter((0..10).map(|_| b"x".to_vec())).then(|b| async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        Ok::<_, std::io::Error>(b)
    });
    let started = std::time::Instant::now();
    let result = client()
        .post(server.at("/check"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("content-length", 10)
        .body(reqwest::Body::wrap_stream(trickle))
        .send()
        .await;
    if let Ok(response) = result {
        assert_eq!(response.status(), 408);
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_slow_upload_holds_only_the_upload_slot() {
    let server = tight();
    // Pages still answer meanwhile; a second upload gets a clear page.
    let boundary = "agedropTestBoundary";
    let [head, _, _] = multipart_parts(boundary, "Holding the slot", 0);
    let slow = futures_util::stream::iter(vec![head, b"zz".to_vec()]).then(|piece| async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        Ok::<_, std::io::Error>(piece)
    });
    let upload = submit_stream(&server, boundary, 100_000, slow);
    let others = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        for _ in 0..3 {
            let (status, _) = fetch(client().get(server.at("/"))).await;
            assert_eq!(status, 200);
        }
        // A second upload at the same time finds the upload slot taken: a clear page.
        let busy = try_submit(&server, "t").await;
        assert_eq!(busy.status(), 503);
        let page = busy.text().await.unwrap();
        assert!(
            page.contains("Too many people are using the site at this moment"),
            "{page}"
        );
    };
    tokio::select! {
        _ = upload => panic!("the slow upload finished first"),
        () = others => {}
    }
}

#[tokio::test]
async fn shutdown_lets_an_upload_in_flight_finish() {
    let mut server = TestServer::start();
    let boundary = "agedropTestBoundary";
    let [head, file, tail] = multipart_parts(boundary, "In flight", 4 * 1024);
    let mut pieces: Vec<Vec<u8>> = vec![head];
    pieces.extend(file.chunks(1024).map(|c| c.to_vec()));
    pieces.push(tail);
    let upload = submit_slowly(&server, boundary, pieces, Duration::from_millis(300));
    let terminate = async {
        tokio::time::sleep(Duration::from_millis(600)).await;
        server.signal("TERM");
    };
    // The upload still gets its receipt; then the server exits by itself.
    let (response, ()) = tokio::join!(upload, terminate);
    assert_eq!(response.status(), 200);
    let code = receipt_code(&response.text().await.unwrap());
    let exit = server
        .wait_exit(Duration::from_secs(10))
        .expect("server exits");
    assert!(exit.success());
    server.launch();
    assert_eq!(check(&server, &code).await.0, 200);
}

/// Regression: the signal handlers were installed only once serving began, after the
/// "Listening on" line, so a SIGHUP (a keys-file reload) sent as soon as the server said
/// it was up could end it by the default action.
#[tokio::test]
async fn a_reload_right_after_start_reloads_instead_of_killing_the_server() {
    for _ in 0..5 {
        let mut server = TestServer::start();
        server.signal("HUP");
        std::thread::sleep(Duration::from_millis(150));
        assert!(server.is_running(), "{}", server.log_text());
        assert_eq!(check(&server, &unknown_code()).await.0, 404);
    }
}
