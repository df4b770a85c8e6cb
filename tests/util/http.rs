//! HTTP as a browser with JavaScript off speaks it to a real server: forms, receipt
//! codes, sessions, and uploads sent a piece at a time.

use std::time::Duration;

use super::TestServer;

/// A client like a browser with JavaScript off: no redirects followed automatically
/// (tests look at each answer), no proxy, a cookie store.
pub fn client() -> reqwest::Client {
    client_builder().build().unwrap()
}

/// The builder behind [`client`], for tests that change something.
pub fn client_builder() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(120))
}

/// The fields of a complete report, each holding `canary` plus its own name.
pub fn report_fields(canary: &str) -> Vec<(&'static str, String)> {
    [
        "title",
        "product",
        "versions",
        "description",
        "steps",
        "expected",
        "actual",
        "impact",
        "contact",
        "credit_name",
        "credit_handle",
        "credit_link",
        "asset_other",
        "weakness",
        "how_found",
        "ai_how",
    ]
    .into_iter()
    .map(|name| (name, format!("{canary}-{name}")))
    .collect()
}

/// The two boxes every report must tick (the form's "Before you send").
pub const CONFIRMATIONS: [(&str, &str); 2] = [
    ("confirm_one_finding", "yes"),
    ("confirm_within_rules", "yes"),
];

