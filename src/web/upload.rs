//! Reading multipart forms from reporters (a new report, or a follow-up): text parts
//! with limits, and file parts streamed through age into attachment files.

use axum::body::Bytes;
use axum::extract::Multipart;
use axum::extract::multipart::{Field, MultipartError};
use zeroize::Zeroizing;

use super::guard::DRAIN_BYTES;
use super::{AppState, PageError};
use crate::crypto::{self, AttachmentKey, CryptoError, PlainDigest, ReporterRecipient, TeamKeys};
use crate::report::{Attachment, Event, EventBody, human_size};
use crate::store::{NewEvent, PendingBlob, StoreError};

/// How often a long upload re-checks free space. With the default 128 requests at once
/// and 1 GiB kept free, uploads between checks cannot fill the disk.
const SPACE_CHECK_BYTES: u64 = 4 * 1024 * 1024;

/// Body pieces queued between the reading task and the sealing thread.
const PIPELINE_DEPTH: usize = 16;

/// A file that has been sealed and stored, waiting for the commit that names it.
pub(super) struct StoredFile {
    blob: PendingBlob,
    meta: Attachment,
}

/// Counts files and bytes across one form, against the limits.
#[derive(Default)]
pub(super) struct FileBudget {
    files: usize,
    bytes: u64,
}

/// Reads one file part; `None` for the empty part a browser sends when no file was
/// chosen.
pub(super) async fn read_file(
    state: &AppState,
    field: &mut Field<'_>,
    budget: &mut FileBudget,
) -> Result<Option<StoredFile>, PageError> {
    let Some(file_name) = field.file_name().map(str::to_string) else {
        return Err(PageError::BadInput(
            "An attachment arrived without a file name.".into(),
        ));
    };
    if file_name.is_empty() {
        return Ok(None);
    }
    check_file_name(&file_name)?;
    if budget.files >= state.limits.max_files.get() {
        return Err(PageError::TooLarge(format!(
            "At most {} files can be sent at once. Send the rest in a follow-up with your receipt code.",
            state.limits.max_files.get()
        )));
    }
    budget.files += 1;
    let media_type = media_type(field.content_type());
    let key = AttachmentKey::generate();
    let (blob, size, sha256) = seal_file(state, &key, field, &mut budget.bytes).await?;
    Ok(Some(StoredFile {
        meta: Attachment {
            name: file_name,
            media_type,
            size,
            sha256: hex::encode(sha256),
            blob: blob.id().to_string(),
            key: key.to_text().to_string(),
        },
        blob,
    }))
}

/// Seals one attachment event per stored file, each carrying its blob and the key that
/// opens it, to the team as the keys file lists it now (a member removed while the
/// upload ran gets nothing of it) and the reporter.
pub(super) fn attachment_events(
    keys: &TeamKeys,
    reporter: &ReporterRecipient,
    at: i64,
    files: Vec<StoredFile>,
) -> Result<Vec<NewEvent>, PageError> {
    let mut events = Vec::with_capacity(files.len());
    for StoredFile { blob, meta } in files {
        let event = Event::new(at, EventBody::Attachment(meta));
        events.push(NewEvent {
            sealed: keys
                .seal(Some(reporter), &event.encode())
                .map_err(PageError::internal)?,
            blob: Some(blob),
        });
    }
    Ok(events)
}

