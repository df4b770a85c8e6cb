//! `POST /submit`: the named entry point for a report. Text fields are sealed in
//! memory; files stream from the multipart body through age into blob chunks. The
//! receipt page is sent only after the whole report is durably committed.

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{Multipart, State};
use axum::response::Html;
use zeroize::Zeroizing;

use super::guard::DRAIN_BYTES;
use super::{AppState, PageError, Site, pages::render};
use crate::crypto::{CryptoError, PlainDigest, Receipt, ReporterRecipient, TeamKeys};
use crate::report::{Attachment, Event, EventBody, Submission, human_size, now};
use crate::store::{NewEvent, PendingBlob, StoreError};

/// How often a long upload re-checks free space. With the default 128 requests at once
/// and 1 GiB kept free, uploads between checks cannot fill the disk.
const SPACE_CHECK_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage<'a> {
    site: &'a Site,
    code: &'a str,
    attachments: usize,
}

/// A file that has been sealed and stored, waiting for its report to commit.
struct StoredFile {
    blob: PendingBlob,
    meta: Attachment,
}

pub(super) async fn submit(
    State(state): State<Arc<AppState>>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Html<String>, PageError> {
    state.submissions.check()?;
    let mut multipart = multipart.map_err(|_| {
        PageError::BadInput("The form did not arrive as a file upload form.".into())
    })?;
    check_space(&state, 0)?;

    let receipt = Receipt::generate().map_err(internal)?;
    let (lookup, reporter) = receipt.derive().map_err(internal)?;
    let recipient = reporter.recipient();
    drop(reporter);
    let keys = state.keys();

    let mut form = Submission::default();
    let mut files = Vec::new();
    if let Err(e) = read_form(
        &state,
        &keys,
        &recipient,
        &mut multipart,
        &mut form,
        &mut files,
    )
    .await
    {
        // Read what is left (up to a bound) so that the browser shows this page.
        drain(&mut multipart).await;
        return Err(e);
    }
    if form.title.trim().is_empty() {
        return Err(PageError::BadInput(
            "Please give the report a title.".into(),
        ));
    }
    if form.description.trim().is_empty() {
        return Err(PageError::BadInput(
            "Please describe the problem in the description field.".into(),
        ));
    }

    let at = now();
    let mut events = Vec::with_capacity(1 + files.len());
    let submitted = Event::new(at, EventBody::Submitted(form));
    events.push(NewEvent {
        sealed: keys
            .seal(Some(&recipient), &submitted.encode())
            .map_err(internal)?,
        blob: None,
    });
    drop(submitted);
    let count = files.len();
    for StoredFile { blob, meta } in files {
        let event = Event::new(at, EventBody::Attachment(meta));
        events.push(NewEvent {
            sealed: keys
                .seal(Some(&recipient), &event.encode())
                .map_err(internal)?,
            blob: Some(blob),
        });
    }
    state
        .store
        .create_report(&lookup, &recipient, events)
        .await
        .map_err(|e| state.storage_error(e))?;

    let code = receipt.code();
    render(&ReceiptPage {
        site: &state.site,
        code: &code,
        attachments: count,
    })
}

/// Reads every part of the form into `form` and `files`, enforcing the limits.
async fn read_form(
    state: &AppState,
    keys: &Arc<TeamKeys>,
    recipient: &ReporterRecipient,
    multipart: &mut Multipart,
    form: &mut Submission,
    files: &mut Vec<StoredFile>,
) -> Result<(), PageError> {
    let limits = &state.limits;
    let mut uploaded: u64 = 0;
    let mut seen: Vec<String> = Vec::new();
    while let Some(mut field) = multipart.next_field().await.map_err(broken)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "files" {
            let Some(file_name) = field.file_name().map(str::to_string) else {
                return Err(PageError::BadInput(
                    "An attachment arrived without a file name.".into(),
                ));
            };
            if file_name.is_empty() {
                // A browser sends an empty part when no file was chosen.
                continue;
            }
            check_file_name(&file_name)?;
            if files.len() >= limits.max_files {
                return Err(PageError::TooLarge(format!(
                    "A report can carry at most {} files. Send the rest later with your receipt code.",
                    limits.max_files
                )));
            }
            let media_type = media_type(field.content_type());
            let (blob, size, sha256) =
                seal_file(state, keys, recipient, &mut field, &mut uploaded).await?;
            files.push(StoredFile {
                meta: Attachment {
                    name: file_name,
                    media_type,
                    size,
                    sha256: hex::encode(sha256),
                    blob: blob.id().to_string(),
                },
                blob,
            });
            continue;
        }
        if seen.contains(&name) {
            return Err(PageError::BadInput(format!(
                "The field `{}` was sent twice.",
                printable(&name)
            )));
        }
        let slot: &mut String = match name.as_str() {
            "title" => &mut form.title,
            "product" => &mut form.product,
            "versions" => &mut form.versions,
            "contact" => &mut form.contact,
            "credit_name" => &mut form.credit.name,
            "credit_handle" => &mut form.credit.handle,
            "credit_link" => &mut form.credit.link,
            "description" => &mut form.description,
            "steps" => &mut form.steps,
            "expected" => &mut form.expected,
            "actual" => &mut form.actual,
            "impact" => &mut form.impact,
            "credit_none" => {
                let value = read_text(&mut field, &name, 16).await?;
                form.credit.declined = !value.is_empty();
                seen.push(name);
                continue;
            }
            _ => {
                return Err(PageError::BadInput(format!(
                    "The form sent a field this site does not know (`{}`).",
                    printable(&name)
                )));
            }
        };
        let long = matches!(
            name.as_str(),
            "description" | "steps" | "expected" | "actual" | "impact"
        );
        let text = if long {
            let text = read_text(&mut field, &name, limits.max_text_bytes).await?;
            Zeroizing::new(text.replace("\r\n", "\n"))
        } else {
            let text = read_text(&mut field, &name, limits.max_line_chars * 4).await?;
            check_line(&name, &text, limits.max_line_chars)?;
            Zeroizing::new(text.trim().to_string())
        };
        slot.push_str(&text);
        seen.push(name);
    }
    Ok(())
}

