//! Notices by e-mail: SMTP with STARTTLS (required, never optional) or implicit TLS,
//! through lettre over rustls. The password is read from its file once, at start.

use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{Notice, SetupError};
use crate::config::{Smtp, SmtpTls};

/// How long one SMTP conversation may stall.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The mail server and the envelope.
pub(super) struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    host: String,
    from: Mailbox,
    to: Vec<Mailbox>,
}

fn setup(setting: &'static str, message: impl Into<String>) -> SetupError {
    SetupError {
        setting,
        message: message.into(),
    }
}

impl Mailer {
    pub(super) fn new(smtp: &Smtp) -> Result<Mailer, SetupError> {
        let mut tls = TlsParameters::builder(smtp.host.clone());
        if let Some(path) = &smtp.ca_file {
            let pem = std::fs::read(path).map_err(|e| {
                setup(
                    "notify.smtp.ca_file",
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            let ca = Certificate::from_pem(&pem).map_err(|e| {
                setup(
                    "notify.smtp.ca_file",
                    format!("{} is not a PEM certificate: {e}", path.display()),
                )
            })?;
            tls = tls
                .certificate_store(CertificateStore::None)
                .add_root_certificate(ca);
        }
        let tls = tls
            .build_rustls()
            .map_err(|e| setup("notify.smtp", format!("cannot set up TLS: {e}")))?;
        let tls = match smtp.tls {
            SmtpTls::Starttls => Tls::Required(tls),
            SmtpTls::Tls => Tls::Wrapper(tls),
        };
        let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
            .port(smtp.port())
            .tls(tls)
            .timeout(Some(TIMEOUT));
        if !smtp.username.is_empty() {
            let password = match &smtp.password_file {
                Some(path) => read_password(path)?,
                None => {
                    return Err(setup(
                        "notify.smtp.password_file",
                        "username is set, so name the file holding its password",
                    ));
                }
            };
            transport = transport.credentials(Credentials::new(smtp.username.clone(), password));
        }
        let mailbox = |setting, text: &str| {
            text.parse::<Mailbox>()
                .map_err(|_| setup(setting, "is not an e-mail address"))
        };
        Ok(Mailer {
            transport: transport.build(),
            host: smtp.host.clone(),
            from: mailbox("notify.smtp.from", &smtp.from)?,
            to: smtp
                .to
                .iter()
                .map(|a| mailbox("notify.smtp.to", a))
                .collect::<Result<_, _>>()?,
        })
    }

    /// "e-mail (smtp.example.com)".
    pub(super) fn name(&self) -> String {
        format!("e-mail ({})", self.host)
    }

    pub(super) async fn send(&self, notice: &Notice, link: Option<&str>) -> Result<(), String> {
        let mut message = Message::builder()
            .from(self.from.clone())
            .subject(notice.subject())
            .header(ContentType::TEXT_PLAIN);
        for to in &self.to {
            message = message.to(to.clone());
        }
        let message = message
            .body(format!("{}\n", notice.text(link)))
            .map_err(|e| format!("cannot build the message: {e}"))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// The password: the file's first line.
fn read_password(path: &std::path::Path) -> Result<String, SetupError> {
    let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
        setup(
            "notify.smtp.password_file",
            format!("cannot read {}: {e}", path.display()),
        )
    })?);
    let password = text.lines().next().unwrap_or_default();
    if password.is_empty() {
        return Err(setup(
            "notify.smtp.password_file",
            format!("{} is empty", path.display()),
        ));
    }
    Ok(password.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smtp(extra: &str) -> Smtp {
        let text = format!(
            "[notify.smtp]\nhost = \"127.0.0.1\"\nfrom = \"a@example.com\"\n\
             to = [\"b@example.com\"]\n{extra}"
        );
        crate::config::Config::parse(&text, "t.toml")
            .unwrap()
            .notify
            .smtp
            .unwrap()
    }

    fn refused(extra: &str) -> SetupError {
        match Mailer::new(&smtp(extra)) {
            Err(e) => e,
            Ok(_) => panic!("accepted: {extra}"),
        }
    }

    #[test]
    fn secrets_and_certificates_are_read_at_start_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let e = refused(&format!("username = \"u\"\npassword_file = {missing:?}"));
        assert_eq!(e.setting, "notify.smtp.password_file");
        assert_eq!(
            refused("username = \"u\"").setting,
            "notify.smtp.password_file"
        );
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let e = refused(&format!("username = \"u\"\npassword_file = {empty:?}"));
        assert!(e.message.contains("is empty"), "{e}");
        let e = refused(&format!("ca_file = {missing:?}"));
        assert_eq!(e.setting, "notify.smtp.ca_file");
        let password = dir.path().join("password");
        std::fs::write(&password, "hunter2\n").unwrap();
        let ca = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tls-ca.pem");
        let mailer = Mailer::new(&smtp(&format!(
            "username = \"u\"\npassword_file = {password:?}\nca_file = {ca:?}"
        )))
        .unwrap();
        assert_eq!(mailer.name(), "e-mail (127.0.0.1)");
    }
}
