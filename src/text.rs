//! The one definition of "hidden characters": what may not appear in a file name a
//! reporter sends, and what the desk never prints as it came. Text from a reporter, a
//! server or a bundle is hostile: a terminal escape can recolour, retitle or rewrite the
//! member's terminal (OSC 52 even writes the clipboard), and a text-direction control
//! can make `gpj.exe` read as `exe.jpg`.

use std::fmt::Write;

/// Whether `c` is invisible or changes how the text around it is shown: controls
/// (C0, DEL, C1), Unicode format characters and default-ignorable code points (bidi
/// embeddings, overrides, isolates and marks, zero-width characters, fillers, variation
/// selectors, the byte-order mark, tags, interlinear annotation), and the line and
/// paragraph separators.
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}'                       // soft hyphen
            | '\u{034F}'                     // combining grapheme joiner
            | '\u{0600}'..='\u{0605}'        // Arabic number signs
            | '\u{061C}'                     // Arabic letter mark
            | '\u{06DD}' | '\u{070F}' | '\u{0890}' | '\u{0891}' | '\u{08E2}'
            | '\u{115F}' | '\u{1160}'        // Hangul fillers
            | '\u{17B4}' | '\u{17B5}'        // Khmer inherent vowels
            | '\u{180B}'..='\u{180F}'        // Mongolian selectors and separator
            | '\u{200B}'..='\u{200F}'        // zero-width space, joiners, LRM, RLM
            | '\u{2028}' | '\u{2029}'        // line and paragraph separators
            | '\u{202A}'..='\u{202E}'        // bidi embeddings and overrides
            | '\u{2060}'..='\u{206F}'        // word joiner, invisible operators, isolates
            | '\u{3164}'                     // Hangul filler
            | '\u{FE00}'..='\u{FE0F}'        // variation selectors
            | '\u{FEFF}'                     // byte-order mark
            | '\u{FFA0}'                     // halfwidth Hangul filler
            | '\u{FFF0}'..='\u{FFFB}'        // unassigned specials, interlinear annotation
            | '\u{110BD}' | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'      // tags, variation selectors supplement
        )
}

/// `text` with every hidden character (but newline and tab) written as a visible,
/// inert escape such as `\u{1b}`. Everything the desk prints that came from a reporter,
/// a server or a bundle passes through here.
pub fn terminal_safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_hidden(c) && c != '\n' && c != '\t' {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// As [`terminal_safe`], on one line: newlines and tabs become spaces.
pub fn one_line(text: &str) -> String {
    terminal_safe(text).replace(['\n', '\t'], " ")
}

/// JSON text (as serde_json writes it) with every hidden character written as a
/// `\uXXXX` escape: serde_json escapes only C0 controls, and C1 controls or
/// text-direction characters inside strings would still reach the terminal. Outside
/// strings JSON has only ASCII punctuation and whitespace, which pass as they are.
pub fn json_safe(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if is_hidden(c) && !matches!(c, '\n' | '\t' | '\r') {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// At most `max` characters of `text` for an error message, on one line and safe.
pub fn excerpt(text: &str, max: usize) -> String {
    let mut out = one_line(&text.chars().take(max).collect::<String>());
    if text.chars().count() > max {
        out.push('…');
    }
    out
}

/// A Unix time as RFC 3339 (`2026-11-25T16:32:13Z`), for JSON, bundles and
/// security.txt; `None` outside the representable range.
pub fn rfc3339(at: i64) -> Option<String> {
    time::OffsetDateTime::from_unix_timestamp(at)
        .ok()?
        .format(&time::format_description::well_known::Rfc3339)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_visible_and_inert() {
        assert_eq!(terminal_safe("a\x1b[31mb"), "a\\u{1b}[31mb");
        assert_eq!(terminal_safe("x\u{202E}y\nz"), "x\\u{202e}y\nz");
        // OSC 52 (clipboard) and a window title, ended by BEL or ST.
        let osc = "\x1b]52;c;aGk=\x07\x1b]0;pwned\x1b\\";
        assert!(!terminal_safe(osc).chars().any(is_hidden));
        assert_eq!(one_line("a\nb\tc"), "a b c");
        assert_eq!(excerpt("abcdef", 3), "abc…");
        for c in [
            '\u{9b}',
            '\u{7f}',
            '\u{2067}',
            '\u{feff}',
            '\u{e0041}',
            '\u{200b}',
        ] {
            assert!(is_hidden(c), "{c:?}");
        }
        for c in ['a', 'é', '中', ' ', '-'] {
            assert!(!is_hidden(c), "{c:?}");
        }
        let json = serde_json::to_string_pretty(&["a\u{9b}b\u{202e}c\u{e0041}\u{1b}"]).unwrap();
        let safe = json_safe(&json);
        assert!(!safe.chars().any(|c| is_hidden(c) && c != '\n'), "{safe}");
        let back: Vec<String> = serde_json::from_str(&safe).unwrap();
        assert_eq!(back[0], "a\u{9b}b\u{202e}c\u{e0041}\u{1b}");
    }
}
