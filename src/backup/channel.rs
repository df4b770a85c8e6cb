//! The running server's socket on its host, and the side of it `agedrop backup` and
//! `agedrop status` use.
//!
//! The server holds sled's lock on its data folder, so no second process can open the
//! store, and copying sled's files under a live writer gives a torn copy. So the
//! server listens on a Unix socket inside its data folder (mode 0700, the socket 0600:
//! only the server's own user, or root, reaches it; no network surface). A client sends
//! one request line:
//!
//! - `agedrop-backup-1`: the server takes a snapshot, waits until it is durable,
//!   answers `ok` and streams the archive (one backup at a time);
//! - `agedrop-status-1`: the server answers `ok` and one line of JSON, its status
//!   ([`Host::status_line`]: counts only, nothing of any report).
//!
//! Anything else is answered `error: …`. When no server answers, the commands open the
//! store themselves.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

use crate::store::{Store, StoreOptions};

use super::{BackupError, Summary, archive, io_error};

const SOCKET: &str = "backup.sock";
const REQUEST: &str = "agedrop-backup-1";
const STATUS: &str = "agedrop-status-1";
/// The longest status line a client reads.
const STATUS_BYTES: u64 = 64 * 1024;
/// How long a client may take to ask, and to take each piece of the archive.
const PATIENCE: Duration = Duration::from_secs(60);

/// Where the server listens for backups, in its data folder.
pub fn socket_path(data: &Path) -> PathBuf {
    data.join(SOCKET)
}

/// What the running server offers on its socket: its store, for backups, and its
/// status.
pub trait Host: AsRef<Store> + Send + Sync + 'static {
    /// The server's status for `agedrop status`: one line of JSON (no newline in it),
    /// counts only; or why it cannot be given (for the client, content-free).
    fn status_line(&self) -> Result<String, String>;
}

/// Serves backups of `state`'s store, and its status, on the data folder's socket until
/// the process ends. Failing to listen costs only these (logged), never the server.
pub async fn listen<S: Host>(data: PathBuf, state: Arc<S>) {
    let path = socket_path(&data);
    // A socket left by a server that stopped; never anything else.
    if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_socket()) {
        let _ = std::fs::remove_file(&path);
    }
    let listener = match tokio::net::UnixListener::bind(&path) {
        Ok(listener) => listener,
        Err(e) => {
            tracing::warn!(
                "`agedrop backup` and `agedrop status` cannot reach this server (listening \
                 on {} failed: {e}); stop the server to take a backup",
                path.display()
            );
            return;
        }
    };
    let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    let one_at_a_time = Arc::new(tokio::sync::Semaphore::new(1));
    loop {
        let Ok((conn, _)) = listener.accept().await else {
            // Out of descriptors, say: wait instead of spinning on the error.
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            continue;
        };
        tokio::spawn(serve_one(conn, state.clone(), one_at_a_time.clone()));
    }
}

/// Reads one connection's request and answers it.
async fn serve_one<S: Host>(
    conn: tokio::net::UnixStream,
    state: Arc<S>,
    backups: Arc<tokio::sync::Semaphore>,
) {
    let mut conn = tokio::io::BufReader::new(conn);
    let mut line = String::new();
    let asked = tokio::time::timeout(PATIENCE, (&mut conn).take(64).read_line(&mut line)).await;
    let conn = conn.into_inner();
    if !matches!(asked, Ok(Ok(_))) {
        let _ = refuse(conn, "no request").await;
        return;
    }
    match line.trim_end() {
        REQUEST => {
            let result = match backups.try_acquire_owned() {
                Ok(_permit) => answer(conn, state).await,
                Err(_) => {
                    refuse(
                        conn,
                        "a backup is already running; try again when it is done",
                    )
                    .await
                }
            };
            match result {
                Ok(()) => tracing::info!("backup written"),
                Err(e) => tracing::warn!("backup failed: {e}"),
            }
        }
        STATUS => {
            if let Err(e) = answer_status(conn, state).await {
                tracing::debug!("status not answered: {e}");
            }
        }
        _ => {
            let _ = refuse(conn, "not a request this server knows").await;
        }
    }
}

async fn answer_status<S: Host>(
    mut conn: tokio::net::UnixStream,
    state: Arc<S>,
) -> std::io::Result<()> {
    // Counting reads every report record: off the async threads.
    let line = tokio::task::spawn_blocking(move || state.status_line())
        .await
        .map_err(std::io::Error::other)?;
    match line {
        Ok(line) => conn.write_all(format!("ok\n{line}\n").as_bytes()).await?,
        Err(why) => return refuse(conn, &why).await,
    }
    conn.shutdown().await
}

async fn refuse(mut conn: tokio::net::UnixStream, why: &str) -> std::io::Result<()> {
    conn.write_all(format!("error: {why}\n").as_bytes()).await
}

