//! `GET /healthz` for the operator's monitoring: 200 while reports are taken, 503 once
//! storage has failed, and nothing else in it.

use agedrop::store::StoreError;

use crate::util::*;

#[tokio::test]
async fn healthz_says_ok_until_storage_fails_and_nothing_more() {
    let app = TestApp::start();
    app.submit_simple("Counted nowhere").await;
    let ok = app.send(app.get("/healthz")).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body, "ok\n");
    assert_eq!(ok.header("cache-control"), "no-store");

    // A fatal storage error (what a full disk gives): the server is stopping.
    let _ = app
        .state()
        .storage_error(StoreError::Durability("the flush failed".into()));
    let failed = app.send(app.get("/healthz")).await;
    assert_eq!(failed.status, 503);
    assert!(!failed.body.contains("Counted nowhere"), "{}", failed.body);
    assert!(
        !failed.body.contains("flush"),
        "the detail is for the log: {}",
        failed.body
    );
}
