//! Bad input to `/submit`: each case gets a page that says what is wrong, with its own
//! status, and stores nothing. `ALL` is also sent to a real process (in `floods`), which
//! must keep an earlier report through all of it.

use crate::util::*;

/// Limits small enough to reach cheaply.
pub fn small_limits() -> Options {
    Options::limits(&[
        "max_upload_mib = 2",
        "max_file_mib = 1",
        "max_files = 3",
        "max_text_kib = 4",
        "max_line_chars = 50",
    ])
}

/// A report that would be fine.
fn fine() -> Vec<(&'static str, String)> {
    vec![("title", "ok title".into()), ("description", "ok".into())]
}

/// A fine report with these fields replaced.
fn with(changes: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut fields = fine();
    for (name, value) in changes {
        fields.retain(|(n, _)| n != name);
        fields.push((name, value.to_string()));
    }
    fields
}

/// A fine report with one file of `len` bytes named `name`.
fn with_file(name: &str, len: usize) -> reqwest::multipart::Form {
    form(&fine(), &[(name.to_string(), vec![b'x'; len])])
}

/// One bad submission and the answer it must get.
pub struct BadInput {
    pub name: &'static str,
    /// The request, made from a `POST /submit`.
    pub request: fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    pub status: u16,
    /// What the page tells the reporter.
    pub says: &'static str,
}

