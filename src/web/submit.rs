//! `POST /submit`: the named entry point for a report. Text fields are sealed in
//! memory; files stream through age into attachment files. The receipt page is sent
//! only after the whole report is durably committed.

use std::sync::Arc;

use askama::Template;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::response::Html;

use super::upload::{self, FileBudget, StoredFile};
use super::{AppState, PageError, Site, pages::render};
use crate::crypto::Receipt;
use crate::report::{Event, EventBody, OTHER_ASSET, Severity, Submission, now, weakness};
use crate::store::NewEvent;
use zeroize::{Zeroize, Zeroizing};

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage<'a> {
    site: &'a Site,
    code: &'a str,
    attachments: usize,
    /// The reporter's severity estimate as scored, if they gave one.
    severity: Option<(&'a str, &'a str)>,
}

/// Labels of the fields whose errors name them.
const WEAKNESS: &str = "Weakness";
const SEVERITY: &str = "Your severity estimate (CVSS vector)";

pub(super) async fn submit(
    State(state): State<Arc<AppState>>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Html<String>, PageError> {
    let mut multipart = multipart.map_err(|_| {
        PageError::BadInput("The form did not arrive as a file upload form.".into())
    })?;
    // Refuse early if the limit is already reached (before a long upload is read), but
    // take the token only once the report has arrived whole and well formed, so that
    // junk forms cannot use up what real reporters need.
    if let Err(e) = state
        .submissions
        .peek()
        .and_then(|()| upload::check_space(&state, 0))
    {
        upload::drain(&mut multipart).await;
        return Err(e);
    }

    let receipt = Receipt::generate().map_err(PageError::internal)?;
    let (lookup, reporter) = receipt.derive().map_err(PageError::internal)?;
    let recipient = reporter.recipient();
    drop(reporter);
    let mut form = Submission::default();
    let mut files = Vec::new();
    if let Err(e) = read_form(&state, &mut multipart, &mut form, &mut files).await {
        // Read what is left (up to a bound) so that the browser shows this page.
        upload::drain(&mut multipart).await;
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
    check_intake(&state.site, &mut form)?;
    // Arrived whole: from here this request will commit within a fraction of a
    // millisecond, so other commits wait (briefly) for it to share their flush. Not
    // before: a slow upload would make every other report wait the longest time.
    let _active = state.store.begin();

    state.submissions.check()?;

    let at = now();
    let count = files.len();
    // The keys file as it is now: a member removed during a long upload gets nothing.
    let keys = state.keys();
    // The reporter's recipient travels inside the sealed report too, so the desk can
    // check the clear-text copy the server keeps before it seals a reply to it.
    form.reporter = recipient.to_string();
    let submitted = Event::new(at, EventBody::Submitted(Box::new(form)));
    let mut events = vec![NewEvent {
        sealed: keys
            .seal(Some(&recipient), &submitted.encode())
            .map_err(PageError::internal)?,
        blob: None,
    }];
    // The score the reporter sees is the one sealed with the report.
    let severity = match &submitted.body {
        EventBody::Submitted(s) if !s.severity_vector.is_empty() => Some((
            Zeroizing::new(s.severity_vector.clone()),
            Zeroizing::new(s.severity_score.clone()),
        )),
        _ => None,
    };
    drop(submitted);
    events.extend(upload::attachment_events(&keys, &recipient, at, files)?);
    state
        .store
        .create_report(&lookup, &recipient, events)
        .await
        .map_err(|e| state.storage_error(e))?;
    state.notify(crate::notify::Kind::Report);

    let code = receipt.code();
    render(&ReceiptPage {
        site: &state.site,
        code: &code,
        attachments: count,
        severity: severity
            .as_ref()
            .map(|(vector, score)| (vector.as_str(), score.as_str())),
    })
}

/// Reads every part of the form into `form` and `files`, enforcing the limits.
async fn read_form(
    state: &AppState,
    multipart: &mut Multipart,
    form: &mut Submission,
    files: &mut Vec<StoredFile>,
) -> Result<(), PageError> {
    let limits = &state.limits;
    let mut budget = FileBudget::default();
    let mut seen: Vec<String> = Vec::new();
    while let Some(mut field) = multipart.next_field().await.map_err(upload::broken)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "files" {
            if let Some(file) = upload::read_file(state, &mut field, &mut budget).await? {
                files.push(file);
            }
            continue;
        }
        if seen.contains(&name) {
            return Err(PageError::BadInput(format!(
                "The field `{}` was sent twice.",
                super::error::printable(&name)
            )));
        }
        let (slot, label, long): (&mut String, &str, bool) = match name.as_str() {
            "title" => (&mut form.title, "Title", false),
            "asset" => (&mut form.asset, "Affected asset", false),
            "asset_other" => (&mut form.asset_other, "Something else: which asset?", false),
            "product" => (&mut form.product, "Affected product or component", false),
            "versions" => (&mut form.versions, "Affected versions", false),
            "weakness" => (&mut form.weakness, WEAKNESS, false),
            "severity_vector" => (&mut form.severity_vector, SEVERITY, false),
            "contact" => (&mut form.contact, "How to reach you", false),
            "credit_name" => (&mut form.credit.name, "Credit: name", false),
            "credit_handle" => (&mut form.credit.handle, "Credit: handle", false),
            "credit_link" => (&mut form.credit.link, "Credit: link", false),
            "description" => (&mut form.description, "Description", true),
            "steps" => (&mut form.steps, "Steps to reproduce", true),
            "expected" => (&mut form.expected, "Expected result", true),
            "actual" => (&mut form.actual, "Actual result", true),
            "impact" => (&mut form.impact, "Impact", true),
            "how_found" => (&mut form.how_found, "How you found it", true),
            "ai_how" => (
                &mut form.ai_how,
                "If you did: which tools, and for what",
                true,
            ),
            "credit_none" | "confirm_one_finding" | "confirm_within_rules" | "ai_used" => {
                let value = upload::read_text(&mut field, &name, 16).await?;
                let on = !value.is_empty();
                match name.as_str() {
                    "credit_none" => form.credit.declined = on,
                    "confirm_one_finding" => form.confirmed_one_finding = on,
                    "confirm_within_rules" => form.confirmed_within_rules = on,
                    _ => form.ai_used = ai_used(&value)?,
                }
                seen.push(name);
                continue;
            }
            _ => {
                return Err(PageError::BadInput(format!(
                    "The form sent a field this site does not know (`{}`).",
                    super::error::printable(&name)
                )));
            }
        };
        let text = if long {
            upload::read_long_text(&mut field, label, limits.max_text_kib.bytes()).await?
        } else {
            upload::read_line(&mut field, label, limits.max_line_chars.get()).await?
        };
        slot.push_str(&text);
        seen.push(name);
    }
    Ok(())
}

/// The radio buttons' answer: yes, no, or (nothing chosen) not said.
fn ai_used(value: &str) -> Result<Option<bool>, PageError> {
    match value {
        "" => Ok(None),
        "yes" => Ok(Some(true)),
        "no" => Ok(Some(false)),
        _ => Err(PageError::BadInput(
            "The answer to “Did you use AI tools” must be yes, no, or left unanswered.".into(),
        )),
    }
}

/// What the intake asks beyond free text, checked once the whole form has arrived: the
/// two confirmations, the asset picked from the list, the weakness and the severity
/// vector (scored here, and the score sealed with the report).
fn check_intake(site: &Site, form: &mut Submission) -> Result<(), PageError> {
    if !(form.confirmed_one_finding && form.confirmed_within_rules) {
        return Err(PageError::BadInput(
            "Please confirm both statements under “Before you send”: that the report is \
             about one finding, and that you tested within the rules of the policy."
                .into(),
        ));
    }
    if form.asset == OTHER_ASSET {
        form.asset.clear();
        if form.asset_other.is_empty() {
            return Err(PageError::BadInput(
                "You chose “Something else” as the affected asset: please name it in the \
                 box below the list."
                    .into(),
            ));
        }
    } else if !form.asset.is_empty() && site.programme.asset(&form.asset).is_none() {
        return Err(PageError::BadInput(format!(
            "“{}” is not in this programme's list of assets (it may have changed since the \
             form was loaded): reload the form and choose again, or choose “Something else”.",
            super::error::printable(&form.asset)
        )));
    }
    let named = weakness(&form.weakness).map_err(|why| {
        PageError::BadInput(format!("The field “{WEAKNESS}” was not accepted: {why}."))
    })?;
    form.weakness.zeroize();
    form.weakness = named;
    if !form.severity_vector.is_empty() {
        let mut severity = Severity::parse(&form.severity_vector).map_err(|why| {
            PageError::BadInput(format!(
                "The field “{SEVERITY}” is not a CVSS v3.1 or v4.0 vector: {}. Check it \
                 in a CVSS calculator, or leave the field empty.",
                super::error::printable(&why)
            ))
        })?;
        form.severity_vector.zeroize();
        form.severity_vector = std::mem::take(&mut severity.vector);
        form.severity_score = std::mem::take(&mut severity.score);
    }
    Ok(())
}
