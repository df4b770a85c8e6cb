//! Events: the age header check of a sealed event a member sends (`Sealed::parse`, as
//! `POST /api/v1/reports/{id}/events` does), and the decoder of an opened event's
//! plaintext, a member's signed envelope or a bare event (`Opened::decode`), whose
//! result is re-encoded as the desk shows it to scripts.
#![no_main]

use agedrop::crypto::Sealed;
use agedrop::report::{Event, ForScripts, Opened};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Sealed::parse(data.to_vec());
    let _ = Event::decode(data);
    if let Ok(opened) = Opened::decode(data) {
        let _ = serde_json::to_vec(&ForScripts(&opened.event));
        let again = Event::decode(&opened.event.encode()).expect("an encoded event decodes");
        assert_eq!(again.at, opened.event.at);
    }
});
