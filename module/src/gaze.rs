//! Gaze attestations: proofs from the gaze oracle that a subject (agent name or wallet account)
//! passed a gaze check. Written only by `gaze_oracle` identities; consumed once by a claim/release.
//!
//! Gated operations call [`consume_fresh`]; nothing else reads the table inside reducers.

use crate::access::{require, roles_of};
use crate::errors::{conflict, forbidden, invalid};
use crate::policy::ROLE_GAZE_ORACLE;
use spacetimedb::{reducer, table, Identity, ReducerContext, Table, Timestamp};

/// Longest validity window an attestation may claim (verified_at → expires_at).
pub const MAX_VALIDITY_US: i64 = 15 * 60 * 1_000_000;
/// Clock skew tolerated for `verified_at_us` in the future.
pub const MAX_SKEW_US: i64 = 60 * 1_000_000;

#[table(name = gaze_attestation, public)]
#[derive(Clone, Debug)]
pub struct GazeAttestation {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    /// Agent name or wallet account the attestation is about.
    #[index(btree)]
    pub subject: String,
    /// The oracle's session id; unique, so one session yields one attestation.
    #[unique]
    pub gaze_session_id: String,
    pub verified_at: Timestamp,
    pub verified_at_us: i64,
    #[index(btree)]
    pub expires_at_us: i64,
    /// 0..=10000 basis points (no floats).
    pub confidence_bp: u16,
    #[index(btree)]
    pub consumed: bool,
    /// What used it, e.g. `task:t-1` or `escrow:e-1`; "" while unused.
    pub consumed_for: String,
    pub consumed_at_us: i64,
    pub oracle: Identity,
    pub recorded_at_us: i64,
}

/// Pure check of an attestation's time window and confidence.
pub fn validate_window(
    now_us: i64,
    verified_at_us: i64,
    expires_at_us: i64,
    confidence_bp: u16,
) -> Result<(), String> {
    if confidence_bp > 10_000 {
        return Err(invalid("confidence_bp must be at most 10000"));
    }
    if verified_at_us > now_us.saturating_add(MAX_SKEW_US) {
        return Err(invalid("verified_at_us is in the future"));
    }
    if expires_at_us <= verified_at_us {
        return Err(invalid("expires_at_us must be after verified_at_us"));
    }
    if expires_at_us.saturating_sub(verified_at_us) > MAX_VALIDITY_US {
        return Err(invalid(
            "an attestation may be valid for at most 15 minutes",
        ));
    }
    if expires_at_us <= now_us {
        return Err(invalid("attestation has already expired"));
    }
    Ok(())
}

/// Records an attestation. Only identities holding `gaze_oracle` may write (the owner too must
/// hold the role explicitly). A session id can be recorded once (`E_CONFLICT`).
#[reducer]
pub fn record_gaze_attestation(
    ctx: &ReducerContext,
    subject: String,
    gaze_session_id: String,
    verified_at_us: i64,
    expires_at_us: i64,
    confidence_bp: u16,
) -> Result<(), String> {
    require(ctx, "record_gaze_attestation")?;
    if !roles_of(ctx, ctx.sender)
        .iter()
        .any(|r| r == ROLE_GAZE_ORACLE)
    {
        return Err(forbidden(
            "only gaze_oracle identities may record attestations",
        ));
    }
    crate::ledger::validate_account("subject", &subject)?;
    crate::text_rules::required_id("gaze_session_id", &gaze_session_id, 256)?;
    let now_us = ctx.timestamp.to_micros_since_unix_epoch();
    validate_window(now_us, verified_at_us, expires_at_us, confidence_bp)?;
    if ctx
        .db
        .gaze_attestation()
        .gaze_session_id()
        .find(gaze_session_id.clone())
        .is_some()
    {
        return Err(conflict(format!(
            "gaze session '{gaze_session_id}' was already attested"
        )));
    }
    ctx.db.gaze_attestation().insert(GazeAttestation {
        id: 0,
        subject,
        gaze_session_id,
        verified_at: Timestamp::from_micros_since_unix_epoch(verified_at_us),
        verified_at_us,
        expires_at_us,
        confidence_bp,
        consumed: false,
        consumed_for: String::new(),
        consumed_at_us: 0,
        oracle: ctx.sender,
        recorded_at_us: now_us,
    });
    Ok(())
}

/// Marks the subject's unconsumed, unexpired attestation that expires first as consumed by
/// `purpose`; `E_FORBIDDEN` if there is none.
pub fn consume_fresh(ctx: &ReducerContext, subject: &str, purpose: &str) -> Result<(), String> {
    let now_us = ctx.timestamp.to_micros_since_unix_epoch();
    let best = ctx
        .db
        .gaze_attestation()
        .subject()
        .filter(subject)
        .filter(|a| !a.consumed && a.expires_at_us > now_us)
        .min_by_key(|a| a.expires_at_us)
        .ok_or_else(|| {
            forbidden(format!(
                "gaze required: no fresh unconsumed attestation for '{subject}'"
            ))
        })?;
    ctx.db.gaze_attestation().id().update(GazeAttestation {
        consumed: true,
        consumed_for: purpose.to_string(),
        consumed_at_us: now_us,
        ..best
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows() {
        let now = 1_000_000_000;
        assert!(validate_window(now, now - 10, now + 1_000_000, 9000).is_ok());
        assert!(validate_window(now, now, now + 1, 10_001).is_err());
        assert!(validate_window(now, now + MAX_SKEW_US + 1, now + MAX_SKEW_US + 2, 1).is_err());
        assert!(validate_window(now, now, now, 1).is_err());
        assert!(validate_window(now, now, now + MAX_VALIDITY_US + 1, 1).is_err());
        assert!(validate_window(now, now - 20, now - 10, 1)
            .unwrap_err()
            .contains("expired"));
    }
}
