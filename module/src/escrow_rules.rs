//! Escrow rules: statuses, legal transitions, time-to-live bounds. Pure; `escrow.rs` applies them.
//!
//! `locked` —release→ `released` (before `expires_at`), —refund→ `refunded` (any time while locked),
//! —expire→ `expired` (scheduler, at or after `expires_at`). The three outcomes are terminal.

use crate::errors::{conflict, invalid};

pub const LOCKED: &str = "locked";
pub const RELEASED: &str = "released";
pub const REFUNDED: &str = "refunded";
pub const EXPIRED: &str = "expired";

pub const MIN_TTL_SECONDS: u32 = 1;
pub const MAX_TTL_SECONDS: u32 = 7 * 24 * 3600;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EscrowAction {
    Release,
    Refund,
    Expire,
}

/// The status after `action` at time `now_us`, or `E_CONFLICT`.
pub fn next(
    status: &str,
    action: EscrowAction,
    now_us: i64,
    expires_at_us: i64,
) -> Result<&'static str, String> {
    if status != LOCKED {
        return Err(conflict(format!(
            "escrow is already {status}; cannot {action:?}"
        )));
    }
    match action {
        EscrowAction::Release if now_us >= expires_at_us => {
            Err(conflict("escrow has expired; it can only be refunded"))
        }
        EscrowAction::Release => Ok(RELEASED),
        EscrowAction::Refund => Ok(REFUNDED),
        EscrowAction::Expire if now_us < expires_at_us => {
            Err(conflict("escrow has not reached its expiry time"))
        }
        EscrowAction::Expire => Ok(EXPIRED),
    }
}

pub fn validate_ttl(ttl_seconds: u32) -> Result<(), String> {
    if (MIN_TTL_SECONDS..=MAX_TTL_SECONDS).contains(&ttl_seconds) {
        Ok(())
    } else {
        Err(invalid(format!(
            "ttl_seconds must be between {MIN_TTL_SECONDS} and {MAX_TTL_SECONDS}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locked_escrow_moves_once() {
        assert_eq!(
            next(LOCKED, EscrowAction::Release, 5, 10).unwrap(),
            RELEASED
        );
        assert_eq!(
            next(LOCKED, EscrowAction::Refund, 50, 10).unwrap(),
            REFUNDED
        );
        assert_eq!(next(LOCKED, EscrowAction::Expire, 10, 10).unwrap(), EXPIRED);
    }

    #[test]
    fn outcomes_are_terminal() {
        for s in [RELEASED, REFUNDED, EXPIRED] {
            for a in [
                EscrowAction::Release,
                EscrowAction::Refund,
                EscrowAction::Expire,
            ] {
                assert!(next(s, a, 0, 10).unwrap_err().starts_with("E_CONFLICT"));
            }
        }
    }

    #[test]
    fn time_guards() {
        assert!(next(LOCKED, EscrowAction::Release, 10, 10)
            .unwrap_err()
            .contains("expired"));
        assert!(next(LOCKED, EscrowAction::Expire, 9, 10).is_err());
        assert!(validate_ttl(0).is_err());
        assert!(validate_ttl(60).is_ok());
        assert!(validate_ttl(MAX_TTL_SECONDS + 1).is_err());
    }
}
