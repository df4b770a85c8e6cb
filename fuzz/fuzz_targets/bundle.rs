//! An exported bundle (`agedrop team --bundle FILE`), read from bytes: `Bundle::read`
//! (the tar file and its JSON index), then every report the index lists as the desk
//! reads it (`Inbox::report`: the order of events, base64, each age header).
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use agedrop::team::{Bundle, Inbox};
use libfuzzer_sys::fuzz_target;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(bundle) = Bundle::read(Path::new("fuzz.bundle"), data) else {
        return;
    };
    runtime().block_on(async {
        let _ = bundle.roster().await;
        let _ = bundle.promises().await;
        let _ = bundle.closing().await;
        let _ = bundle.publisher().await;
        for summary in bundle.summaries().await.unwrap_or_default() {
            let _ = bundle.report(summary.id).await;
        }
    });
});
