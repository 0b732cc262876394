//! Who may call what: the role names and the default reducer → roles table.
//!
//! This is the one place the access policy is written down. `init` and `sync_permissions` copy it
//! into the `reducer_permission` table, which is what reducers actually consult (so the owner can
//! change it at run time). The owner role may call every reducer and is not listed here.

pub const ROLE_OWNER: &str = "owner";
pub const ROLE_RELAY: &str = "relay";
pub const ROLE_AGENT: &str = "agent";
pub const ROLE_GAZE_ORACLE: &str = "gaze_oracle";
pub const ROLE_ANALYST: &str = "analyst";

/// Every role an identity can be granted.
pub const ROLES: [&str; 5] = [
    ROLE_OWNER,
    ROLE_RELAY,
    ROLE_AGENT,
    ROLE_GAZE_ORACLE,
    ROLE_ANALYST,
];

/// Default permissions: reducer name → roles (besides `owner`) allowed to call it.
/// Reducers absent from the table are owner-only (fail closed).
pub const DEFAULT_PERMISSIONS: &[(&str, &[&str])] = &[
    // access (owner only): authorize, revoke, set_permission, sync_permissions
    // memory
    ("store_memory", &[ROLE_RELAY, ROLE_AGENT]),
    ("put_memory", &[ROLE_RELAY, ROLE_AGENT]),
    ("delete_memory", &[ROLE_RELAY, ROLE_AGENT]),
    ("touch_memory", &[ROLE_RELAY, ROLE_AGENT]),
    // chat sessions
    ("open_session", &[ROLE_RELAY]),
    ("record_session_turn", &[ROLE_RELAY]),
    ("update_session", &[ROLE_RELAY]),
    ("close_session", &[ROLE_RELAY]),
    ("delete_session", &[ROLE_RELAY]),
    // tasks and swarms (claimer / creator checks inside the reducers)
    ("create_task", &[ROLE_RELAY, ROLE_AGENT]),
    ("add_task_dependency", &[ROLE_RELAY, ROLE_AGENT]),
    ("claim_task", &[ROLE_RELAY, ROLE_AGENT]),
    ("submit_task", &[ROLE_RELAY, ROLE_AGENT]),
    ("complete_task", &[ROLE_RELAY, ROLE_AGENT]),
    ("fail_task", &[ROLE_RELAY, ROLE_AGENT]),
    ("cancel_task", &[ROLE_RELAY, ROLE_AGENT]),
    ("create_swarm", &[ROLE_RELAY, ROLE_AGENT]),
    // Tempo ledger (set_tempo_price: owner only)
    ("credit_wallet", &[ROLE_RELAY]),
    ("reserve_call", &[ROLE_RELAY]),
    ("settle_call", &[ROLE_RELAY]),
    ("refund_call", &[ROLE_RELAY]),
    // escrow (payer-identity checks inside; expire_escrow: scheduler only). Relay only: wallet
    // accounts are names, not identities, so only the relay (which authenticates the payer) may
    // move an account's funds.
    ("create_escrow", &[ROLE_RELAY]),
    ("release_escrow", &[ROLE_RELAY]),
    ("refund_escrow", &[ROLE_RELAY]),
    // gaze (the reducer also requires the caller to hold gaze_oracle, owner included)
    ("record_gaze_attestation", &[ROLE_GAZE_ORACLE]),
    // payments
    ("use_payment_credential", &[ROLE_RELAY]),
];

/// `Ok` when `role` is one of [`ROLES`].
pub fn validate_role(role: &str) -> Result<(), String> {
    if ROLES.contains(&role) {
        Ok(())
    } else {
        Err(crate::errors::invalid(format!(
            "unknown role '{role}' (expected one of {})",
            ROLES.join(", ")
        )))
    }
}

/// Pure form of the access decision: `held` are the caller's roles, `allowed` the roles the
/// permission table lists for the reducer.
pub fn decide(reducer: &str, held: &[String], allowed: &[String]) -> Result<(), String> {
    if held.iter().any(|r| r == ROLE_OWNER) {
        return Ok(());
    }
    if held.is_empty() {
        return Err(crate::errors::forbidden(format!(
            "caller has no role; an owner must authorize it before it may call {reducer}"
        )));
    }
    if held.iter().any(|r| allowed.contains(r)) {
        return Ok(());
    }
    Err(crate::errors::forbidden(format!(
        "role(s) {} may not call {reducer}",
        held.join(",")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn owner_may_call_anything() {
        assert!(decide("authorize", &s(&["owner"]), &[]).is_ok());
    }

    #[test]
    fn no_role_is_forbidden() {
        let e = decide("store_memory", &[], &s(&["relay"])).unwrap_err();
        assert!(e.starts_with("E_FORBIDDEN: caller has no role"), "{e}");
    }

    #[test]
    fn listed_role_is_allowed_and_others_are_not() {
        assert!(decide("store_memory", &s(&["relay"]), &s(&["relay", "agent"])).is_ok());
        let e = decide("store_memory", &s(&["analyst"]), &s(&["relay"])).unwrap_err();
        assert!(e.starts_with("E_FORBIDDEN"), "{e}");
    }

    #[test]
    fn defaults_name_only_known_roles_and_no_duplicates() {
        let mut names: Vec<&str> = DEFAULT_PERMISSIONS.iter().map(|(r, _)| *r).collect();
        for (_, roles) in DEFAULT_PERMISSIONS {
            for r in *roles {
                assert!(validate_role(r).is_ok());
                assert_ne!(*r, ROLE_OWNER, "owner is implicit");
            }
        }
        names.sort();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }

    #[test]
    fn unknown_role_is_invalid() {
        assert!(validate_role("root").unwrap_err().starts_with("E_INVALID"));
    }
}
