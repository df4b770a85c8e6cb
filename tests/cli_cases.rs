//! The command line's behaviour as data, run by trycmd: `tests/cmd/desk.trycmd`, a
//! narrative over a fixed offline bundle (`tests/cmd/desk.in/`), and one case per file
//! in `tests/cmd/keygen/` and `tests/cmd/serve/` (as rage's `tests/cmd/` has them), each
//! with its arguments, expected output, exit status and files beside it.

use agedrop::crypto::{Receipt, TeamKeys};
use agedrop::report::{Attachment, Event, EventBody, Status, StatusChange, Submission, Text};
use agedrop::store::{NewEvent, Store, StoreOptions};

use crate::util::bin;

#[test]
fn cli_cases() {
    let home = tempfile::tempdir().unwrap();
    let h = |sub: &str| home.path().join(sub).display().to_string();
    trycmd::TestCases::new()
        .register_bin("agedrop", std::path::Path::new(bin()))
        // Nothing of the developer's own setup may leak in.
        .env("HOME", h("home"))
        .env("XDG_CONFIG_HOME", h("config"))
        .env("XDG_STATE_HOME", h("state"))
        .env("XDG_CACHE_HOME", h("cache"))
        .env("AGEDROP_SERVER", "")
        .env("AGEDROP_IDENTITY", "")
        .env("NO_COLOR", "1")
        // A refusal that regressed into a running server must not hang the suite.
        .timeout(std::time::Duration::from_secs(30))
        .case("tests/cmd/*.trycmd")
        .case("tests/cmd/*/*.toml");
}

/// A new reporter: the lookup key and the recipient a receipt code gives.
fn new_reporter() -> (
    agedrop::crypto::LookupKey,
    agedrop::crypto::ReporterRecipient,
) {
    let (lookup, reporter) = Receipt::generate().unwrap().derive().unwrap();
    (lookup, reporter.recipient())
}

/// Seals `bytes` into a new attachment file of `store` under a key of its own; the file
/// (to commit with its event) and the attachment event's body.
fn stored_file(
    store: &Store,
    name: &str,
    bytes: &[u8],
) -> (agedrop::store::PendingBlob, Attachment) {
    let file_key = agedrop::crypto::AttachmentKey::generate();
    let mut sealer = agedrop::crypto::blob_sealer(&file_key, store.new_blob().unwrap()).unwrap();
    sealer.write(bytes).unwrap();
    let blob = sealer.finish().unwrap();
    let attachment = Attachment {
        name: name.into(),
        media_type: "text/plain".into(),
        size: bytes.len() as u64,
        sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes)),
        blob: blob.id().to_string(),
        key: file_key.to_text().to_string(),
    };
    (blob, attachment)
}

