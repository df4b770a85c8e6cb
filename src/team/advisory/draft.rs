//! The advisory as a member edits it: TOML with a comment before each part saying what
//! goes there, written from the current revision (or drafted from the report), and read
//! back strictly: an unknown key (a typo) or a value OSV and CSAF cannot carry is refused
//! with its place named, before anything is signed.

use std::fmt::Write;

use zeroize::Zeroizing;

use crate::report::{Advisory, is_contact_url, score};
use crate::text::one_line;

use super::osv::known_ecosystem;

const TOP: &[&str] = &[
    "title",
    "weakness",
    "severity",
    "aliases",
    "references",
    "description",
    "impact",
    "workarounds",
    "fix",
    "affected",
    "credits",
];
const AFFECTED: &[&str] = &["product", "ecosystem", "versions", "introduced", "fixed"];
const CREDITS: &[&str] = &["type", "name", "contact", "reporter"];

/// The TOML a member edits: `heading` (one or more lines, made safe) as comments, then
/// every field of `a` with what goes there.
pub fn write_draft(heading: &str, a: &Advisory) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::new());
    for line in heading.lines() {
        let _ = writeln!(out, "# {}", one_line(line));
    }
    out.push_str(
        "# Lines starting with # are comments. Posting adds a revision, signed by you and\n\
         # sealed to the team and the reporter, who sees it on their page as a draft to\n\
         # review. Leave the file empty to send nothing.\n\n",
    );
    let _ = writeln!(out, "title = {}", basic(&a.title));
    out.push_str(
        "# CWE-79, or \"CWE-79: <its exact name in the CWE list>\" (then CSAF names the CWE),\n\
         # or words.\n",
    );
    let _ = writeln!(out, "weakness = {}", basic(&a.weakness));
    out.push_str(
        "# A CVSS v3.0, v3.1 or v4.0 vector, e.g. CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\n",
    );
    let _ = writeln!(out, "severity = {}", basic(&a.severity));
    out.push_str("# Other ids of the same vulnerability, e.g. [\"CVE-2026-12345\"].\n");
    let _ = writeln!(out, "aliases = {}", array(&a.aliases));
    out.push_str("# Links with more: the fix, the release notes (https://…).\n");
    let _ = writeln!(out, "references = {}", array(&a.references));
    for (key, text) in [
        ("description", &a.description),
        ("impact", &a.impact),
        ("workarounds", &a.workarounds),
        ("fix", &a.fix),
    ] {
        let _ = writeln!(out, "\n{key} = {}", multi_line(text));
    }
    out.push_str(
        "\n# One [[affected]] table per product. versions: each affected version; introduced\n\
         # and fixed give a range (introduced = \"0\": every version before fixed). ecosystem:\n\
         # the OSV ecosystem of a published package (crates.io, npm, PyPI, …), else empty.\n",
    );
    if a.affected.is_empty() {
        out.push_str(
            "# [[affected]]\n# product = \"\"\n# ecosystem = \"\"\n# versions = []\n\
             # introduced = \"\"\n# fixed = \"\"\n",
        );
    }
    for affected in &a.affected {
        let _ = write!(
            out,
            "[[affected]]\nproduct = {}\necosystem = {}\nversions = {}\nintroduced = {}\n\
             fixed = {}\n\n",
            basic(&affected.product),
            basic(&affected.ecosystem),
            array(&affected.versions),
            basic(&affected.introduced),
            basic(&affected.fixed),
        );
    }
    out.push_str(
        "\n# One [[credits]] table per credit. type: FINDER, REPORTER, ANALYST, COORDINATOR,\n\
         # REMEDIATION_DEVELOPER, REMEDIATION_REVIEWER, REMEDIATION_VERIFIER, TOOL, SPONSOR or\n\
         # OTHER. contact: URLs (https://…, mailto:…). reporter = true marks the reporter's own\n\
         # credit: it is published only once they accept exactly these words on their page.\n",
    );
    if a.credits.is_empty() {
        out.push_str(
            "# [[credits]]\n# type = \"FINDER\"\n# name = \"\"\n# contact = []\n\
             # reporter = true\n",
        );
    }
    for credit in &a.credits {
        let _ = write!(
            out,
            "[[credits]]\ntype = {}\nname = {}\ncontact = {}\nreporter = {}\n\n",
            basic(credit.kind.as_str()),
            basic(&credit.name),
            array(&credit.contact),
            credit.reporter,
        );
    }
    out
}

