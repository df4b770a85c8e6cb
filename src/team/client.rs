//! The team API client: logs in with the member's identity, syncs sealed events, and
//! seals replies, status changes and notes on this machine before they are sent.

use std::io::Read;

use reqwest::StatusCode;
use zeroize::Zeroizing;

use crate::api::{self, ReportSummary};
use crate::crypto::{self, Sealed};
use crate::report::{Event, EventBody, Status, StatusChange, Text, now};

use super::{Identities, TeamError, Thread};

/// A logged-in connection to an agedrop server.
pub struct TeamClient {
    http: reqwest::Client,
    base: String,
    token: Zeroizing<String>,
    name: String,
}

/// Who team events are sealed to: the roster from the server, parsed.
pub struct Roster {
    members: Vec<api::TeamMember>,
    recipients: Vec<Box<dyn age::Recipient + Send + Sync>>,
    /// Hours within which the programme promises to acknowledge.
    pub acknowledge_hours: u32,
    /// Days of embargo the programme asks for.
    pub embargo_days: u32,
}

impl Roster {
    /// Every member, as the server's keys file lists them.
    pub fn members(&self) -> &[api::TeamMember] {
        &self.members
    }
}

fn net(e: reqwest::Error) -> TeamError {
    TeamError::Server(format!("cannot reach the server: {e}"))
}

