//! The team API client. Everything a server sends is hostile until checked: bodies are
//! read up to a cap, ids must be the ones asked for, and the login challenge is opened
//! only to check that it is exactly a challenge for this server, never to send back
//! what it held. Sealing and signing happen in the desk ([`super::Desk`]); this client
//! only moves ciphertext.

use reqwest::StatusCode;
use zeroize::Zeroizing;

use crate::api::{self, ReportSummary};
use crate::crypto::{self, Purpose, Sealed};
use crate::store::{BlobId, ReportId};
use crate::text::excerpt;

use super::{Identities, TeamError};

/// Caps on what the desk reads from a server, by kind of answer.
const SMALL_BODY: u64 = 256 * 1024;
const ROSTER_BODY: u64 = 2 * 1024 * 1024;
const LIST_BODY: u64 = 16 * 1024 * 1024;
const REPORT_BODY: u64 = 64 * 1024 * 1024;

/// A logged-in connection to an agedrop server.
pub struct TeamClient {
    http: reqwest::Client,
    base: String,
    origin: String,
    token: Zeroizing<String>,
    name: String,
}

fn net(e: reqwest::Error) -> TeamError {
    TeamError::Unreachable(excerpt(&e.to_string(), 300))
}

/// What the desk says when the server sends something no honest server would.
pub(super) fn hostile(what: &str) -> TeamError {
    TeamError::Hostile(format!(
        "{what}. The server may be compromised (or something between you and it); nothing \
         was sent back. Tell the rest of the team and the server's operator before you use \
         it again."
    ))
}

