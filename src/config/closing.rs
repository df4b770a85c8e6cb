//! `[closing]`: the text a reporter reads when their report is closed, one a reason.
//! `agedrop team status ID closed --reason R` starts from it (in `$EDITOR` on a
//! terminal, so that it can be made personal before it is sent).

use serde::{Deserialize, Serialize};

use crate::report::Reason;

/// Canned closing texts, by reason. Empty: the reporter sees the reason's one-line
/// explanation only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Closing {
    /// For `duplicate`.
    pub duplicate: String,
    /// For `out-of-scope`.
    pub out_of_scope: String,
    /// For `not-a-vulnerability`.
    pub not_a_vulnerability: String,
    /// For `other-vendor`.
    pub other_vendor: String,
    /// For `wont-fix`.
    pub wont_fix: String,
    /// For `spam`.
    pub spam: String,
}

impl Default for Closing {
    /// Thanks first, then why, then what the reporter may do next: the tone published
    /// programmes promise (no legal threat, no silence).
    fn default() -> Self {
        Closing {
            duplicate: "Thank you for your report. Someone reported the same problem before \
                        you, so we are closing this one as a duplicate; the earlier report is \
                        being handled."
                .into(),
            out_of_scope: "Thank you for your report. What it describes is outside the scope \
                           of our programme (see the policy page), so we are closing it."
                .into(),
            not_a_vulnerability: "Thank you for your report. We looked into it and found no \
                                  security impact here, so we are closing it. If we missed \
                                  something, tell us in this thread."
                .into(),
            other_vendor: "Thank you for your report. The problem is in a product we do not \
                           make; please report it to its vendor."
                .into(),
            wont_fix: "Thank you for your report. We understand the risk and have decided not \
                       to change this behaviour, so we are closing the report."
                .into(),
            spam: String::new(),
        }
    }
}

impl Closing {
    /// The text for `reason` (empty when there is none).
    pub fn text(&self, reason: Reason) -> &str {
        match reason {
            Reason::Duplicate => &self.duplicate,
            Reason::OutOfScope => &self.out_of_scope,
            Reason::NotAVulnerability => &self.not_a_vulnerability,
            Reason::OtherVendor => &self.other_vendor,
            Reason::WontFix => &self.wont_fix,
            Reason::Spam => &self.spam,
        }
    }
}
