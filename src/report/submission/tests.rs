use super::*;
use crate::report::{Event, EventBody};

#[test]
fn cvss_vectors_are_scored() {
    let cases = [
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "9.8 critical (CVSS v3.1 base score)",
        ),
        (
            // Lower case and spaces around are fine; the vector is written back canonical.
            " cvss:3.1/av:n/ac:l/pr:n/ui:r/s:c/c:l/i:l/a:n ",
            "6.1 medium (CVSS v3.1 base score)",
        ),
        (
            "CVSS:3.0/AV:L/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N",
            "0.0 none (CVSS v3.0 base score)",
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            "9.3 critical (CVSS v4.0, CVSS-B)",
        ),
    ];
    for (text, score) in cases {
        let s = Severity::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(s.score, score, "{text}");
        assert_eq!(s.vector, text.trim().to_ascii_uppercase(), "{text}");
    }
    // Threat metrics lower a v4.0 score, and the nomenclature says they were used.
    let s = Severity::parse("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U")
        .unwrap();
    assert!(s.score.ends_with("(CVSS v4.0, CVSS-BT)"), "{}", s.score);
    let value: f64 = s.score.split(' ').next().unwrap().parse().unwrap();
    assert!(value < 9.3, "{}", s.score);
}

#[test]
fn bad_cvss_vectors_say_why() {
    let cases = [
        ("", "does not start with CVSS:3.1/ or CVSS:4.0/"),
        (
            "AV:N/AC:L/Au:N/C:P/I:P/A:P",
            "CVSS v2 vectors are not accepted",
        ),
        ("CVSS:2.0/AV:N", "does not start with"),
        (
            "CVSS:3.1/AV:N/AC:L",
            "lacks the base metric(s) PR, UI, S, C, I, A",
        ),
        ("CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "AV"),
        (
            "CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "duplicate",
        ),
        ("CVSS:3.1/XX:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "XX"),
        ("CVSS:3.1/", "invalid"),
        ("CVSS:4.0/AV:N/AC:L", "missing mandatory"),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:Z",
            "SA",
        ),
    ];
    for (text, says) in cases {
        let e = Severity::parse(text)
            .err()
            .unwrap_or_else(|| panic!("{text} was accepted"));
        assert!(e.contains(says), "{text}: {e}");
    }
}

/// Random vectors, well formed or not, never panic while parsed and scored: the
/// reporter's text reaches the crate directly.
#[test]
fn no_vector_panics() {
    // Each metric with the values it takes; in a noisy round any value goes anywhere.
    const V3: &[(&str, &str)] = &[
        ("AV", "NALP"),
        ("AC", "LH"),
        ("PR", "NLH"),
        ("UI", "NR"),
        ("S", "UC"),
        ("C", "NLH"),
        ("I", "NLH"),
        ("A", "NLH"),
        ("E", "XUPFH"),
        ("RL", "XOTWU"),
        ("RC", "XURC"),
        ("CR", "XLMH"),
        ("MAV", "XNALP"),
        ("MS", "XUC"),
        ("MC", "XNLH"),
    ];
    const V4: &[(&str, &str)] = &[
        ("AV", "NALP"),
        ("AC", "LH"),
        ("AT", "NP"),
        ("PR", "NLH"),
        ("UI", "NPA"),
        ("VC", "HLN"),
        ("VI", "HLN"),
        ("VA", "HLN"),
        ("SC", "HLN"),
        ("SI", "HLN"),
        ("SA", "HLN"),
        ("E", "XAPU"),
        ("CR", "XHML"),
        ("IR", "XHML"),
        ("AR", "XHML"),
        ("MAV", "XNALP"),
        ("MAC", "XLH"),
        ("MAT", "XNP"),
        ("MPR", "XNLH"),
        ("MUI", "XNPA"),
        ("MVC", "XHLN"),
        ("MVI", "XHLN"),
        ("MVA", "XHLN"),
        ("MSC", "XHLN"),
        ("MSI", "XSHLN"),
        ("MSA", "XSHLN"),
        ("S", "XNP"),
        ("AU", "XNY"),
        ("R", "XAUI"),
        ("V", "XDC"),
        ("RE", "XLMH"),
        ("U", "X"),
    ];
    const ANY: &str = "NALPHURCXSDMYQIO";
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let mut scored = 0;
    for round in 0..20_000 {
        let (prefix, metrics, mandatory) = if round % 2 == 0 {
            ("CVSS:3.1", V3, 8)
        } else {
            ("CVSS:4.0", V4, 11)
        };
        let noisy = next(4) == 0;
        let mut text = prefix.to_string();
        for (i, (name, values)) in metrics.iter().enumerate() {
            if (i >= mandatory || noisy) && next(2) == 0 {
                continue;
            }
            let values = if noisy { ANY } else { values };
            let value = values.as_bytes()[next(values.len())] as char;
            text.push_str(&format!("/{name}:{value}"));
        }
        if Severity::parse(&text).is_ok() {
            scored += 1;
        }
    }
    assert!(
        scored > 10_000,
        "only {scored} random vectors scored: the sweep misses the scoring"
    );
}

#[test]
fn weaknesses_are_normalised() {
    for (given, kept) in [
        ("CWE-79", "CWE-79"),
        ("cwe-79", "CWE-79"),
        ("CWE 89", "CWE-89"),
        ("cwe:22: path traversal", "CWE-22: path traversal"),
        ("SQL injection", "SQL injection"),
        ("  words  ", "words"),
        ("CWEs in general", "CWEs in general"),
        ("", ""),
    ] {
        assert_eq!(weakness(given).unwrap(), kept, "{given}");
    }
    for bad in ["CWE-", "CWE-abc", "cwe-79x", "CWE-123456789"] {
        assert!(weakness(bad).unwrap_err().contains("CWE-79"), "{bad}");
    }
}

#[test]
fn intake_fields_round_trip_and_old_reports_read() {
    let mut s = Submission::default();
    s.title = "XSS".into();
    s.asset = "example.com".into();
    s.weakness = "CWE-79".into();
    s.severity_vector = "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N".into();
    s.severity_score = "6.1 medium (CVSS v3.1 base score)".into();
    s.how_found = "reading the code".into();
    s.ai_used = Some(false);
    s.confirmed_one_finding = true;
    s.confirmed_within_rules = true;
    let bytes = Event::new(5, EventBody::Submitted(Box::new(s))).encode();
    let EventBody::Submitted(back) = Event::decode(&bytes).unwrap().body else {
        panic!("wrong kind");
    };
    assert_eq!(back.asset, "example.com");
    assert_eq!(back.weakness, "CWE-79");
    assert_eq!(back.ai_used, Some(false));
    assert!(back.confirmed_one_finding && back.confirmed_within_rules);
    let shown: Vec<_> = back
        .fields()
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
    assert!(shown.contains(&(
        "Severity estimate (score)",
        "6.1 medium (CVSS v3.1 base score)"
    )));
    assert!(shown.contains(&("AI tools used", "no")));
    assert!(shown.contains(&(
        "Confirmed",
        "one finding; tested within the programme's rules"
    )));

    // A report stored before these fields existed reads, with them empty...
    let old = br#"{"v":1,"at":7,"body":{"submitted":{"title":"Old","product":"","versions":"",
        "description":"d","steps":"","expected":"","actual":"","impact":"","contact":"",
        "credit":{"declined":false,"name":"","handle":"","link":""}}}}"#;
    let EventBody::Submitted(old) = Event::decode(old).unwrap().body else {
        panic!("wrong kind");
    };
    assert_eq!(old.title, "Old");
    assert_eq!(old.ai_used, None);
    assert!(!old.confirmed_one_finding);
    assert_eq!(
        old.fields().iter().filter(|(_, v)| !v.is_empty()).count(),
        1
    );
    // ...and a report without them is written exactly as before.
    let text =
        String::from_utf8(Event::new(7, EventBody::Submitted(old)).encode().to_vec()).unwrap();
    for absent in [
        "asset",
        "weakness",
        "severity",
        "how_found",
        "ai_",
        "confirmed",
    ] {
        assert!(!text.contains(absent), "{absent} in {text}");
    }
}
