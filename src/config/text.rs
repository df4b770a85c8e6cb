//! Text settings of `[programme]`: one-line items, paragraphs, assets and language
//! tags, each trimmed and checked while the file is read, so that a page never shows a
//! control character or a wall of text an operator did not mean to write.

use std::fmt;

use serde::Deserialize;

use super::units::BadValue;

/// One line of text, trimmed, `MIN` to `MAX` characters, without control characters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Line<const MIN: usize, const MAX: usize>(String);

impl<const MIN: usize, const MAX: usize> TryFrom<String> for Line<MIN, MAX> {
    type Error = BadValue;

    fn try_from(text: String) -> Result<Self, BadValue> {
        let text = text.trim();
        let count = text.chars().count();
        if count < MIN || count > MAX {
            return Err(BadValue(if MIN == 0 {
                format!("write at most {MAX} characters")
            } else {
                format!("write {MIN} to {MAX} characters")
            }));
        }
        if text.chars().any(crate::text::is_hidden) {
            return Err(BadValue(
                "write one line, without control or invisible characters".into(),
            ));
        }
        Ok(Line(text.to_string()))
    }
}

impl<const MIN: usize, const MAX: usize> Line<MIN, MAX> {
    /// The text, for defaults (checked by the tests that compare them with the example).
    pub(super) fn of(text: &str) -> Self {
        Line(text.to_string())
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<const MIN: usize, const MAX: usize> fmt::Display for Line<MIN, MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An item of the out-of-scope and not-a-vulnerability lists.
pub type Item = Line<1, 300>;

/// Paragraphs of plain text (no markup: shown as written, escaped), trimmed, at most
/// 4000 characters; empty means "say nothing".
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Prose(String);

const MAX_PROSE: usize = 4000;

impl TryFrom<String> for Prose {
    type Error = BadValue;

    fn try_from(text: String) -> Result<Self, BadValue> {
        let text = text.trim().replace("\r\n", "\n");
        if text.chars().count() > MAX_PROSE {
            return Err(BadValue(format!("write at most {MAX_PROSE} characters")));
        }
        if text.chars().any(|c| crate::text::is_hidden(c) && c != '\n') {
            return Err(BadValue(
                "write plain text, without control or invisible characters".into(),
            ));
        }
        Ok(Prose(text))
    }
}

impl Prose {
    /// The text, for defaults.
    pub(super) fn of(text: &str) -> Self {
        Prose(text.to_string())
    }

    /// The text as written (trimmed).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The paragraphs: text between blank lines, with line breaks inside one joined.
    pub fn paragraphs(&self) -> Vec<String> {
        self.0
            .split("\n\n")
            .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|p| !p.is_empty())
            .collect()
    }
}

/// Something in scope, as reporters pick it on the form.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Asset {
    /// What reporters see and pick: a product, site, repository or build.
    pub name: Line<1, 100>,
    /// What kind of thing it is ("web application", "source code", "Android app").
    #[serde(default)]
    pub kind: Line<0, 60>,
    /// Which versions or builds are in scope ("the latest release and main").
    #[serde(default)]
    pub versions: Line<0, 200>,
}

impl Asset {
    /// The name with its kind, as the form's list shows it.
    pub fn label(&self) -> String {
        if self.kind.is_empty() {
            self.name.to_string()
        } else {
            format!("{} ({})", self.name, self.kind)
        }
    }
}

/// security.txt's `Preferred-Languages`: language tags (RFC 5646, with a two- or
/// three-letter language first) separated by commas, written `en, de`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Languages(String);

impl TryFrom<String> for Languages {
    type Error = BadValue;

    fn try_from(text: String) -> Result<Self, BadValue> {
        let tags: Vec<&str> = text.split(',').map(str::trim).collect();
        let tag_ok = |tag: &str| {
            let mut parts = tag.split('-');
            let primary = parts.next().unwrap_or_default();
            // ISO 639 codes: the registered longer forms are never what someone means.
            (2..=3).contains(&primary.len())
                && primary.chars().all(|c| c.is_ascii_alphabetic())
                && parts.all(|p| {
                    (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric())
                })
        };
        if tags.iter().all(|t| tag_ok(t)) {
            Ok(Languages(tags.join(", ")))
        } else {
            Err(BadValue(format!(
                "`{}` is not a list of language tags: write them as `en` or `en, de-CH`",
                crate::text::excerpt(&text, 80)
            )))
        }
    }
}

impl Languages {
    /// The tags, for defaults.
    pub(super) fn of(text: &str) -> Self {
        Languages(text.to_string())
    }
}

impl fmt::Display for Languages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_trimmed_and_bounded() {
        assert_eq!(
            Line::<1, 5>::try_from(" ab ".to_string()).unwrap().as_str(),
            "ab"
        );
        assert!(Line::<1, 5>::try_from("  ".to_string()).is_err());
        assert!(Line::<0, 5>::try_from("  ".to_string()).unwrap().is_empty());
        assert!(Line::<0, 5>::try_from("abcdef".to_string()).is_err());
        assert!(Line::<0, 50>::try_from("a\nb".to_string()).is_err());
        assert!(Line::<0, 50>::try_from("a\u{202E}b".to_string()).is_err());
    }

    #[test]
    fn prose_keeps_paragraphs() {
        let p = Prose::try_from("One\nline.\r\n\r\nTwo.\n\n\n".to_string()).unwrap();
        assert_eq!(p.paragraphs(), ["One line.", "Two."]);
        assert!(Prose::try_from("bell\u{7}".to_string()).is_err());
        assert!(Prose::try_from("x".repeat(4001)).is_err());
    }

    #[test]
    fn language_tags() {
        for ok in ["en", "en, de", "de-CH,fr", "zh-Hant-TW"] {
            assert!(Languages::try_from(ok.to_string()).is_ok(), "{ok}");
        }
        assert_eq!(
            Languages::try_from("en,de".to_string())
                .unwrap()
                .to_string(),
            "en, de"
        );
        for bad in ["", "English", "english please", "e", "en;de", "en,,de"] {
            assert!(Languages::try_from(bad.to_string()).is_err(), "{bad}");
        }
    }
}