/// Streams one file part into a blob sealed to `key` alone; gives the blob, the
/// plaintext size and its SHA-256. Encryption and writing run on a blocking thread while this task reads and
/// hashes the body, so an upload uses two cores.
async fn seal_file(
    state: &AppState,
    key: &AttachmentKey,
    field: &mut Field<'_>,
    uploaded: &mut u64,
) -> Result<(PendingBlob, u64, [u8; 32]), PageError> {
    let limits = &state.limits;
    let blob = state.store.new_blob().map_err(|e| state.storage_error(e))?;
    let mut sealer = crypto::blob_sealer(key, blob).map_err(|e| sealing(state, e))?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(PIPELINE_DEPTH);
    // If this request ends early (an error, a client that hangs up), the sender is
    // dropped, the thread finishes, and its pending blob deletes itself.
    let worker = tokio::task::spawn_blocking(move || {
        while let Some(chunk) = rx.blocking_recv() {
            sealer.write(&chunk)?;
        }
        sealer.finish()
    });
    let mut digest = PlainDigest::default();
    let mut since_check: u64 = 0;
    while let Some(chunk) = field.chunk().await.map_err(broken)? {
        let len = chunk.len() as u64;
        if digest.size() + len > limits.max_file_mib.bytes() {
            return Err(PageError::TooLarge(format!(
                "Each file can be at most {}.",
                human_size(limits.max_file_mib.bytes())
            )));
        }
        *uploaded += len;
        if *uploaded > limits.max_upload_mib.bytes() {
            return Err(PageError::TooLarge(format!(
                "The files sent at once can be at most {} in all.",
                human_size(limits.max_upload_mib.bytes())
            )));
        }
        since_check += len;
        if since_check >= SPACE_CHECK_BYTES {
            check_space(state, since_check)?;
            since_check = 0;
        }
        digest.update(&chunk);
        if tx.send(chunk).await.is_err() {
            // The thread stopped on an error; it is reported below.
            break;
        }
    }
    drop(tx);
    let blob = worker
        .await
        .map_err(PageError::internal)?
        .map_err(|e| sealing(state, e))?;
    let (size, sha256) = digest.finish();
    Ok((blob, size, sha256))
}

