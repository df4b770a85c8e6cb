//! Notices by webhook: one POST in the shape the receiver takes (generic JSON, Slack,
//! Matrix, plain text). The address is used, never shown: logs name the host.

use std::time::Duration;

use serde_json::json;

use super::{Notice, SetupError};
use crate::config::{Webhook, WebhookFormat};

/// How long one POST may take.
const TIMEOUT: Duration = Duration::from_secs(15);

/// The HTTP client every webhook shares. Redirects are not followed: the notice goes
/// where the operator said, or not at all.
pub(super) fn client() -> Result<reqwest::Client, SetupError> {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("agedrop")
        .build()
        .map_err(|e| SetupError {
            setting: "notify.webhooks",
            message: format!("cannot set up the HTTP client: {}", e.without_url()),
        })
}

/// One configured webhook.
pub(super) struct Hook {
    client: reqwest::Client,
    number: usize,
    config: Webhook,
}

impl Hook {
    pub(super) fn new(client: reqwest::Client, number: usize, config: &Webhook) -> Hook {
        Hook {
            client,
            number,
            config: config.clone(),
        }
    }

    /// "webhook 2 (slack, hooks.example.com)": the path and query, where tokens live,
    /// are left out.
    pub(super) fn name(&self) -> String {
        format!(
            "webhook {} ({}, {})",
            self.number,
            self.config.format.name(),
            self.config.url.host()
        )
    }

    pub(super) async fn send(&self, notice: &Notice, link: Option<&str>) -> Result<(), String> {
        let text = notice.text(link);
        let request = self.client.post(self.config.url.url().clone());
        let request = match self.config.format {
            WebhookFormat::Text => request
                .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8")
                .body(text),
            format => request.json(&body(format, notice, &text)),
        };
        let response = request.send().await.map_err(describe)?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            // The receiver's answer is not quoted: it may echo the address.
            Err(format!("the receiver answered HTTP {}", status.as_u16()))
        }
    }
}

/// The JSON body for `format`.
pub(super) fn body(format: WebhookFormat, notice: &Notice, text: &str) -> serde_json::Value {
    match format {
        WebhookFormat::Slack => json!({ "text": text }),
        WebhookFormat::Matrix => json!({ "msgtype": "m.text", "body": text }),
        WebhookFormat::Json | WebhookFormat::Text => match notice {
            Notice::Reminder(waiting) => json!({
                "text": text,
                "waiting": { "reports": waiting.reports, "overdue": waiting.overdue },
            }),
            _ => {
                let tally = notice.tally();
                json!({
                    "text": text,
                    "events": { "reports": tally.reports, "messages": tally.messages },
                })
            }
        },
    }
}

/// A failed request's reason, without the address (which may hold a token): the
/// error and its causes ("error sending request: … Connection refused").
fn describe(e: reqwest::Error) -> String {
    if e.is_timeout() {
        return format!("no answer within {} s", TIMEOUT.as_secs());
    }
    let e = e.without_url();
    let mut why = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        why.push_str(": ");
        why.push_str(&cause.to_string());
        source = cause.source();
    }
    why
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::Tally;

    #[test]
    fn each_format_has_its_shape() {
        let notice = Notice::Events(Tally {
            reports: 3,
            messages: 1,
        });
        let text = notice.text(None);
        assert_eq!(
            body(WebhookFormat::Json, &notice, &text),
            json!({"text": text, "events": {"reports": 3, "messages": 1}})
        );
        assert_eq!(
            body(WebhookFormat::Slack, &notice, &text),
            json!({"text": text})
        );
        assert_eq!(
            body(WebhookFormat::Matrix, &notice, &text),
            json!({"msgtype": "m.text", "body": text})
        );
    }

    #[test]
    fn a_reminder_gives_its_counts_in_json() {
        let notice = Notice::Reminder(crate::notify::Waiting {
            reports: 2,
            overdue: 1,
            next_in: Some(3600),
            late_by: 7200,
        });
        let text = notice.text(None);
        assert_eq!(
            body(WebhookFormat::Json, &notice, &text),
            json!({"text": text, "waiting": {"reports": 2, "overdue": 1}})
        );
    }
}