/// A multipart form with the given text fields and files (name, bytes), and the two
/// confirmations ticked (unless `fields` sends them itself).
pub fn form(
    fields: &[(&'static str, String)],
    files: &[(String, Vec<u8>)],
) -> reqwest::multipart::Form {
    let mut form = bare_form(fields, files);
    for (name, value) in CONFIRMATIONS {
        if !fields.iter().any(|(n, _)| *n == name) {
            form = form.text(name, value);
        }
    }
    form
}

/// A multipart form with exactly the given text fields and files (name, bytes).
pub fn bare_form(
    fields: &[(&'static str, String)],
    files: &[(String, Vec<u8>)],
) -> reqwest::multipart::Form {
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in fields {
        form = form.text(*name, value.clone());
    }
    for (name, bytes) in files {
        form = form.part(
            "files",
            reqwest::multipart::Part::bytes(bytes.clone())
                .file_name(name.clone())
                .mime_str("application/octet-stream")
                .unwrap(),
        );
    }
    form
}

/// Sends a request; the status and the body.
pub async fn fetch(request: reqwest::RequestBuilder) -> (u16, String) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// Posts a report with these text fields and files (name, bytes); the answer.
pub async fn submit_form(
    server: &TestServer,
    fields: &[(&'static str, String)],
    files: &[(String, Vec<u8>)],
) -> reqwest::Response {
    client()
        .post(server.at("/submit"))
        .multipart(form(fields, files))
        .send()
        .await
        .unwrap()
}

/// Submits a minimal report and returns the receipt code.
pub async fn submit_simple(server: &TestServer, title: &str) -> String {
    let page = try_submit(server, title).await;
    assert_eq!(page.status(), 200);
    receipt_code(&page.text().await.unwrap())
}

/// Posts a report with only a title and a description; the answer, whatever it is.
pub async fn try_submit(server: &TestServer, title: &str) -> reqwest::Response {
    let fields = [("title", title.to_string()), ("description", "d".into())];
    submit_form(server, &fields, &[]).await
}

/// A well-formed receipt code (valid checksum) that opens nothing anywhere.
pub fn unknown_code() -> String {
    agedrop::crypto::Receipt::generate()
        .unwrap()
        .code()
        .to_string()
}

/// The code inside `<code id="receipt-code">`.
pub fn receipt_code(html: &str) -> String {
    let start = html
        .find("<code id=\"receipt-code\">")
        .unwrap_or_else(|| panic!("no receipt code in page:\n{html}"))
        + "<code id=\"receipt-code\">".len();
    let end = html[start..].find("</code>").unwrap() + start;
    html[start..end].to_string()
}

/// Posts a receipt code to /check; on success follows the redirect to the thread.
/// Returns (status, page) of the last answer.
pub async fn check(server: &TestServer, code: &str) -> (u16, String) {
    let (_, status, page) = login(server, code).await;
    (status, page)
}

/// As [`check`], also giving the client that holds the session cookie.
pub async fn login(server: &TestServer, code: &str) -> (reqwest::Client, u16, String) {
    let c = client_builder().cookie_store(true).build().unwrap();
    let response = c
        .post(server.at("/check"))
        .form(&[("receipt", code)])
        .send()
        .await
        .unwrap();
    if response.status() == 303 {
        assert_eq!(response.headers()["location"], "/thread");
        let thread = c.get(server.at("/thread")).send().await.unwrap();
        let status = thread.status().as_u16();
        let page = thread.text().await.unwrap();
        return (c, status, page);
    }
    let status = response.status().as_u16();
    (c, status, response.text().await.unwrap())
}

/// The value of `<input type="hidden" name="csrf" value="…">` in a page.
pub fn csrf(page: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker).expect("no CSRF token in the page") + marker.len();
    let end = page[start..].find('"').unwrap() + start;
    page[start..end].to_string()
}

/// A report written by hand as multipart with `boundary`, so that a test controls when
/// each byte is sent: the head (the title, a description, the header of a file part
/// "slow.bin"), `file_len` bytes of the file, and the closing boundary.
pub fn multipart_parts(boundary: &str, title: &str, file_len: usize) -> [Vec<u8>; 3] {
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n{title}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\nd\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"confirm_one_finding\"\r\n\r\nyes\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"confirm_within_rules\"\r\n\r\nyes\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"slow.bin\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    );
    let tail = format!("\r\n--{boundary}--\r\n");
    [head.into_bytes(), vec![b'z'; file_len], tail.into_bytes()]
}

/// Posts a multipart body (with `boundary`) to `/submit` from `stream`, declaring
/// `length` bytes; the answer, or the error if the server cut the connection.
pub async fn submit_stream<S>(
    server: &TestServer,
    boundary: &str,
    length: usize,
    stream: S,
) -> reqwest::Result<reqwest::Response>
where
    S: futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + Sync + 'static,
{
    client()
        .post(server.at("/submit"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .header("content-length", length)
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
}

/// Posts `pieces` of a multipart body (with `boundary`) to `/submit`, waiting `delay`
/// before each: a slow client.
pub async fn submit_slowly(
    server: &TestServer,
    boundary: &str,
    pieces: Vec<Vec<u8>>,
    delay: Duration,
) -> reqwest::Response {
    let total: usize = pieces.iter().map(|p| p.len()).sum();
    let stream = futures_util::StreamExt::then(
        futures_util::stream::iter(pieces),
        move |piece| async move {
            tokio::time::sleep(delay).await;
            Ok::<_, std::io::Error>(piece)
        },
    );
    submit_stream(server, boundary, total, stream)
        .await
        .unwrap()
}

/// The reporter's page for `code`, after logging in; the client holds the session.
pub async fn reporter_page(server: &TestServer, code: &str) -> (reqwest::Client, String) {
    let (client, status, page) = login(server, code).await;
    assert_eq!(status, 200, "{page}");
    (client, page)
}

/// The reporter posts a form of their page (multipart, as the browser sends it): the
/// CSRF token of `page`, then these fields. The status and the body.
pub async fn post_thread(
    server: &TestServer,
    client: &reqwest::Client,
    page: &str,
    fields: &[(&str, &str)],
) -> (u16, String) {
    let mut form = reqwest::multipart::Form::new().text("csrf", csrf(page));
    for (name, value) in fields {
        form = form.text(name.to_string(), value.to_string());
    }
    fetch(client.post(server.at("/thread")).multipart(form)).await
}