/// Reads an advisory a member wrote: TOML as [`write_draft`] writes it, or the same
/// fields as JSON (text starting with `{`). `Ok(None)` when nothing but comments and
/// space is left (the member cancelled).
pub fn parse_draft(text: &str) -> Result<Option<Advisory>, String> {
    let meaningful = text
        .lines()
        .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    if !meaningful {
        return Ok(None);
    }
    let advisory = if text.trim_start().starts_with('{') {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
        check_keys_json(&value)?;
        serde_json::from_value::<Advisory>(value).map_err(|e| e.to_string())?
    } else {
        let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        check_keys_toml(&table)?;
        toml::Value::Table(table)
            .try_into::<Advisory>()
            .map_err(|e| e.to_string())?
    };
    let problems = problems(&advisory);
    if problems.is_empty() {
        Ok(Some(advisory))
    } else {
        Err(problems.join("\n"))
    }
}

fn unknown(key: &str, within: &str, known: &[&str]) -> String {
    format!(
        "unknown key `{}`{within}; the keys are {}",
        one_line(key),
        known.join(", ")
    )
}

fn check_keys_toml(table: &toml::Table) -> Result<(), String> {
    for (key, value) in table {
        if !TOP.contains(&key.as_str()) {
            return Err(unknown(key, "", TOP));
        }
        let (name, known) = match key.as_str() {
            "affected" => ("[[affected]]", AFFECTED),
            "credits" => ("[[credits]]", CREDITS),
            _ => continue,
        };
        for item in value.as_array().into_iter().flatten() {
            for inner in item.as_table().into_iter().flat_map(|t| t.keys()) {
                if !known.contains(&inner.as_str()) {
                    return Err(unknown(inner, &format!(" in {name}"), known));
                }
            }
        }
    }
    Ok(())
}

fn check_keys_json(value: &serde_json::Value) -> Result<(), String> {
    let Some(object) = value.as_object() else {
        return Err("expected a JSON object".into());
    };
    for (key, value) in object {
        if !TOP.contains(&key.as_str()) {
            return Err(unknown(key, "", TOP));
        }
        let (name, known) = match key.as_str() {
            "affected" => ("affected", AFFECTED),
            "credits" => ("credits", CREDITS),
            _ => continue,
        };
        for item in value.as_array().into_iter().flatten() {
            for inner in item.as_object().into_iter().flat_map(|o| o.keys()) {
                if !known.contains(&inner.as_str()) {
                    return Err(unknown(inner, &format!(" in {name}"), known));
                }
            }
        }
    }
    Ok(())
}

/// Everything OSV or CSAF could not carry, each naming its place.
pub fn problems(a: &Advisory) -> Vec<String> {
    let mut out = Vec::new();
    let mut need = |ok: bool, what: String| {
        if !ok {
            out.push(what);
        }
    };
    need(!a.title.trim().is_empty(), "title: give one".into());
    need(
        !a.title.contains('\n'),
        "title: one line, please (the description takes the rest)".into(),
    );
    need(
        a.severity.trim().is_empty() || score(&a.severity).is_some(),
        format!(
            "severity: `{}` is not a CVSS v3.0, v3.1 or v4.0 vector",
            one_line(&a.severity)
        ),
    );
    if let Some(id) = a.weakness.trim().strip_prefix("CWE-") {
        let digits = id.split(':').next().unwrap_or_default().trim();
        need(
            !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()),
            "weakness: a CWE id is CWE- and digits, e.g. CWE-79".into(),
        );
    }
    for alias in &a.aliases {
        need(
            !alias.is_empty() && !alias.chars().any(char::is_whitespace),
            format!("aliases: `{}` is not an id", one_line(alias)),
        );
    }
    for link in &a.references {
        need(
            url::Url::parse(link).is_ok_and(|u| matches!(u.scheme(), "https" | "http")),
            format!("references: `{}` is not an http(s) URL", one_line(link)),
        );
    }
    for (i, affected) in a.affected.iter().enumerate() {
        let at = format!("affected #{}", i + 1);
        need(
            !affected.product.trim().is_empty(),
            format!("{at}: product: give one"),
        );
        need(
            affected.ecosystem.is_empty() || known_ecosystem(&affected.ecosystem),
            format!(
                "{at}: ecosystem: `{}` is not an OSV ecosystem; leave it empty for a product \
                 of your own",
                one_line(&affected.ecosystem)
            ),
        );
        let versions = affected
            .versions
            .iter()
            .chain([&affected.introduced, &affected.fixed]);
        for v in versions {
            need(
                !v.contains('\n') && v.trim() == v,
                format!("{at}: `{}` is not a version", one_line(v)),
            );
        }
        need(
            affected.versions.iter().all(|v| !v.is_empty()),
            format!("{at}: versions: an empty version"),
        );
    }
    for (i, credit) in a.credits.iter().enumerate() {
        let at = format!("credits #{}", i + 1);
        need(
            !credit.name.trim().is_empty(),
            format!("{at}: name: give one"),
        );
        for contact in &credit.contact {
            need(
                is_contact_url(contact),
                format!(
                    "{at}: contact: `{}` is not a URL (https://…, mailto:…); a handle goes in \
                     the name",
                    one_line(contact)
                ),
            );
        }
    }
    out
}