/// Takes a snapshot, makes sure it is durable, and streams it.
async fn answer<S: Host>(mut conn: tokio::net::UnixStream, state: Arc<S>) -> std::io::Result<()> {
    let taker = state.clone();
    let snapshot = tokio::task::spawn_blocking(move || taker.as_ref().as_ref().snapshot())
        .await
        .map_err(std::io::Error::other)?;
    let snapshot = match snapshot {
        Ok(s) => s,
        Err(e) => {
            refuse(conn, "storage failed; see the server's log").await?;
            return Err(std::io::Error::other(e.to_string()));
        }
    };
    if let Err(e) = state.as_ref().as_ref().sync().await {
        refuse(conn, "storage failed; see the server's log").await?;
        return Err(std::io::Error::other(e.to_string()));
    }
    conn.write_all(b"ok\n").await?;
    let conn = conn.into_std()?;
    conn.set_nonblocking(false)?;
    conn.set_write_timeout(Some(PATIENCE))?;
    tokio::task::spawn_blocking(move || {
        let mut out = archive::write(&snapshot, std::io::BufWriter::new(conn))?;
        out.flush()
    })
    .await
    .map_err(std::io::Error::other)?
}

/// `agedrop backup`: writes a backup of the data folder `data` to `out` (mode 0600,
/// never overwritten), from the running server if one answers on its socket, else from
/// the store opened here; then reads the file back to check it whole.
pub fn take(data: &Path, out: &Path) -> Result<Summary, BackupError> {
    if !data.join("db").is_file() {
        return Err(BackupError::Io(format!(
            "no agedrop data in {} (expected sled's `db` file); pass the server's data folder \
             with --config or --data",
            data.display()
        )));
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(out)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                BackupError::Io(format!(
                    "{} already exists; refusing to overwrite it (choose another --out)",
                    out.display()
                ))
            } else {
                io_error(out, "cannot create", e)
            }
        })?;
    let result = (|| {
        write_to(data, &mut file, out)?;
        file.sync_all()
            .map_err(|e| io_error(out, "cannot write", e))?;
        let check = std::fs::File::open(out).map_err(|e| io_error(out, "cannot read", e))?;
        archive::read(check, out, None)
    })();
    if result.is_err() {
        drop(file);
        let _ = std::fs::remove_file(out);
    }
    result
}

/// `agedrop status`: the running server's status line (JSON), asked over `data`'s
/// socket; `None` when no server listens there.
pub fn ask_status(data: &Path) -> Result<Option<String>, BackupError> {
    let socket = socket_path(data);
    let mut conn = match UnixStream::connect(&socket) {
        Ok(conn) => conn,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(None);
        }
        Err(e) => {
            return Err(BackupError::Io(format!(
                "cannot reach the running server on {} ({e}); run the command as the \
                 server's user or as root",
                socket.display()
            )));
        }
    };
    let lost = |e: std::io::Error| {
        BackupError::Status(format!(
            "the connection broke ({e}); see the server's log and try again"
        ))
    };
    conn.set_read_timeout(Some(PATIENCE)).map_err(lost)?;
    conn.write_all(format!("{STATUS}\n").as_bytes())
        .map_err(lost)?;
    let mut reader = BufReader::new(conn).take(STATUS_BYTES);
    let mut said = String::new();
    reader.read_line(&mut said).map_err(lost)?;
    if said.trim_end() != "ok" {
        // A server from before `agedrop status` answers that it knows no such request.
        let said = said.trim_end();
        let said = said.strip_prefix("error: ").unwrap_or(said);
        return Err(BackupError::Status(format!(
            "it said: {}; a server older than this command does not answer it: restart it \
             with this version of agedrop",
            crate::text::excerpt(said, 200)
        )));
    }
    let mut line = String::new();
    reader.read_line(&mut line).map_err(lost)?;
    Ok(Some(line.trim_end().to_string()))
}

fn write_to(data: &Path, file: &mut std::fs::File, out: &Path) -> Result<(), BackupError> {
    let socket = socket_path(data);
    let written = |e: std::io::Error| io_error(out, "cannot write", e);
    match UnixStream::connect(&socket) {
        Ok(mut conn) => {
            conn.set_read_timeout(Some(PATIENCE))
                .map_err(|e| io_error(&socket, "cannot use", e))?;
            let lost = |e: std::io::Error| {
                BackupError::Server(format!(
                    "the connection broke ({e}); see the server's log and try again"
                ))
            };
            conn.write_all(format!("{REQUEST}\n").as_bytes())
                .map_err(lost)?;
            let mut reader = BufReader::new(conn);
            let mut status = String::new();
            (&mut reader)
                .take(256)
                .read_line(&mut status)
                .map_err(lost)?;
            match status.trim_end() {
                "ok" => {}
                other => {
                    let said = other.strip_prefix("error: ").unwrap_or(other);
                    return Err(BackupError::Server(crate::text::excerpt(said, 200)));
                }
            }
            std::io::copy(&mut reader, file).map_err(lost)?;
            Ok(())
        }
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            // No server running on this folder: open the store here.
            let options = StoreOptions {
                cache_bytes: 32 * 1024 * 1024,
                reserve_bytes: 0,
                sweep: false,
            };
            let store = Store::open(data, &options).map_err(|e| {
                BackupError::Io(format!(
                    "cannot open the data folder {} ({e}), and no server answered on {}: if \
                     `agedrop serve` runs on this folder, restart it so that it listens \
                     there, then try again",
                    data.display(),
                    socket.display()
                ))
            })?;
            let snapshot = store.snapshot()?;
            archive::write(&snapshot, std::io::BufWriter::new(&mut *file))
                .and_then(|mut w| w.flush())
                .map_err(written)?;
            Ok(())
        }
        Err(e) => Err(BackupError::Io(format!(
            "cannot reach the running server on {} ({e}); run the backup as the server's \
             user or as root",
            socket.display()
        ))),
    }
}
