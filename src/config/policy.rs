//! `programme.policy_file`: the operator's policy in Markdown, read and rendered to
//! HTML once at start-up, then sanitised with an allow-list even though the operator
//! wrote it: a reporter's page must never run script or load anything from elsewhere,
//! whoever edited the file.
//!
//! What survives: headings (one level down, under the page's own `h1`), paragraphs,
//! lists, emphasis, code, quotes, rules, tables, and links to `http:`, `https:` and
//! `mailto:` addresses or to paths on this site. What does not: raw HTML of any kind
//! (dropped, and counted so that the server can warn), `javascript:`, `data:` and every
//! other link scheme (the link stays as text), and images: agedrop serves no files but
//! its own stylesheet, so a same-site image could show nothing, and one from elsewhere
//! would make the reporter's browser call another site. An image becomes its alt text.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::Read;
use std::path::PathBuf;

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde::Deserialize;

use super::units::BadValue;

/// The largest policy file read: a policy is a few pages, not a book.
const MAX_BYTES: u64 = 256 * 1024;

/// The operator's policy file, rendered.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct PolicyFile {
    /// The file as the setting names it.
    pub path: PathBuf,
    /// Its content as safe HTML.
    pub html: SafeHtml,
    /// Pieces of raw HTML in the file, which are not shown.
    pub dropped_html: usize,
}

impl TryFrom<String> for PolicyFile {
    type Error = BadValue;

    fn try_from(text: String) -> Result<Self, BadValue> {
        let path = PathBuf::from(text.trim());
        let cannot = |why: String| BadValue(format!("cannot read {}: {why}", path.display()));
        let file = std::fs::File::open(&path).map_err(|e| cannot(e.to_string()))?;
        let mut bytes = Vec::new();
        file.take(MAX_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| cannot(e.to_string()))?;
        if bytes.len() as u64 > MAX_BYTES {
            return Err(cannot(format!(
                "it is larger than {} KiB; a policy should be a few pages",
                MAX_BYTES / 1024
            )));
        }
        let markdown = String::from_utf8(bytes)
            .map_err(|_| cannot("it is not UTF-8 text (save it as UTF-8 Markdown)".into()))?;
        let (html, dropped_html) = render(&markdown);
        Ok(PolicyFile {
            path,
            html,
            dropped_html,
        })
    }
}

/// HTML that passed the sanitiser: the one kind of HTML a template may show unescaped.
/// Only [`render`] makes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SafeHtml(String);

impl SafeHtml {
    /// The HTML.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SafeHtml {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Markdown to sanitised HTML; also gives how many pieces of raw HTML were dropped.
pub fn render(markdown: &str) -> (SafeHtml, usize) {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut dropped = 0;
    let events = Parser::new_ext(markdown, options).filter_map(|event| match event {
        Event::Html(_) | Event::InlineHtml(_) => {
            dropped += 1;
            None
        }
        // An image shows as its alt text (the text events between these two).
        Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => None,
        Event::Start(Tag::Heading { level, .. }) => Some(Event::Start(Tag::Heading {
            level: lower(level),
            id: None,
            classes: Vec::new(),
            attrs: Vec::new(),
        })),
        Event::End(TagEnd::Heading(level)) => Some(Event::End(TagEnd::Heading(lower(level)))),
        other => Some(other),
    });
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events);
    (SafeHtml(sanitiser().clean(&html).to_string()), dropped)
}

/// One heading level down: the page's own `h1` stays the only one.
fn lower(level: HeadingLevel) -> HeadingLevel {
    use HeadingLevel::*;
    match level {
        H1 => H2,
        H2 => H3,
        H3 => H4,
        H4 => H5,
        H5 | H6 => H6,
    }
}

/// The allow-list: what Markdown makes, minus images, classes and inline styles (which
/// the pages' Content-Security-Policy would refuse anyway).
fn sanitiser() -> ammonia::Builder<'static> {
    let tags: HashSet<&str> = [
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "p",
        "br",
        "hr",
        "ul",
        "ol",
        "li",
        "a",
        "em",
        "strong",
        "del",
        "code",
        "pre",
        "blockquote",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
    ]
    .into();
    let attributes: HashMap<&str, HashSet<&str>> =
        [("a", ["href", "title"].into()), ("ol", ["start"].into())].into();
    let mut builder = ammonia::Builder::empty();
    builder
        .tags(tags)
        .tag_attributes(attributes)
        .generic_attributes(HashSet::new())
        .url_schemes(["http", "https", "mailto"].into())
        .url_relative(ammonia::UrlRelative::PassThrough)
        .link_rel(Some("noopener noreferrer"))
        .clean_content_tags(["script", "style"].into())
        .strip_comments(true);
    builder
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_survives() {
        let (html, dropped) = render(
            "# Policy\n\nWe *welcome* reports.\n\n## Scope\n\n- the app\n- the API\n\n\
             1. one\n2. two\n\nSee [our site](https://example.com/x) or [the form](/).\n\n\
             | a | b |\n|---|---|\n| 1 | 2 |\n",
        );
        let html = html.as_str();
        assert_eq!(dropped, 0);
        assert!(html.contains("<h2>Policy</h2>"), "{html}");
        assert!(html.contains("<h3>Scope</h3>"), "{html}");
        assert!(html.contains("<em>welcome</em>"), "{html}");
        assert!(html.contains("<li>the app</li>"), "{html}");
        assert!(html.contains("<ol>"), "{html}");
        assert!(
            html.contains(
                "<a href=\"https://example.com/x\" rel=\"noopener noreferrer\">our site</a>"
            ),
            "{html}"
        );
        assert!(html.contains("<a href=\"/\""), "{html}");
        assert!(html.contains("<td>2</td>"), "{html}");
    }

    #[test]
    fn nothing_active_survives() {
        let (html, dropped) = render(
            "<script>alert(1)</script>\n\n<iframe src=\"https://evil.example\"></iframe>\n\n\
             Text <span onclick=\"alert(2)\">inline</span>.\n\n\
             [js](javascript:alert(3)) [data](data:text/html;base64,PHNjcmlwdD4=) \
             <javascript:alert(4)>\n\n![a tracker](https://evil.example/pixel.png)\n",
        );
        let html = html.as_str();
        for gone in [
            "<script",
            "alert(1)",
            "<iframe",
            "onclick",
            "alert(2)",
            "<span",
            "href=\"javascript",
            "alert(3)",
            "href=\"data",
            "base64",
            "<img",
            "pixel.png",
            "evil.example",
        ] {
            assert!(!html.contains(gone), "{gone} survived: {html}");
        }
        assert!(dropped >= 4, "{dropped}");
        // Text around them stays, as does an image's alt text and a link's words.
        for kept in ["Text", "inline", "a tracker", ">js<", ">data<"] {
            assert!(html.contains(kept), "{kept} is gone: {html}");
        }
    }
}