/// Sends a bad submission to a router of its own and checks the page and that nothing
/// was stored: no report, no attachment file.
async fn refused(case: &BadInput) {
    let app = TestApp::start_with(small_limits());
    let page = app.send((case.request)(app.post("/submit"))).await;
    page.assert(case.status, case.says);
    assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
    assert!(page.body.contains("nothing was stored"), "{}", page.body);
    assert!(!page.body.contains("receipt-code"));
    assert_eq!(app.state().store().reports().unwrap().len(), 0);
    // A file refused half-way is deleted when its sealing thread stops, which may be
    // just after the answer.
    let attachments = app.dir.path().join("data").join("attachments");
    for _ in 0..100 {
        if files_under(&attachments).is_empty() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("attachment files remain: {:?}", files_under(&attachments));
}

/// Each case: `name: status, what the page says, the request;`. Makes one test per
/// case and the list `ALL`.
macro_rules! bad_inputs {
    ($($(#[doc = $doc:expr])* $name:ident: $status:expr, $says:expr, $request:expr;)*) => {
        /// Every case, in order.
        pub const ALL: &[BadInput] = &[$(BadInput {
            name: stringify!($name),
            request: $request,
            status: $status,
            says: $says,
        }),*];
        $(
            $(#[doc = $doc])*
            #[tokio::test]
            async fn $name() {
                refused(&BadInput {
                    name: stringify!($name),
                    request: $request,
                    status: $status,
                    says: $says,
                })
                .await;
            }
        )*
    };
}

bad_inputs! {
    /// Declared up front: refused before any of it is read into storage.
    a_body_declared_larger_than_the_limit: 413,
        "This upload is larger than the 2 MiB the site accepts in one report.",
        |r| r.multipart(with_file("big.bin", 5 << 20));
    /// The body is within limits, one file in it is not.
    a_file_over_the_per_file_limit: 413,
        "Each file can be at most 1 MiB.",
        |r| r.multipart(with_file("big.bin", (1 << 20) + 10));
    files_together_over_the_upload_limit: 413,
        "The files sent at once can be at most 2 MiB in all.",
        |r| r.multipart(form(
            &fine(),
            &(0..3).map(|i| (format!("f{i}.bin"), vec![b'x'; 900 << 10])).collect::<Vec<_>>(),
        ));
    more_files_than_allowed: 413,
        "At most 3 files can be sent at once.",
        |r| r.multipart(form(
            &fine(),
            &(0..4).map(|i| (format!("f{i}.txt"), b"x".to_vec())).collect::<Vec<_>>(),
        ));
    a_long_text_over_its_limit: 413,
        "The field “Description” is longer than the 4 KiB this site accepts.",
        |r| r.multipart(form(&with(&[("description", &"y".repeat(5 * 1024))]), &[]));
    a_one_line_field_over_its_limit: 413,
        "The field “Title” is longer than 50 characters.",
        |r| r.multipart(form(&with(&[("title", &"t".repeat(51))]), &[]));
    text_that_is_not_utf8: 400,
        "The field “Description” is not valid UTF-8 text.",
        |r| r.multipart(
            reqwest::multipart::Form::new()
                .text("title", "fine")
                .part("description", reqwest::multipart::Part::bytes(vec![0xff, 0xfe, b'a'])),
        );
    a_report_without_a_description: 400,
        "Please describe the problem in the description field.",
        |r| r.multipart(form(&[("title", "only a title".into())], &[]));
    a_report_without_a_title: 400,
        "Please give the report a title.",
        |r| r.multipart(form(&[("description", "no title".into())], &[]));
    a_title_of_spaces: 400,
        "Please give the report a title.",
        |r| r.multipart(form(&with(&[("title", "   ")]), &[]));
    a_title_with_a_control_character: 400,
        "The field “Title” must be one line without control characters.",
        |r| r.multipart(form(&with(&[("title", "bell\u{7}")]), &[]));
    a_file_name_that_climbs_out_of_its_folder: 400,
        "The file name “../../etc/passwd” is not accepted",
        |r| r.multipart(with_file("../../etc/passwd", 1));
    a_file_name_of_two_dots: 400,
        "The file name “..” is not accepted",
        |r| r.multipart(with_file("..", 1));
    /// (Shown with the backslash doubled, as the terminal-safe excerpt writes it.)
    a_file_name_with_a_backslash: 400,
        "The file name “dir\\\\file” is not accepted",
        |r| r.multipart(with_file("dir\\file", 1));
    /// Shown with the reversing character made visible, not obeyed.
    a_file_name_that_reverses_its_text: 400,
        "The file name “x\\u{202e}txt.exe” is not accepted",
        |r| r.multipart(with_file("x\u{202E}txt.exe", 1));
    /// A control character cannot even travel in a multipart header.
    a_file_name_with_a_control_character: 400,
        "a file name with control characters",
        |r| r.multipart(with_file("a\u{1}b.txt", 1));
    a_file_without_a_name: 400,
        "An attachment arrived without a file name.",
        |r| r.multipart(
            reqwest::multipart::Form::new()
                .text("title", "t")
                .text("description", "d")
                .part("files", reqwest::multipart::Part::bytes(b"x".to_vec())),
        );
    a_field_nobody_asked_for: 400,
        "The form sent a field this site does not know (`admin`).",
        |r| r.multipart(form(&with(&[("admin", "1")]), &[]));
    a_field_sent_twice: 400,
        "The field `title` was sent twice.",
        |r| r.multipart(form(&[("title", "a".into()), ("title", "b".into())], &[]));
    /// Both boxes under "Before you send" are required (browsers that skip `required`
    /// and scripts get this page).
    a_report_without_the_confirmations: 400,
        "Please confirm both statements under “Before you send”: that the report is about \
         one finding, and that you tested within the rules of the policy.",
        |r| r.multipart(bare_form(&fine(), &[]));
    a_report_with_one_confirmation: 400,
        "Please confirm both statements under “Before you send”",
        |r| r.multipart(bare_form(&with(&[("confirm_one_finding", "yes")]), &[]));
    a_severity_that_is_not_a_vector: 400,
        "The field “Your severity estimate (CVSS vector)” is not a CVSS v3.1 or v4.0 \
         vector: it does not start with CVSS:3.1/ or CVSS:4.0/",
        |r| r.multipart(form(&with(&[("severity_vector", "9.8 critical")]), &[]));
    a_severity_vector_with_a_bad_value: 400,
        "is not a CVSS v3.1 or v4.0 vector: invalid CVSSv3 AV (Attack Vector) metric",
        |r| r.multipart(form(
            &with(&[("severity_vector", "CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")]),
            &[],
        ));
    a_severity_vector_without_its_base_metrics: 400,
        "is not a CVSS v3.1 or v4.0 vector: it lacks the base metric(s) PR, UI, S, C, I, A",
        |r| r.multipart(form(&with(&[("severity_vector", "CVSS:3.1/AV:N/AC:L")]), &[]));
    a_weakness_that_is_almost_a_cwe_id: 400,
        "The field “Weakness” was not accepted: it starts like a CWE id but is not one",
        |r| r.multipart(form(&with(&[("weakness", "CWE-7x")]), &[]));
    an_asset_the_programme_does_not_list: 400,
        "“intranet” is not in this programme&#39;s list of assets",
        |r| r.multipart(form(&with(&[("asset", "intranet")]), &[]));
    something_else_without_saying_what: 400,
        "You chose “Something else” as the affected asset: please name it",
        |r| r.multipart(form(&with(&[("asset", "*")]), &[]));
    an_ai_answer_that_is_neither_yes_nor_no: 400,
        "The answer to “Did you use AI tools” must be yes, no, or left unanswered.",
        |r| r.multipart(form(&with(&[("ai_used", "maybe")]), &[]));
    a_form_that_is_not_multipart: 400,
        "The form did not arrive as a file upload form.",
        |r| r.header("content-type", "application/x-www-form-urlencoded").body("title=x");
}
