//! Shared validation of short text fields (identifiers, labels, free text limits).
//!
//! Pure functions only; reducers call them before writing anything.

use crate::errors::invalid;

/// A required identifier-like field: 1..=max chars, no control characters, no surrounding spaces.
pub fn required_id(field: &str, value: &str, max: usize) -> Result<(), String> {
    if value.is_empty() {
        return Err(invalid(format!("{field} must not be empty")));
    }
    optional_id(field, value, max)
}

/// Like [`required_id`] but the empty string is allowed (meaning "none").
pub fn optional_id(field: &str, value: &str, max: usize) -> Result<(), String> {
    if value.chars().count() > max {
        return Err(invalid(format!("{field} is longer than {max} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid(format!("{field} contains control characters")));
    }
    if value.trim() != value {
        return Err(invalid(format!(
            "{field} has leading or trailing whitespace"
        )));
    }
    Ok(())
}

/// Free text (may contain newlines) bounded by a byte size.
pub fn bounded_text(field: &str, value: &str, max_bytes: usize) -> Result<(), String> {
    if value.len() > max_bytes {
        return Err(invalid(format!("{field} is larger than {max_bytes} bytes")));
    }
    Ok(())
}

/// A JSON object encoded as text; the empty string counts as `{}`.
pub fn json_object(field: &str, value: &str, max_bytes: usize) -> Result<(), String> {
    bounded_text(field, value, max_bytes)?;
    if value.is_empty() {
        return Ok(());
    }
    match serde_json::from_str::<serde_json::Value>(value) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        Ok(_) => Err(invalid(format!("{field} must be a JSON object"))),
        Err(e) => Err(invalid(format!("{field} is not valid JSON: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_reject_empty_control_and_padding() {
        assert!(required_id("key", "", 10).is_err());
        assert!(required_id("key", "a\nb", 10).is_err());
        assert!(required_id("key", " a", 10).is_err());
        assert!(required_id("key", "abcdefghijk", 10).is_err());
        assert!(required_id("key", "mem:abc", 10).is_ok());
        assert!(optional_id("key", "", 10).is_ok());
    }

    #[test]
    fn json_object_accepts_only_objects() {
        assert!(json_object("m", "", 100).is_ok());
        assert!(json_object("m", "{\"a\":1}", 100).is_ok());
        assert!(json_object("m", "[1]", 100)
            .unwrap_err()
            .starts_with("E_INVALID"));
        assert!(json_object("m", "{", 100).is_err());
        assert!(json_object("m", "{\"a\":\"long\"}", 5).is_err());
    }
}
