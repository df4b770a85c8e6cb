//! Backups that restore: taken from a running server while reports arrive, restored
//! into a fresh folder a new server serves, every earlier receipt opening its whole
//! report; only ciphertext in the file; tampered archives and busy folders refused.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sha2::{Digest, Sha256};

use crate::util::*;

const CANARY: &str = "CANARYb4ck0p";

/// A report titled `title` with one attachment derived from the title.
async fn submit_titled(server: &TestServer, title: &str, len: usize) -> String {
    let mut fields = report_fields(CANARY);
    fields.retain(|(name, _)| *name != "title");
    fields.push(("title", title.to_string()));
    let file = (format!("{CANARY}-{title}.bin"), attachment(title, len));
    let page = submit_form(server, &fields, &[file]).await;
    assert_eq!(page.status(), 200, "{title}");
    receipt_code(&page.text().await.unwrap())
}

fn attachment(title: &str, len: usize) -> Vec<u8> {
    bytes_with_canary(len, &format!("{CANARY}-attachment-{title}"))
}

/// `agedrop backup` of `server`'s config into `out`.
fn backup(server: &TestServer, out: &Path) -> std::process::Output {
    Command::new(bin())
        .args(["backup", "--json", "--config"])
        .arg(server.dir.path().join("agedrop.toml"))
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

fn restore(file: &Path, dir: &Path) -> std::process::Output {
    Command::new(bin())
        .args(["restore", "--json"])
        .arg(file)
        .arg("--data")
        .arg(dir)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_while_reports_arrive_restores_every_earlier_receipt() {
    // As many reports as the writers manage while the backup runs: not a flood.
    let server = Arc::new(TestServer::start_with(Options::limits(&[
        "submissions_per_minute = 100000",
    ])));
    let mut before = Vec::new();
    for i in 0..3 {
        let title = format!("before-{i}");
        before.push((submit_titled(&server, &title, 300_000).await, title));
    }

    // Reporters keep submitting while the backup is taken.
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..3 {
        let (server, stop) = (server.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut sent = Vec::new();
            for i in 0.. {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let title = format!("during-{w}-{i}");
                sent.push((submit_titled(&server, &title, 200_000).await, title));
            }
            sent
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let file = server.dir.path().join("backup.tar");
    let taken = {
        let (server, file) = (server.clone(), file.clone());
        tokio::task::spawn_blocking(move || backup(&server, &file))
            .await
            .unwrap()
    };
    stop.store(true, Ordering::SeqCst);
    let mut during = Vec::new();
    for writer in writers {
        during.extend(writer.await.unwrap());
    }
    let summary: serde_json::Value = serde_json::from_str(&succeeded(taken, &["backup"])).unwrap();
    assert!(!during.is_empty());
    // The running server took it: sled's lock keeps any other process out.
    assert!(
        server.log_text().contains("backup written"),
        "{}",
        server.log_text()
    );
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(summary["bytes"], meta.len());

    // Ciphertext only: no field, file name, attachment byte or receipt in the file.
    let bytes = std::fs::read(&file).unwrap();
    assert!(
        !leaked(&bytes, CANARY.as_bytes()),
        "the canary is in the backup"
    );
    for (code, _) in before.iter().chain(&during) {
        assert!(!leaked(&bytes, code.as_bytes()));
        assert!(!leaked(&bytes, code.replace('-', "").as_bytes()));
    }

    let restored = server.dir.path().join("restored");
    let out = succeeded(restore(&file, &restored), &["restore"]);
    let restored_summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(restored_summary, summary);

    // Every report is whole: each one's attachment decrypts to exactly what was sent.
    let found = reports_in(&restored, &server.member.identity).await;
    assert_eq!(summary["reports"], found.len());
    assert_eq!(summary["attachments"], found.len());
    for (title, sums) in &found {
        let len = if title.starts_with("before") {
            300_000
        } else {
            200_000
        };
        let want = hex::encode(Sha256::digest(attachment(title, len)));
        assert_eq!(sums, &vec![want], "{title}");
    }
    for (_, title) in &before {
        assert!(
            found.contains_key(title),
            "{title} is missing from the backup"
        );
    }
    let sent: Vec<&String> = during.iter().map(|(_, t)| t).collect();
    assert!(
        found
            .keys()
            .all(|t| t.starts_with("before") || sent.contains(&t))
    );

    // A new server on the restored folder opens every earlier receipt.
    let again = TestServer::start_with(Options {
        data: Some(restored.clone()),
        ..Options::default()
    });
    for (code, title) in &before {
        let (status, page) = check(&again, code).await;
        assert_eq!(status, 200, "{title}: {page}");
        assert!(page.contains(title.as_str()), "{title}: {page}");
    }
    // A report that arrived during the backup opens if, and only if, it is in it.
    for (code, title) in &during {
        let (status, _) = check(&again, code).await;
        assert_eq!(status == 200, found.contains_key(title), "{title}");
    }
}

/// A backup of a stopped server's folder (the command opens the store itself).
async fn stopped_backup() -> (TestServer, PathBuf) {
    let mut server = TestServer::start();
    submit_titled(&server, "only", 50_000).await;
    server.stop();
    let file = server.dir.path().join("backup.tar");
    succeeded(backup(&server, &file), &["backup"]);
    // Never overwritten.
    failed(
        backup(&server, &file),
        "already exists; refusing to overwrite",
    );
    (server, file)
}

/// `file`'s entries followed by one raw entry named `name` of `kind`.
fn tampered(file: &Path, out: &Path, name: &[u8], kind: tar::EntryType) -> PathBuf {
    let mut builder = tar::Builder::new(std::fs::File::create(out).unwrap());
    let mut archive = tar::Archive::new(std::fs::File::open(file).unwrap());
    for entry in archive.entries().unwrap() {
        let entry = entry.unwrap();
        let header = entry.header().clone();
        builder.append(&header, entry).unwrap();
    }
    let mut header = tar::Header::new_gnu();
    // Raw bytes: the builder's own path setters refuse these names.
    header.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name);
    header.set_entry_type(kind);
    header.set_size(0);
    header.set_mode(0o600);
    if kind == tar::EntryType::Symlink {
        header.set_link_name("/etc/passwd").unwrap();
    }
    header.set_cksum();
    builder.append(&header, std::io::empty()).unwrap();
    builder.finish().unwrap();
    out.to_path_buf()
}

#[tokio::test]
async fn restore_refuses_tampered_archives_and_busy_folders() {
    let (server, file) = stopped_backup().await;
    let dir = server.dir.path();
    let link = "attachments/00112233445566778899aabbccddeeff".to_string();
    let cases: [(&[u8], tar::EntryType, &str); 3] = [
        (
            b"../escape",
            tar::EntryType::Regular,
            "climbs out of the folder with `..`",
        ),
        (
            b"/tmp/agedrop-escape",
            tar::EntryType::Regular,
            "has an absolute path",
        ),
        (link.as_bytes(), tar::EntryType::Symlink, "is a link"),
    ];
    for (i, (name, kind, says)) in cases.into_iter().enumerate() {
        let bad = tampered(&file, &dir.join(format!("bad-{i}.tar")), name, kind);
        let target = dir.join(format!("target-{i}"));
        let err = failed(restore(&bad, &target), says);
        assert!(err.contains("nothing was restored"), "{err}");
        assert!(
            !target.exists(),
            "a refused archive wrote {}",
            target.display()
        );
    }
    assert!(!dir.join("escape").exists());

    // Cut short: the last attachment is missing or incomplete.
    let len = std::fs::metadata(&file).unwrap().len();
    let short = dir.join("short.tar");
    std::fs::write(&short, &std::fs::read(&file).unwrap()[..(len / 2) as usize]).unwrap();
    failed(
        restore(&short, &dir.join("target-short")),
        "is not a usable agedrop backup",
    );
    assert!(!dir.join("target-short").exists());

    // A folder that holds anything is never written into.
    let busy = dir.join("busy");
    std::fs::create_dir(&busy).unwrap();
    std::fs::write(busy.join("keep.txt"), "mine").unwrap();
    failed(
        restore(&file, &busy),
        "is not empty; restore into a new or empty folder",
    );
    assert_eq!(std::fs::read_dir(&busy).unwrap().count(), 1);

    // The untouched backup restores into an empty folder.
    let empty = dir.join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = succeeded(restore(&file, &empty), &["restore"]);
    assert!(out.contains("\"reports\":1"), "{out}");
    assert_eq!(reports_in(&empty, &server.member.identity).await.len(), 1);
}