/// Reads a body of at most `cap` bytes; a longer one is refused as soon as it is seen.
async fn read_capped(mut response: reqwest::Response, cap: u64) -> Result<Vec<u8>, TeamError> {
    let too_big = || TeamError::AnswerTooLarge(crate::report::human_size(cap));
    if response.content_length().is_some_and(|n| n > cap) {
        return Err(too_big());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(net)? {
        if body.len() as u64 + chunk.len() as u64 > cap {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Reads a JSON body of at most `cap` bytes.
async fn json_capped<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
    cap: u64,
) -> Result<T, TeamError> {
    let body = read_capped(response, cap).await?;
    serde_json::from_slice(&body).map_err(|e| TeamError::NotTheApi(excerpt(&e.to_string(), 200)))
}

/// Turns an error answer into a message that says what the server said (made safe).
async fn refusal(response: reqwest::Response) -> TeamError {
    let status = response.status();
    let said = json_capped::<api::ErrorResponse>(response, SMALL_BODY)
        .await
        .map(|e| excerpt(&e.error, 300))
        .unwrap_or_else(|_| status.to_string());
    match status {
        StatusCode::NOT_FOUND => TeamError::NotFound(said),
        StatusCode::UNAUTHORIZED => TeamError::Login(said),
        _ => TeamError::Refused {
            status: status.to_string(),
            said,
        },
    }
}

/// Sends a request; an error answer becomes a [`TeamError`] saying what the server said.
async fn send(request: reqwest::RequestBuilder) -> Result<reqwest::Response, TeamError> {
    let response = request.send().await.map_err(net)?;
    if response.status().is_success() {
        Ok(response)
    } else {
        Err(refusal(response).await)
    }
}

/// The server's origin (`https://host[:port]`), after checking that the address is
/// usable: plain HTTP only where the transport is already private (loopback: an SSH
/// tunnel, the demo; or an onion service).
pub fn server_origin(server: &str) -> Result<String, TeamError> {
    let bad = |why: &str| {
        TeamError::Server(format!(
            "`{}` is not a usable server address ({why}); expected https://host[:port]",
            excerpt(server, 100)
        ))
    };
    let url = reqwest::Url::parse(server).map_err(|_| bad("not a URL"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("it carries a user name or password"));
    }
    let host = url.host_str().ok_or_else(|| bad("no host"))?;
    match url.scheme() {
        "https" => {}
        "http" => {
            let private = matches!(host, "127.0.0.1" | "localhost" | "[::1]" | "::1")
                || host.ends_with(".onion");
            if !private {
                return Err(TeamError::Server(format!(
                    "refusing plain http:// to {}: the token would cross the network in the \
                     clear; use https://",
                    excerpt(host, 100)
                )));
            }
        }
        _ => {
            return Err(bad(
                "only https:// (or http:// to loopback or an onion service)",
            ));
        }
    }
    Ok(url.origin().ascii_serialization())
}

/// Whether an id the server sent is a report id (16 hex digits, nothing else).
impl TeamClient {
    /// Logs in to `server` (e.g. `https://drop.example.com`) with the first of the
    /// member's recipients that the server's keys file lists.
    pub async fn login(server: &str, identities: &Identities) -> Result<Self, TeamError> {
        Self::login_with(reqwest::Client::builder(), server, identities).await
    }

    /// As [`TeamClient::login`], with a caller's HTTP settings (extra CA roots, proxy).
    pub async fn login_with(
        builder: reqwest::ClientBuilder,
        server: &str,
        identities: &Identities,
    ) -> Result<Self, TeamError> {
        // The process may not have chosen a TLS provider yet; agedrop uses ring.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let origin = server_origin(server)?;
        let http = builder
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(net)?;
        let base = format!("{}/api/v1", server.trim_end_matches('/'));
        if identities.recipients().is_empty() {
            return Err(TeamError::Identity(format!(
                "{} holds no identity whose recipient can log in (expected AGE-SECRET-KEY-1 lines)",
                identities.path().display()
            )));
        }
        let mut last = None;
        for recipient in identities.recipients() {
            match Self::try_login(&http, &base, &origin, identities, recipient).await {
                Ok((token, name)) => {
                    return Ok(TeamClient {
                        http,
                        base,
                        origin,
                        token,
                        name: name.chars().take(200).collect(),
                    });
                }
                Err(e @ TeamError::Login(_)) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| TeamError::Login("login failed".into())))
    }

    /// One login attempt with one recipient. A recipient the server seals to: open the
    /// challenge, check it is exactly one for this origin, answer with its hash. A
    /// plugin recipient (whose challenge the server seals to no one): sign instead.
    async fn try_login(
        http: &reqwest::Client,
        base: &str,
        origin: &str,
        identities: &Identities,
        recipient: &str,
    ) -> Result<(Zeroizing<String>, String), TeamError> {
        let response = send(http.post(format!("{base}/login/challenge")).json(
            &api::ChallengeRequest {
                recipient: recipient.to_string(),
            },
        ))
        .await?;
        let challenge: api::Challenge = json_capped(response, SMALL_BODY).await?;
        let id = &challenge.challenge_id;
        if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(hostile(
                "the server sent a login challenge with a malformed id",
            ));
        }
        let mut request = api::LoginRequest {
            challenge_id: challenge.challenge_id.clone(),
            ..Default::default()
        };
        if matches!(crypto::parse_for_challenge(recipient), Ok(None)) {
            let key = identities
                .signing_key()
                .ok_or_else(|| identities.no_signing_key())?;
            let signature = key.sign(Purpose::Login, &[origin.as_bytes(), id.as_bytes()]);
            request.signature = Some(api::encode(&signature));
        } else {
            let sealed = api::decode(&challenge.sealed)
                .filter(|b| b.len() <= crypto::MAX_SEALED_CHALLENGE)
                .ok_or_else(|| hostile("the server sent a login challenge that is not one"))?;
            let sealed = Sealed::parse(sealed)
                .map_err(|_| hostile("the server sent a login challenge that is not one"))?;
            let plaintext = crypto::open(&identities.as_refs(), &sealed).map_err(|_| {
                hostile(
                    "the server sent a login challenge that is not sealed to your \
                         identity",
                )
            })?;
            if !crypto::is_challenge(&plaintext, origin) {
                return Err(hostile(&format!(
                    "the server sent a login challenge that is not one for {origin} (it \
                     opens to something else)"
                )));
            }
            request.answer = Some(hex::encode(crypto::challenge_answer(&plaintext)));
        }
        let response = send(http.post(format!("{base}/login")).json(&request)).await?;
        let login: api::LoginResponse = json_capped(response, SMALL_BODY).await?;
        Ok((Zeroizing::new(login.token), login.name))
    }

    /// The member's name from the server's keys file.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The server's origin, as the desk checked it.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// A request to `path` under the API, with the token.
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&*self.token)
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        cap: u64,
    ) -> Result<T, TeamError> {
        json_capped(send(self.request(reqwest::Method::GET, path)).await?, cap).await
    }

    /// The server's team roster and the programme's promises, unchecked (the desk
    /// compares it with the roster it pinned).
    pub async fn team(&self) -> Result<api::TeamResponse, TeamError> {
        self.get("/team", ROSTER_BODY).await
    }

    /// Every report's clear-text record (every id parsed, so exactly an id).
    pub async fn reports(&self) -> Result<Vec<ReportSummary>, TeamError> {
        Ok(self
            .get::<api::ReportsResponse>("/reports", LIST_BODY)
            .await?
            .reports)
    }

    /// One report's record and sealed events: the id must be the one asked for, and the
    /// events in order.
    pub async fn report(&self, id: ReportId) -> Result<api::ReportResponse, TeamError> {
        let report: api::ReportResponse = self.get(&format!("/reports/{id}"), REPORT_BODY).await?;
        if report.report.id != id {
            return Err(TeamError::WrongReport {
                asked: id,
                sent: report.report.id,
            });
        }
        if report.events.windows(2).any(|w| w[0].seq >= w[1].seq) {
            return Err(TeamError::OutOfOrder(id));
        }
        Ok(report)
    }

    /// Feed entries after `cursor` (every report id parsed).
    pub async fn feed(&self, cursor: u64) -> Result<api::FeedResponse, TeamError> {
        self.get(&format!("/feed?after={cursor}"), REPORT_BODY)
            .await
    }

    /// Adds a sealed event to a report; gives its sequence number.
    pub async fn append(&self, id: ReportId, sealed: &Sealed) -> Result<u32, TeamError> {
        let request = self
            .request(reqwest::Method::POST, &format!("/reports/{id}/events"))
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(sealed.as_bytes().to_vec());
        let answer: api::AppendResponse = json_capped(send(request).await?, SMALL_BODY).await?;
        Ok(answer.seq)
    }

    /// Adds sealed events to several reports in one atomic, durable batch (at most
    /// [`api::BATCH_EVENTS`], and [`api::BATCH_BYTES`] as JSON); gives each one's
    /// sequence number.
    pub async fn append_batch(&self, events: &[(ReportId, Sealed)]) -> Result<Vec<u32>, TeamError> {
        let body = api::BatchRequest {
            events: events
                .iter()
                .map(|(id, sealed)| api::BatchEvent {
                    report: *id,
                    sealed: api::encode(sealed.as_bytes()),
                })
                .collect(),
        };
        let request = self.request(reqwest::Method::POST, "/events").json(&body);
        let answer: api::BatchResponse = json_capped(send(request).await?, SMALL_BODY).await?;
        if answer.seqs.len() != events.len() {
            return Err(TeamError::BatchMismatch {
                sent: events.len(),
                stored: answer.seqs.len(),
            });
        }
        Ok(answer.seqs)
    }

    /// Starts downloading an attachment's ciphertext (the caller bounds what it reads).
    pub async fn download(
        &self,
        id: ReportId,
        blob: BlobId,
    ) -> Result<reqwest::Response, TeamError> {
        send(self.request(
            reqwest::Method::GET,
            &format!("/reports/{id}/attachments/{blob}"),
        ))
        .await
    }

    /// Removes a report and everything of it from the server.
    pub async fn purge(&self, id: ReportId) -> Result<(), TeamError> {
        send(self.request(reqwest::Method::DELETE, &format!("/reports/{id}")))
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::server_origin;

    #[test]
    fn plain_http_only_to_loopback_or_onion() {
        for (ok, origin) in [
            ("https://drop.example.com", "https://drop.example.com"),
            ("https://Drop.Example.com:443/", "https://drop.example.com"),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("http://localhost:8080/", "http://localhost:8080"),
            (
                "http://abcdefghij234567.onion",
                "http://abcdefghij234567.onion",
            ),
        ] {
            assert_eq!(server_origin(ok).unwrap(), origin, "{ok}");
        }
        for bad in [
            "http://drop.example.com",
            "http://127.0.0.1:1@evil.example/",
            "http://evil.example#.onion",
            "http://evil.example/?.onion",
            "https://user:pass@drop.example.com",
            "ftp://drop.example.com",
            "drop.example.com",
        ] {
            assert!(server_origin(bad).is_err(), "{bad}");
        }
    }
}
