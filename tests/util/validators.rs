//! The validators of exported advisories (`tests/validators/`, which also holds axe-core
//! for the accessibility audit): the BSI's CSAF validator
//! (secvisogram's csaf-validator-lib: the strict schema and every mandatory test) and ajv
//! with the OSV schema (`tests/fixtures/osv-schema.json`), run by node from the folder
//! `.ci/run` installs them into: `$AGEDROP_VALIDATORS`, or `validators` in the target
//! folder. Where they are missing the tests say SKIPPED, unless `AGEDROP_CI` is set (CI
//! installs them), where that fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::bin;

/// Which validator.
#[derive(Clone, Copy, Debug)]
pub enum Format {
    Csaf,
    Osv,
}

fn root() -> PathBuf {
    std::env::var_os("AGEDROP_VALIDATORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            // target/debug/agedrop → target/validators
            let bin = Path::new(bin());
            bin.parent().unwrap().parent().unwrap().join("validators")
        })
}

fn installed(root: &Path) -> bool {
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    node && root
        .join("node_modules/@secvisogram/csaf-validator-lib")
        .is_dir()
        && root.join("node_modules/ajv-formats").is_dir()
}

/// The folder the validators are installed in (axe-core for the accessibility audit
/// too), or `None` (with SKIPPED) where they are not and `AGEDROP_CI` is not set.
pub fn validators_dir() -> Option<PathBuf> {
    let root = root();
    if root.join("node_modules/axe-core/axe.min.js").is_file() {
        return Some(root);
    }
    assert!(
        std::env::var_os("AGEDROP_CI").is_none(),
        "axe-core is not installed in {} (`npm ci` of tests/validators there: see .ci/run)",
        root.display()
    );
    eprintln!(
        "SKIPPED: no axe-core; run `npm ci` of tests/validators into {} (as .ci/run does)",
        root.display()
    );
    None
}

/// Validates `json` as `format`: panics with what the validator said when it is not
/// valid; `false` (and SKIPPED on standard error) when the validators are not installed
/// here and `AGEDROP_CI` is not set.
#[track_caller]
pub fn validate(format: Format, json: &str) -> bool {
    let root = root();
    if !installed(&root) {
        assert!(
            std::env::var_os("AGEDROP_CI").is_none(),
            "the advisory validators are not installed in {} (node, and `npm ci` of \
             tests/validators there: see .ci/run)",
            root.display()
        );
        eprintln!(
            "SKIPPED: {format:?} validation; install node and run `npm ci` of tests/validators \
             into {} (as .ci/run does), or set AGEDROP_VALIDATORS",
            root.display()
        );
        return false;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("document.json");
    std::fs::write(&file, json).unwrap();
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/validators");
    let mut command = Command::new("node");
    command.env("AGEDROP_VALIDATORS", &root);
    match format {
        Format::Csaf => command.arg(scripts.join("csaf.mjs")).arg(&file),
        Format::Osv => command
            .arg(scripts.join("osv.mjs"))
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/osv-schema.json"))
            .arg(&file),
    };
    let out = command.output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{format:?} validation failed:\n{said}\nthe document:\n{json}"
    );
    assert!(said.contains("valid"), "{said}");
    true
}

/// An RFC 3339 time in UTC as OSV's schema writes it: `2026-11-25T16:32:13Z` (fraction
/// optional).
pub fn is_utc_timestamp(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes
            .get(range)
            .is_some_and(|b| b.iter().all(u8::is_ascii_digit))
    };
    let shape = bytes.len() >= 20
        && digits(0..4)
        && bytes[4] == b'-'
        && digits(5..7)
        && bytes[7] == b'-'
        && digits(8..10)
        && bytes[10] == b'T'
        && digits(11..13)
        && bytes[13] == b':'
        && digits(14..16)
        && bytes[16] == b':'
        && digits(17..19)
        && text.ends_with('Z')
        && (bytes.len() == 20 || (bytes[19] == b'.' && digits(20..bytes.len() - 1)));
    shape
        && time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).is_ok()
}

/// What the OSV schema requires of every record, checked here whether or not the
/// validators are installed: `id` with the `x_` prefix of a database OSV does not
/// aggregate, `modified` (and `published`) as UTC timestamps with `Z`.
#[track_caller]
pub fn check_osv_basics(record: &serde_json::Value) {
    let id = record["id"].as_str().expect("an id");
    let rest = id.strip_prefix("x_").unwrap_or_else(|| panic!("{id}"));
    let (name, entry) = rest.split_once('-').unwrap_or_else(|| panic!("{id}"));
    assert!(!name.is_empty() && !entry.is_empty(), "{id}");
    assert!(
        rest.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')),
        "{id}"
    );
    let modified = record["modified"].as_str().expect("modified");
    assert!(is_utc_timestamp(modified), "{modified}");
    if let Some(published) = record.get("published") {
        assert!(is_utc_timestamp(published.as_str().unwrap()), "{published}");
    }
    assert_eq!(record["schema_version"], "1.7.5");
}