/// Turns an error answer into a message that says what the server said.
async fn refusal(response: reqwest::Response) -> TeamError {
    let status = response.status();
    let said = response
        .json::<api::ErrorResponse>()
        .await
        .map(|e| super::print::terminal_safe(&e.error.chars().take(300).collect::<String>()))
        .unwrap_or_else(|_| status.to_string());
    match status {
        StatusCode::NOT_FOUND => TeamError::UnknownReport(said),
        StatusCode::UNAUTHORIZED => TeamError::Login(said),
        _ => TeamError::Server(format!("the server refused ({status}): {said}")),
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

/// Plain HTTP only where the transport is already private: loopback (an SSH tunnel,
/// the demo) or an onion service.
fn check_server_url(server: &str) -> Result<(), TeamError> {
    let bad = |why: &str| {
        TeamError::Server(format!(
            "`{}` is not a usable server address ({why}); expected https://host[:port]",
            super::print::terminal_safe(server)
        ))
    };
    let url = reqwest::Url::parse(server).map_err(|_| bad("not a URL"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("it carries a user name or password"));
    }
    let host = url.host_str().ok_or_else(|| bad("no host"))?;
    match url.scheme() {
        "https" => Ok(()),
        "http" => {
            let private = matches!(host, "127.0.0.1" | "localhost" | "[::1]" | "::1")
                || host.ends_with(".onion");
            if private {
                Ok(())
            } else {
                Err(TeamError::Server(format!(
                    "refusing plain http:// to {host}: the token would cross the network in \
                     the clear; use https://"
                )))
            }
        }
        _ => Err(bad(
            "only https:// (or http:// to loopback or an onion service)",
        )),
    }
}

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
        check_server_url(server)?;
        let http = builder.build().map_err(net)?;
        let base = format!("{}/api/v1", server.trim_end_matches('/'));
        if identities.recipients().is_empty() {
            return Err(TeamError::Identity(format!(
                "{} holds no identity whose recipient can log in (expected AGE-SECRET-KEY-1 lines)",
                identities.path().display()
            )));
        }
        let mut last = None;
        for recipient in identities.recipients() {
            match Self::try_login(&http, &base, identities, recipient).await {
                Ok((token, name)) => {
                    return Ok(TeamClient {
                        http,
                        base,
                        token,
                        name,
                    });
                }
                Err(e @ TeamError::Login(_)) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| TeamError::Login("login failed".into())))
    }

    async fn try_login(
        http: &reqwest::Client,
        base: &str,
        identities: &Identities,
        recipient: &str,
    ) -> Result<(Zeroizing<String>, String), TeamError> {
        let challenge: api::Challenge = send(http.post(format!("{base}/login/challenge")).json(
            &api::ChallengeRequest {
                recipient: recipient.to_string(),
            },
        ))
        .await?
        .json()
        .await
        .map_err(net)?;
        let sealed = api::decode(&challenge.sealed_nonce)
            .map(Sealed::from_stored)
            .ok_or_else(|| TeamError::Server("the challenge is not base64".into()))?;
        // A challenge this identity cannot open means the server sealed it to someone
        // else: answer anyway (with nothing), so the server decides.
        let nonce = crypto::open(&identities.as_refs(), &sealed)
            .map(|n| Zeroizing::new(hex::encode(&n[..])))
            .unwrap_or_default();
        let login: api::LoginResponse =
            send(http.post(format!("{base}/login")).json(&api::LoginRequest {
                challenge_id: challenge.challenge_id,
                nonce: nonce.to_string(),
            }))
            .await?
            .json()
            .await
            .map_err(net)?;
        Ok((Zeroizing::new(login.token), login.name))
    }

    /// The member's name from the server's keys file.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A request to `path` under the API, with the token.
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&*self.token)
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, TeamError> {
        send(self.request(reqwest::Method::GET, path))
            .await?
            .json()
            .await
            .map_err(net)
    }

    /// The team roster, for sealing.
    pub async fn roster(&self) -> Result<Roster, TeamError> {
        let team: api::TeamResponse = self.get("/team").await?;
        let recipients = team
            .members
            .iter()
            .map(|m| {
                crypto::parse_recipient(&m.recipient)
                    .map(|p| p.recipient)
                    .map_err(|e| {
                        TeamError::Server(format!("the server's roster has a bad recipient: {e}"))
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Roster {
            members: team.members,
            recipients,
            acknowledge_hours: team.acknowledge_hours,
            embargo_days: team.embargo_days,
        })
    }

    /// Every report's clear-text record.
    pub async fn reports(&self) -> Result<Vec<ReportSummary>, TeamError> {
        Ok(self.get::<api::ReportsResponse>("/reports").await?.reports)
    }

    /// One report's record and sealed events.
    pub async fn report(&self, id: &str) -> Result<api::ReportResponse, TeamError> {
        self.get(&format!("/reports/{id}")).await
    }

    /// One report, opened on this machine.
    pub async fn thread(&self, id: &str, identities: &Identities) -> Result<Thread, TeamError> {
        let report = self.report(id).await?;
        let mut sealed = Vec::with_capacity(report.events.len());
        for event in report.events {
            let bytes = api::decode(&event.sealed)
                .ok_or_else(|| TeamError::Server("an event is not base64".into()))?;
            sealed.push((event.seq, Sealed::from_stored(bytes)));
        }
        Thread::open(report.report.id, report.report.reporter, sealed, identities)
    }

    /// Feed entries after `cursor`.
    pub async fn feed(&self, cursor: u64) -> Result<api::FeedResponse, TeamError> {
        self.get(&format!("/feed?after={cursor}")).await
    }

    /// Adds a sealed event to a report; gives its sequence number.
    pub async fn append(&self, id: &str, sealed: &Sealed) -> Result<u32, TeamError> {
        let request = self
            .request(reqwest::Method::POST, &format!("/reports/{id}/events"))
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(sealed.as_bytes().to_vec());
        Ok(send(request)
            .await?
            .json::<api::AppendResponse>()
            .await
            .map_err(net)?
            .seq)
    }

    /// Seals `event` on this machine to the team and, unless it is team-only, the
    /// report's reporter; then appends it.
    async fn seal_and_append(
        &self,
        roster: &Roster,
        id: &str,
        event: Event,
        team_only: bool,
    ) -> Result<u32, TeamError> {
        let report = self.report(id).await?;
        let reporter = crypto::parse_recipient(&report.report.reporter)
            .map_err(|e| TeamError::Server(format!("the report's recipient is bad: {e}")))?;
        let mut to: Vec<&dyn age::Recipient> =
            roster.recipients.iter().map(|r| r.as_ref() as _).collect();
        if !team_only {
            to.push(reporter.recipient.as_ref());
        }
        let sealed = crypto::seal(&to, &event.encode())?;
        drop(event);
        self.append(&report.report.id, &sealed).await
    }

    /// A reply the reporter will read.
    pub async fn reply(&self, roster: &Roster, id: &str, text: &str) -> Result<u32, TeamError> {
        let event = Event::new(
            now(),
            EventBody::Reply(Text {
                author: self.name.clone(),
                text: text.to_string(),
            }),
        );
        self.seal_and_append(roster, id, event, false).await
    }

    /// A status change, with an optional note and disclosure date, shown to the reporter.
    pub async fn set_status(
        &self,
        roster: &Roster,
        id: &str,
        status: Status,
        note: &str,
        disclosure: &str,
    ) -> Result<u32, TeamError> {
        let event = Event::new(
            now(),
            EventBody::Status(StatusChange {
                author: self.name.clone(),
                status,
                note: note.to_string(),
                disclosure: disclosure.to_string(),
            }),
        );
        self.seal_and_append(roster, id, event, false).await
    }

    /// An internal note, sealed to the team only.
    pub async fn note(&self, roster: &Roster, id: &str, text: &str) -> Result<u32, TeamError> {
        let event = Event::new(
            now(),
            EventBody::Note(Text {
                author: self.name.clone(),
                text: text.to_string(),
            }),
        );
        self.seal_and_append(roster, id, event, true).await
    }

    /// Starts downloading an attachment's ciphertext; read it with
    /// [`TeamClient::read_chunk`].
    pub async fn download(&self, id: &str, blob: &str) -> Result<reqwest::Response, TeamError> {
        send(self.request(
            reqwest::Method::GET,
            &format!("/reports/{id}/attachments/{blob}"),
        ))
        .await
    }

    /// Downloads and decrypts a whole attachment into memory (for small files and tests;
    /// the desk streams to disk instead).
    pub async fn attachment_bytes(
        &self,
        id: &str,
        blob: &str,
        identities: &Identities,
    ) -> Result<Zeroizing<Vec<u8>>, TeamError> {
        let ciphertext = self.download(id, blob).await?.bytes().await.map_err(net)?;
        let mut reader = crypto::open_stream(&identities.as_refs(), &ciphertext[..])?;
        let mut plain = Zeroizing::new(Vec::new());
        reader
            .read_to_end(&mut plain)
            .map_err(|_| TeamError::Crypto(crypto::CryptoError::Open))?;
        Ok(plain)
    }

    /// Removes a report and everything of it from the server.
    pub async fn purge(&self, id: &str) -> Result<(), TeamError> {
        send(self.request(reqwest::Method::DELETE, &format!("/reports/{id}")))
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::check_server_url;

    #[test]
    fn plain_http_only_to_loopback_or_onion() {
        for ok in [
            "https://drop.example.com",
            "http://127.0.0.1:8080",
            "http://localhost:8080/",
            "http://abcdefghij234567.onion",
        ] {
            assert!(check_server_url(ok).is_ok(), "{ok}");
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
            assert!(check_server_url(bad).is_err(), "{bad}");
        }
    }
}
