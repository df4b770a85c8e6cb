use crate::util::*;

fn small_limits() -> Options {
    Options::limits(&[
        "max_upload_mib = 2",
        "max_file_mib = 1",
        "max_files = 3",
        "max_text_kib = 4",
        "max_line_chars = 50",
    ])
}

fn basic() -> Vec<(&'static str, String)> {
    vec![("title", "ok title".into()), ("description", "ok".into())]
}

async fn post(server: &TestServer, form: reqwest::multipart::Form) -> (u16, String) {
    let response = client()
        .post(server.at("/submit"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().await.unwrap();
    assert_eq!(
        headers.get("content-type").unwrap(),
        "text/html; charset=utf-8"
    );
    (status, body)
}

#[tokio::test]
async fn bad_input_gets_a_clear_page_and_costs_nothing() {
    let mut server = TestServer::start_with(small_limits());
    let earlier = submit_simple(&server, "Earlier report").await;

    // A body over the limit, declared up front.
    let huge = vec![0u8; 5 * 1024 * 1024];
    let (status, page) = post(&server, form(&basic(), &[("big.bin".into(), huge)])).await;
    assert_eq!(status, 413, "{page}");
    assert!(page.contains("larger than"), "{page}");

    // One file over the per-file limit (the body itself is within limits).
    let (status, page) = post(
        &server,
        form(&basic(), &[("big.bin".into(), vec![1u8; 1024 * 1024 + 10])]),
    )
    .await;
    assert_eq!(status, 413);
    assert!(page.contains("Each file can be at most 1 MiB"), "{page}");

    // Too many files.
    let files: Vec<(String, Vec<u8>)> = (0..4)
        .map(|i| (format!("f{i}.txt"), vec![b'x'; 10]))
        .collect();
    let (status, page) = post(&server, form(&basic(), &files)).await;
    assert_eq!(status, 413);
    assert!(page.contains("At most 3 files"), "{page}");

    // Over-long fields: a long text field and a one-line field.
    let mut fields = basic();
    fields[1].1 = "y".repeat(5 * 1024);
    let (status, page) = post(&server, form(&fields, &[])).await;
    assert_eq!(status, 413);
    assert!(page.contains("Description"), "{page}");
    let mut fields = basic();
    fields[0].1 = "t".repeat(51);
    let (status, page) = post(&server, form(&fields, &[])).await;
    assert_eq!(status, 413);
    assert!(page.contains("Title"), "{page}");

    // Invalid UTF-8 in a text field.
    let bad = reqwest::multipart::Form::new().text("title", "fine").part(
        "description",
        reqwest::multipart::Part::bytes(vec![0xff, 0xfe, b'a']),
    );
    let (status, page) = post(&server, bad).await;
    assert_eq!(status, 400);
    assert!(page.contains("not valid UTF-8"), "{page}");

    // Missing required fields.
    let (status, page) = post(&server, form(&[("title", "only a title".into())], &[])).await;
    assert_eq!(status, 400);
    assert!(page.contains("describe the problem"), "{page}");
    let (status, page) = post(&server, form(&[("description", "no title".into())], &[])).await;
    assert_eq!(status, 400);
    assert!(page.contains("title"), "{page}");

    // File names that try to be paths, or carry control characters.
    for name in [
        "../../etc/passwd",
        "a\u{1}b.txt",
        "x\u{202E}txt.exe",
        "..",
        "dir\\file",
    ] {
        let (status, page) = post(&server, form(&basic(), &[(name.into(), b"x".to_vec())])).await;
        assert_eq!(status, 400, "{name:?}");
        // A control character cannot even travel in a multipart header.
        let expected = if name.contains('\u{1}') {
            "file name with control characters"
        } else {
            "is not accepted"
        };
        assert!(page.contains(expected), "{name:?}: {page}");
    }

    // A title with a control character.
    let mut fields = basic();
    fields[0].1 = "bell\u{7}".into();
    let (status, _) = post(&server, form(&fields, &[])).await;
    assert_eq!(status, 400);

    // A field nobody asked for, and a body that is not multipart at all.
    let (status, _) = post(
        &server,
        form(&[("title", "x".into()), ("admin", "1".into())], &[]),
    )
    .await;
    assert_eq!(status, 400);
    let response = client()
        .post(server.at("/submit"))
        .body("title=x")
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);

    // The server is still serving, and the earlier report is intact, also after a restart.
    assert!(server.is_running());
    let (status, page) = check(&server, &earlier).await;
    assert_eq!(status, 200);
    assert!(page.contains("Earlier report"));
    let ok = submit_simple(&server, "Still accepting").await;
    server.restart();
    assert_eq!(check(&server, &earlier).await.0, 200);
    assert_eq!(check(&server, &ok).await.0, 200);
    assert!(!server.log_text().contains("panicked"));
}