/// A TOML basic string: quotes, backslashes and every control character escaped.
fn basic(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    escape_into(&mut out, text, false);
    out.push('"');
    out
}

/// A TOML multi-line basic string, newlines kept as they are.
fn multi_line(text: &str) -> String {
    if !text.contains('\n') {
        return basic(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    out.push_str("\"\"\"\n");
    escape_into(&mut out, text, true);
    out.push_str("\"\"\"");
    out
}

fn escape_into(out: &mut String, text: &str, newlines: bool) {
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' if newlines => out.push('\n'),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
}

fn array(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|i| basic(i)).collect();
    format!("[{}]", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{AdvisoryCredit, Affected, CreditType};

    fn nasty() -> Advisory {
        let mut a = Advisory::default();
        a.title = "XSS in \"search\" \\ here\u{7f}\u{1b}[31m".into();
        a.weakness = "CWE-79".into();
        a.severity = "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N".into();
        a.description = "Line one\nwith \"\"\" triple quotes\r\nand a tab\there\n".into();
        a.impact = "one line".into();
        a.aliases = vec!["CVE-2026-12345".into()];
        a.references = vec!["https://example.com/fix".into()];
        let mut product = Affected::default();
        product.product = "Widget".into();
        product.versions = vec!["2.4.1".into()];
        product.introduced = "2.0.0".into();
        product.fixed = "2.4.2".into();
        a.affected = vec![product];
        a.credits = vec![AdvisoryCredit {
            kind: CreditType::Finder,
            name: "Jane \"J\" Doe (@jane)".into(),
            contact: vec!["https://jane.example".into()],
            reporter: true,
        }];
        a
    }

    #[test]
    fn a_draft_reads_back_exactly_as_written() {
        let a = nasty();
        let text = write_draft("Advisory for report 0011223344556677\nsecond line", &a);
        let back = parse_draft(&text).unwrap().unwrap();
        assert_eq!(
            *crate::report::exact_json(&back),
            *crate::report::exact_json(&a),
            "{}",
            *text
        );
    }

    #[test]
    fn typos_and_values_exports_cannot_carry_are_refused_by_name() {
        let text = write_draft("h", &nasty()).replace("workarounds =", "workaround =");
        assert!(
            parse_draft(&text)
                .err()
                .unwrap()
                .contains("unknown key `workaround`")
        );
        let text = write_draft("h", &nasty())
            .replace("\nreporter = true\n", "\nreporter = true\nhandle = \"x\"\n");
        assert!(parse_draft(&text).err().unwrap().contains("in [[credits]]"));
        let mut a = nasty();
        a.severity = "CVSS:3.1/AV:N".into();
        a.credits[0].contact = vec!["@jane".into()];
        a.affected[0].ecosystem = "Nowhere".into();
        let err = parse_draft(&write_draft("h", &a)).err().unwrap();
        for says in ["severity:", "credits #1: contact", "affected #1: ecosystem"] {
            assert!(err.contains(says), "{err}");
        }
        assert!(parse_draft("# only comments\n\n").unwrap().is_none());
        let json = r#"{"title": "T", "credits": [{"type": "TOOL", "name": "fuzzer"}]}"#;
        assert_eq!(
            parse_draft(json).unwrap().unwrap().credits[0].kind,
            CreditType::Tool
        );
    }
}
