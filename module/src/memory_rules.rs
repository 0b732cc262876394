//! Validation rules for memory entries (limits, importance range, key format).
//!
//! Pure: reducers in `memory.rs` call [`validate`] before writing; nothing here touches `ctx.db`.

use crate::errors::invalid;
use crate::text_rules::{bounded_text, json_object, optional_id, required_id};

pub const MAX_KEY_CHARS: usize = 512;
pub const MAX_CATEGORY_CHARS: usize = 64;
pub const MAX_LABEL_CHARS: usize = 128;
pub const MAX_VALUE_BYTES: usize = 256 * 1024;
pub const MAX_METADATA_BYTES: usize = 16 * 1024;
pub const IMPORTANCE_MIN: u8 = 1;
pub const IMPORTANCE_MAX: u8 = 10;

/// The caller-supplied fields of a memory entry.
pub struct MemoryInput<'a> {
    pub key: &'a str,
    pub category: &'a str,
    pub value: &'a str,
    pub source: &'a str,
    pub owner: &'a str,
    pub importance: u8,
    pub session_id: &'a str,
    pub metadata: &'a str,
    pub expires_at_us: i64,
}

pub fn validate(m: &MemoryInput<'_>) -> Result<(), String> {
    required_id("key", m.key, MAX_KEY_CHARS)?;
    required_id("category", m.category, MAX_CATEGORY_CHARS)?;
    if !m
        .category
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '/'))
    {
        return Err(invalid(
            "category may only contain letters, digits and _ - . : /",
        ));
    }
    bounded_text("value", m.value, MAX_VALUE_BYTES)?;
    if m.value.trim().is_empty() {
        return Err(invalid("value must not be empty"));
    }
    optional_id("source", m.source, MAX_LABEL_CHARS)?;
    optional_id("owner", m.owner, MAX_LABEL_CHARS)?;
    optional_id("session_id", m.session_id, MAX_LABEL_CHARS)?;
    if !(IMPORTANCE_MIN..=IMPORTANCE_MAX).contains(&m.importance) {
        return Err(invalid(format!(
            "importance must be between {IMPORTANCE_MIN} and {IMPORTANCE_MAX}, got {}",
            m.importance
        )));
    }
    json_object("metadata", m.metadata, MAX_METADATA_BYTES)?;
    if m.expires_at_us < 0 {
        return Err(invalid(
            "expires_at_us must be 0 (never) or a time in micros",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> MemoryInput<'static> {
        MemoryInput {
            key: "mem:1",
            category: "general",
            value: "the sky is blue",
            source: "test",
            owner: "astrojoe",
            importance: 5,
            session_id: "",
            metadata: "",
            expires_at_us: 0,
        }
    }

    #[test]
    fn accepts_a_normal_entry() {
        assert!(validate(&base()).is_ok());
    }

    #[test]
    fn importance_must_be_1_to_10() {
        for bad in [0u8, 11, 255] {
            let m = MemoryInput {
                importance: bad,
                ..base()
            };
            assert!(validate(&m)
                .unwrap_err()
                .starts_with("E_INVALID: importance"));
        }
        for good in [1u8, 10] {
            let m = MemoryInput {
                importance: good,
                ..base()
            };
            assert!(validate(&m).is_ok());
        }
    }

    #[test]
    fn rejects_empty_value_bad_category_and_bad_metadata() {
        assert!(validate(&MemoryInput {
            value: "  ",
            ..base()
        })
        .is_err());
        assert!(validate(&MemoryInput {
            category: "a b",
            ..base()
        })
        .is_err());
        assert!(validate(&MemoryInput {
            metadata: "[]",
            ..base()
        })
        .is_err());
        assert!(validate(&MemoryInput { key: "", ..base() }).is_err());
        assert!(validate(&MemoryInput {
            expires_at_us: -1,
            ..base()
        })
        .is_err());
    }
}
