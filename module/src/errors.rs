//! Stable, machine-readable error prefixes for reducer failures.
//!
//! Every `Err` a reducer returns starts with one of these codes followed by `": "` and a human
//! message; the relay maps the code to an HTTP status. Nothing here touches the database.

pub const E_INVALID: &str = "E_INVALID";
pub const E_NOT_FOUND: &str = "E_NOT_FOUND";
pub const E_CONFLICT: &str = "E_CONFLICT";
pub const E_FORBIDDEN: &str = "E_FORBIDDEN";
pub const E_INSUFFICIENT_FUNDS: &str = "E_INSUFFICIENT_FUNDS";

/// Builds `"<code>: <message>"`.
pub fn err(code: &str, message: impl std::fmt::Display) -> String {
    format!("{code}: {message}")
}

pub fn invalid(message: impl std::fmt::Display) -> String {
    err(E_INVALID, message)
}

pub fn not_found(message: impl std::fmt::Display) -> String {
    err(E_NOT_FOUND, message)
}

pub fn conflict(message: impl std::fmt::Display) -> String {
    err(E_CONFLICT, message)
}

pub fn forbidden(message: impl std::fmt::Display) -> String {
    err(E_FORBIDDEN, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_carry_the_code_prefix() {
        assert_eq!(invalid("bad key"), "E_INVALID: bad key");
        assert_eq!(not_found("x"), "E_NOT_FOUND: x");
        assert_eq!(conflict("x"), "E_CONFLICT: x");
        assert_eq!(forbidden("x"), "E_FORBIDDEN: x");
    }
}