/// Reads one text part, at most `max_bytes`, as UTF-8; `label` names it in errors.
pub(super) async fn read_text(
    field: &mut Field<'_>,
    label: &str,
    max_bytes: usize,
) -> Result<Zeroizing<String>, PageError> {
    // Reserve the whole field up front: growing would leave unwiped copies behind.
    let mut bytes = Zeroizing::new(Vec::with_capacity(max_bytes.min(1024 * 1024) + 1));
    while let Some(chunk) = field.chunk().await.map_err(broken)? {
        if bytes.len() + chunk.len() > max_bytes {
            return Err(PageError::TooLarge(format!(
                "The field “{label}” is longer than the {} this site accepts.",
                human_size(max_bytes as u64)
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        PageError::BadInput(format!("The field “{label}” is not valid UTF-8 text."))
    })?;
    Ok(Zeroizing::new(text.to_string()))
}

/// Reads a multi-line text part: limited in bytes, line ends normalised to `\n`.
pub(super) async fn read_long_text(
    field: &mut Field<'_>,
    label: &str,
    max_bytes: usize,
) -> Result<Zeroizing<String>, PageError> {
    let text = read_text(field, label, max_bytes).await?;
    Ok(Zeroizing::new(text.replace("\r\n", "\n")))
}

/// Reads a one-line text part: limited in characters, no control characters, trimmed.
pub(super) async fn read_line(
    field: &mut Field<'_>,
    label: &str,
    max_chars: usize,
) -> Result<Zeroizing<String>, PageError> {
    let text = read_text(field, label, max_chars * 4).await?;
    if text.chars().count() > max_chars {
        return Err(PageError::TooLarge(format!(
            "The field “{label}” is longer than {max_chars} characters."
        )));
    }
    if text.chars().any(char::is_control) {
        return Err(PageError::BadInput(format!(
            "The field “{label}” must be one line without control characters."
        )));
    }
    Ok(Zeroizing::new(text.trim().to_string()))
}

/// Refuses file names that try to be paths or hide what they are.
fn check_file_name(name: &str) -> Result<(), PageError> {
    let bad_char = |c: char| crate::text::is_hidden(c) || c == '/' || c == '\\';
    if name.len() > 255 || name == "." || name == ".." || name.chars().any(bad_char) {
        return Err(PageError::BadInput(format!(
            "The file name “{}” is not accepted: names may not contain slashes, control or \
             text-direction characters, or be longer than 255 bytes. Rename the file and send again.",
            super::error::printable(name)
        )));
    }
    Ok(())
}

/// The browser's media type if it looks like one; otherwise a neutral one.
fn media_type(sent: Option<&str>) -> String {
    match sent {
        Some(t)
            if t.len() <= 100
                && t.contains('/')
                && t.chars().all(|c| c.is_ascii_graphic() && c != '"') =>
        {
            t.to_ascii_lowercase()
        }
        _ => "application/octet-stream".into(),
    }
}

/// Reads and discards the rest of a refused upload, up to [`DRAIN_BYTES`], so that the
/// browser shows the error page instead of a reset connection.
pub(super) async fn drain(multipart: &mut Multipart) {
    let mut budget = DRAIN_BYTES;
    while let Ok(Some(mut field)) = multipart.next_field().await {
        while let Ok(Some(chunk)) = field.chunk().await {
            match budget.checked_sub(chunk.len() as u64) {
                Some(rest) => budget = rest,
                None => return,
            }
        }
    }
}

/// Refuses new data when the quota is reached or the disk is nearly full.
pub(super) fn check_space(state: &AppState, incoming: u64) -> Result<(), PageError> {
    let limits = &state.limits;
    if limits.storage_max_mib.bytes() > 0 {
        let used = state
            .store
            .used_bytes()
            .map_err(|e| state.storage_error(e))?;
        if used + incoming > limits.storage_max_mib.bytes() {
            tracing::warn!("storage quota (limits.storage_max_mib) reached: refusing new data");
            return Err(PageError::StorageFull);
        }
    }
    let available = state
        .store
        .available_bytes()
        .map_err(|e| state.storage_error(e))?;
    if available < limits.storage_min_free_mib.bytes() + incoming {
        tracing::warn!("free disk space below limits.storage_min_free_mib: refusing new data");
        return Err(PageError::StorageFull);
    }
    Ok(())
}

/// A multipart body that could not be read.
pub(super) fn broken(e: MultipartError) -> PageError {
    let text = e.body_text();
    if text.contains("length limit") {
        PageError::TooLarge("What you sent is larger than this site accepts at once.".into())
    } else if text.contains(super::pace::TOO_SLOW) {
        PageError::BadInput(
            "The upload arrived too slowly and was stopped, so that it would not hold a \
             place others need. Please send it again, perhaps with smaller files at a time."
                .into(),
        )
    } else {
        PageError::BadInput(
            "The upload was interrupted, or part of the form could not be read (for example \
             a file name with control characters). Please send it again."
                .into(),
        )
    }
}

/// A failure while sealing into storage: I/O under the stream is the store failing.
fn sealing(state: &AppState, e: CryptoError) -> PageError {
    match e {
        CryptoError::Io(io) => state.storage_error(StoreError::Io(io)),
        other => PageError::internal(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_file_names_are_accepted_as_sent() {
        for name in [
            "report.pdf",
            "screen shot (2).png",
            "ünïcödé 名前.txt",
            ".hidden",
            "...",
            "a..b",
            &"a".repeat(255),
        ] {
            assert!(check_file_name(name).is_ok(), "{name:?}");
        }
    }

    #[test]
    fn names_that_try_to_be_paths_or_hide_what_they_are_are_refused_and_say_why() {
        for name in [
            "../etc/passwd",
            "dir/file",
            "dir\\file",
            "/abs",
            ".",
            "..",
            "tab\there",
            "nul\0byte",
            "evil\u{202E}gpj.exe",
            "zero\u{200B}width",
            "bom\u{FEFF}",
            &"a".repeat(256),
            &"é".repeat(128),
        ] {
            let Err(PageError::BadInput(message)) = check_file_name(name) else {
                panic!("{name:?} was accepted");
            };
            assert!(message.contains("is not accepted"), "{message}");
            assert!(message.contains("Rename the file"), "{message}");
            // The name is echoed made visible and cut short, never as sent.
            assert!(!message.chars().any(crate::text::is_hidden), "{message:?}");
            assert!(message.chars().count() < 300, "{message}");
        }
    }
}