/// Writes `tests/cmd/desk.in/`: two identities and a bundle of three reports with fixed
/// times. Not a test: run it by hand when the bundle format changes, then update the
/// expected outputs (`TRYCMD=overwrite cargo test cli_cases`) and review them. The
/// committed bundle was written before the coordinated-disclosure states (its status
/// changes say `acknowledged` and `fixed`, and a bare date): keeping it shows that old
/// events still read.
#[tokio::test]
#[ignore = "regenerates the committed fixture; run by hand"]
async fn regenerate_cli_fixture() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cmd/desk.in");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let alice = crate::util::keygen(&dir, "alice");
    crate::util::keygen(&dir, "stranger");
    std::fs::rename(dir.join("alice.identity"), dir.join("alice.key")).unwrap();
    std::fs::rename(dir.join("stranger.identity"), dir.join("stranger.key")).unwrap();
    std::fs::write(dir.join("alice.pub"), format!("{}\n", alice.recipient)).unwrap();
    let keys = TeamKeys::parse(&format!("# Alice Example\n{}\n", alice.line)).unwrap();
    let alice_ids = agedrop::team::Identities::load(&dir.join("alice.key")).unwrap();
    let signing = alice_ids.signing_key().unwrap();

    let data = tempfile::tempdir().unwrap();
    let store = Store::open(
        data.path(),
        &StoreOptions {
            cache_bytes: 8 << 20,
            reserve_bytes: 0,
            sweep: false,
        },
    )
    .unwrap();
    let day = |d: &str| {
        time::OffsetDateTime::parse(d, &time::format_description::well_known::Rfc3339)
            .unwrap()
            .unix_timestamp()
    };
    let team = |at: &str, body: EventBody, to_reporter: Option<&age::x25519::Recipient>| NewEvent {
        sealed: keys
            .seal(to_reporter, &Event::new(day(at), body).encode())
            .unwrap(),
        blob: None,
    };
    // As Alice's desk writes them: signed over the report id and the event.
    let signed =
        |id: &str, at: &str, body: EventBody, to: Option<&age::x25519::Recipient>| NewEvent {
            sealed: keys
                .seal(to, &Event::new(day(at), body).encode_signed(id, signing))
                .unwrap(),
            blob: None,
        };

    // A report the team has answered.
    let (lookup, r) = new_reporter();
    let mut s = Submission::default();
    s.title = "SQL injection in /search".into();
    s.product = "Example Shop".into();
    s.versions = "2.4.1".into();
    s.description = "The q parameter reaches the database unescaped.".into();
    s.steps = "1. Open /search?q='\n2. See the SQL error".into();
    s.impact = "Read any table.".into();
    s.credit.handle = "@finder".into();
    s.reporter = r.to_string();
    let (blob, attachment) = stored_file(&store, "poc.txt", b"GET /search?q=' OR 1=1 --\n");
    let id = store
        .create_report(
            &lookup,
            &r,
            vec![
                team(
                    "2025-01-15T10:00:00Z",
                    EventBody::Submitted(Box::new(s)),
                    Some(&r),
                ),
                NewEvent {
                    blob: Some(blob),
                    ..team(
                        "2025-01-15T10:00:00Z",
                        EventBody::Attachment(attachment),
                        Some(&r),
                    )
                },
            ],
        )
        .await
        .unwrap();
    let rid = id.to_string();
    store
        .append(
            id,
            vec![
                signed(
                    &rid,
                    "2025-01-16T08:00:00Z",
                    EventBody::Reply(Text {
                        author: "Alice Example".into(),
                        text: "Thank you, we can reproduce it.".into(),
                    }),
                    Some(&r),
                ),
                signed(
                    &rid,
                    "2025-01-16T08:01:00Z",
                    EventBody::Status(StatusChange {
                        author: "Alice Example".into(),
                        status: Status::Valid,
                        note: "Fix planned for 2.4.2.".into(),
                        disclosure: agedrop::report::parse_instant("2025-04-15"),
                        reason: None,
                        advisory: String::new(),
                    }),
                    Some(&r),
                ),
                signed(
                    &rid,
                    "2025-01-16T08:02:00Z",
                    EventBody::Note(Text {
                        author: "Alice Example".into(),
                        text: "Bob owns the search service.".into(),
                    }),
                    None,
                ),
                // What a compromised server could add: words in Alice's name, unsigned,
                // and a status change that must not count.
                team(
                    "2025-01-17T09:00:00Z",
                    EventBody::Status(StatusChange {
                        author: "Alice Example".into(),
                        status: Status::FixReady,
                        note: "Forged: it is all fixed, publish now.".into(),
                        disclosure: None,
                        reason: None,
                        advisory: String::new(),
                    }),
                    Some(&r),
                ),
            ],
        )
        .await
        .unwrap();

    // A report nobody has acknowledged: long overdue.
    let (lookup, r) = new_reporter();
    let mut s = Submission::default();
    s.title = "Open redirect after login".into();
    s.description = "/login?next=https://evil.example is followed.".into();
    s.credit.declined = true;
    s.reporter = r.to_string();
    store
        .create_report(
            &lookup,
            &r,
            vec![team(
                "2025-02-01T09:30:00Z",
                EventBody::Submitted(Box::new(s)),
                Some(&r),
            )],
        )
        .await
        .unwrap();

    // What a hostile server could send: terminal escapes and path-like names.
    let (lookup, r) = new_reporter();
    let mut s = Submission::default();
    s.title = "Escapes \u{1b}[31mred\u{1b}[0m and \u{202e}txt.exe".into();
    s.description = "Line one\n\u{1b}]0;pwned\u{7}line two".into();
    let (blob, hostile) = stored_file(&store, "../../.bashrc", b"dotfile");
    store
        .create_report(
            &lookup,
            &r,
            vec![
                team(
                    "2025-02-10T12:00:00Z",
                    EventBody::Submitted(Box::new(s)),
                    Some(&r),
                ),
                NewEvent {
                    blob: Some(blob),
                    ..team(
                        "2025-02-10T12:00:00Z",
                        EventBody::Attachment(hostile),
                        Some(&r),
                    )
                },
            ],
        )
        .await
        .unwrap();

    agedrop::team::export(
        &store,
        &keys,
        &agedrop::team::Exported {
            origin: Some("https://security.example.com".into()),
            promises: agedrop::report::Promises::default(),
            closing: None,
            name: "Example Security".into(),
        },
        "2025-03-01T00:00:00Z",
        &dir.join("desk.bundle"),
    )
    .unwrap();
}