/// Streams one file part into a sealed blob; gives the blob, the plaintext size and its
/// SHA-256. Encryption and writing run on a blocking thread while this task reads and
/// hashes the body, so an upload uses two cores.
async fn seal_file(
    state: &AppState,
    keys: &Arc<TeamKeys>,
    recipient: &ReporterRecipient,
    field: &mut Field<'_>,
    uploaded: &mut u64,
) -> Result<(PendingBlob, u64, [u8; 32]), PageError> {
    let limits = &state.limits;
    let blob = state.store.new_blob().map_err(|e| state.storage_error(e))?;
    let mut sealer = keys
        .blob_sealer(Some(recipient), blob)
        .map_err(|e| sealing(state, e))?;
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
        if digest.size() + len > limits.max_file_bytes {
            return Err(PageError::TooLarge(format!(
                "Each file can be at most {}.",
                human_size(limits.max_file_bytes)
            )));
        }
        *uploaded += len;
        if *uploaded > limits.max_upload_bytes {
            return Err(PageError::TooLarge(format!(
                "The files of one report can be at most {} in all.",
                human_size(limits.max_upload_bytes)
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
        .map_err(internal)?
        .map_err(|e| sealing(state, e))?;
    let (size, sha256) = digest.finish();
    Ok((blob, size, sha256))
}

/// Body pieces queued between the reading task and the sealing thread.
const PIPELINE_DEPTH: usize = 16;

/// Reads one text part, at most `max_bytes`, as UTF-8.
async fn read_text(
    field: &mut Field<'_>,
    name: &str,
    max_bytes: usize,
) -> Result<Zeroizing<String>, PageError> {
    // Reserve the whole field up front: growing would leave unwiped copies behind.
    let mut bytes = Zeroizing::new(Vec::with_capacity(max_bytes.min(1024 * 1024) + 1));
    while let Some(chunk) = field.chunk().await.map_err(broken)? {
        if bytes.len() + chunk.len() > max_bytes {
            return Err(PageError::TooLarge(format!(
                "The field “{}” is longer than the {} this site accepts.",
                label(name),
                human_size(max_bytes as u64)
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        PageError::BadInput(format!(
            "The field “{}” is not valid UTF-8 text.",
            label(name)
        ))
    })?;
    Ok(Zeroizing::new(text.to_string()))
}

fn check_line(name: &str, text: &str, max_chars: usize) -> Result<(), PageError> {
    if text.chars().count() > max_chars {
        return Err(PageError::TooLarge(format!(
            "The field “{}” is longer than {max_chars} characters.",
            label(name)
        )));
    }
    if text.chars().any(char::is_control) {
        return Err(PageError::BadInput(format!(
            "The field “{}” must be one line without control characters.",
            label(name)
        )));
    }
    Ok(())
}

/// Refuses file names that try to be paths or hide what they are.
fn check_file_name(name: &str) -> Result<(), PageError> {
    let bad_char = |c: char| {
        c.is_control()
            || c == '/'
            || c == '\\'
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
    };
    if name.len() > 255 || name == "." || name == ".." || name.chars().any(bad_char) {
        return Err(PageError::BadInput(format!(
            "The file name “{}” is not accepted: names may not contain slashes, control or \
             text-direction characters, or be longer than 255 bytes. Rename the file and send again.",
            printable(name)
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

/// A short, harmless rendering of untrusted text for an error message.
fn printable(text: &str) -> String {
    let mut out: String = text.chars().filter(|c| !c.is_control()).take(80).collect();
    if text.chars().count() > 80 {
        out.push('…');
    }
    out
}

fn label(name: &str) -> &'static str {
    match name {
        "title" => "Title",
        "product" => "Affected product or component",
        "versions" => "Affected versions",
        "description" => "Description",
        "steps" => "Steps to reproduce",
        "expected" => "Expected result",
        "actual" => "Actual result",
        "impact" => "Impact",
        "contact" => "How to reach you",
        "credit_name" => "Credit: name",
        "credit_handle" => "Credit: handle",
        "credit_link" => "Credit: link",
        _ => "form field",
    }
}

/// Reads and discards the rest of a refused upload, up to [`DRAIN_BYTES`].
async fn drain(multipart: &mut Multipart) {
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
    if limits.storage_max_bytes > 0 {
        let used = state
            .store
            .used_bytes()
            .map_err(|e| state.storage_error(e))?;
        if used + incoming > limits.storage_max_bytes {
            tracing::warn!("storage quota (limits.storage_max_mib) reached: refusing new data");
            return Err(PageError::StorageFull);
        }
    }
    let available = state
        .store
        .available_bytes()
        .map_err(|e| state.storage_error(e))?;
    if available < limits.storage_min_free_bytes + incoming {
        tracing::warn!("free disk space below limits.storage_min_free_mib: refusing new data");
        return Err(PageError::StorageFull);
    }
    Ok(())
}

fn broken(e: MultipartError) -> PageError {
    let text = e.body_text();
    if text.contains("length limit") {
        PageError::TooLarge("What you sent is larger than this site accepts in one report.".into())
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
        other => internal(other),
    }
}

pub(super) fn internal(e: impl std::fmt::Display) -> PageError {
    PageError::Internal(e.to_string())
}
