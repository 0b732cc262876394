//! Rules for chat-session metadata: id format, status values, counter arithmetic.
//!
//! Pure; `sessions.rs` applies them inside reducers.

use crate::errors::invalid;
use crate::text_rules::{optional_id, required_id};

pub const STATUS_ACTIVE: &str = "active";
pub const STATUS_CLOSED: &str = "closed";
pub const MAX_ID_CHARS: usize = 128;
pub const MAX_TITLE_CHARS: usize = 300;

/// Session ids: 1..=128 chars of `[A-Za-z0-9_.:-]` (what Hermes and our relay generate).
pub fn validate_id(field: &str, id: &str) -> Result<(), String> {
    required_id(field, id, MAX_ID_CHARS)?;
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
    {
        return Err(invalid(format!(
            "{field} may only contain letters, digits and _ - . :"
        )));
    }
    Ok(())
}

pub fn validate_title(title: &str) -> Result<(), String> {
    optional_id("title", title, MAX_TITLE_CHARS)
}

/// Counter deltas of one chat turn, added with overflow checks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub messages: u64,
    pub tool_calls: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub turns: u64,
    pub errors: u64,
}

impl Counters {
    pub fn checked_add(self, d: Counters) -> Result<Counters, String> {
        let add = |a: u64, b: u64, what: &str| {
            a.checked_add(b)
                .ok_or_else(|| invalid(format!("{what} counter would overflow")))
        };
        Ok(Counters {
            messages: add(self.messages, d.messages, "message")?,
            tool_calls: add(self.tool_calls, d.tool_calls, "tool call")?,
            input_tokens: add(self.input_tokens, d.input_tokens, "input token")?,
            output_tokens: add(self.output_tokens, d.output_tokens, "output token")?,
            turns: add(self.turns, d.turns, "turn")?,
            errors: add(self.errors, d.errors, "error")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(validate_id("id", "api_1796301721_3904d707").is_ok());
        assert!(validate_id("id", "optx-abc.def:1").is_ok());
        assert!(validate_id("id", "").is_err());
        assert!(validate_id("id", "a/b").is_err());
        assert!(validate_id("id", "a b").is_err());
        assert!(validate_id("id", &"x".repeat(129)).is_err());
    }

    #[test]
    fn counters_add_and_refuse_overflow() {
        let a = Counters {
            messages: 2,
            input_tokens: 10,
            ..Default::default()
        };
        let b = a.checked_add(a).unwrap();
        assert_eq!(b.messages, 4);
        assert_eq!(b.input_tokens, 20);
        let max = Counters {
            output_tokens: u64::MAX,
            ..Default::default()
        };
        let one = Counters {
            output_tokens: 1,
            ..Default::default()
        };
        assert!(max.checked_add(one).unwrap_err().starts_with("E_INVALID"));
    }
}
