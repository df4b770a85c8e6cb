//! The receipt code a reporter types at /check and /thread: `Receipt::parse` on any
//! text. Whatever it accepts must print back as a code that parses to the same code.
#![no_main]

use agedrop::crypto::Receipt;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    if let Ok(receipt) = Receipt::parse(input) {
        let code = receipt.code();
        let again = Receipt::parse(&code).expect("a printed code parses");
        assert_eq!(*again.code(), *code, "a printed code parses to itself");
    }
});
