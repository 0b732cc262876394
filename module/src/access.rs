//! Access control: which identity holds which role, and which roles may call which reducer.
//!
//! Every mutating reducer starts with [`require`]. The policy itself (role names, defaults) is in
//! `policy.rs`; this file only stores and enforces it.

use crate::errors::{conflict, not_found};
use crate::policy::{self, ROLE_OWNER};
use spacetimedb::{reducer, table, Identity, ReducerContext, Table, Timestamp};

/// One role held by one identity. An identity may hold several roles (one row each).
#[table(name = access_grant, public)]
#[derive(Clone, Debug)]
pub struct AccessGrant {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    #[index(btree)]
    pub identity: Identity,
    #[index(btree)]
    pub role: String,
    /// Free-form note, e.g. "relay on host-a".
    pub label: String,
    pub granted_by: Identity,
    pub granted_at: Timestamp,
}

/// One (reducer, role) pair: `role` may call `reducer`. The owner may call everything.
#[table(name = reducer_permission, public)]
#[derive(Clone, Debug)]
pub struct ReducerPermission {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    #[index(btree)]
    pub reducer: String,
    #[index(btree)]
    pub role: String,
}

/// The roles `who` holds.
pub fn roles_of(ctx: &ReducerContext, who: Identity) -> Vec<String> {
    ctx.db
        .access_grant()
        .identity()
        .filter(who)
        .map(|g| g.role)
        .collect()
}

/// Refuses the call unless the sender may call `reducer`. Scheduled calls (sender = the module
/// itself) are always allowed.
pub fn require(ctx: &ReducerContext, reducer: &str) -> Result<(), String> {
    if ctx.sender == ctx.identity() {
        return Ok(());
    }
    let held = roles_of(ctx, ctx.sender);
    let allowed: Vec<String> = ctx
        .db
        .reducer_permission()
        .reducer()
        .filter(reducer)
        .map(|p| p.role)
        .collect();
    policy::decide(reducer, &held, &allowed)
}

/// Inserts a grant unless the identity already holds the role (idempotent).
pub fn grant_role(
    ctx: &ReducerContext,
    who: Identity,
    role: &str,
    label: &str,
) -> Result<(), String> {
    policy::validate_role(role)?;
    crate::text_rules::optional_id("label", label, 200)?;
    if roles_of(ctx, who).iter().any(|r| r == role) {
        return Ok(());
    }
    ctx.db.access_grant().insert(AccessGrant {
        id: 0,
        identity: who,
        role: role.to_string(),
        label: label.to_string(),
        granted_by: ctx.sender,
        granted_at: ctx.timestamp,
    });
    Ok(())
}

/// Writes every default (reducer, role) pair that is missing. Never removes rows, so an owner's
/// additions survive; removals of defaults are undone by the next sync (documented).
pub fn write_default_permissions(ctx: &ReducerContext) -> u32 {
    let mut added = 0;
    for (reducer, roles) in policy::DEFAULT_PERMISSIONS {
        for role in *roles {
            let exists = ctx
                .db
                .reducer_permission()
                .reducer()
                .filter(*reducer)
                .any(|p| p.role == *role);
            if !exists {
                ctx.db.reducer_permission().insert(ReducerPermission {
                    id: 0,
                    reducer: reducer.to_string(),
                    role: role.to_string(),
                });
                added += 1;
            }
        }
    }
    added
}

/// Grants `role` to `identity`. Owner only. Granting a role already held is a no-op.
#[reducer]
pub fn authorize(ctx: &ReducerContext, identity: Identity, role: String) -> Result<(), String> {
    require(ctx, "authorize")?;
    grant_role(ctx, identity, &role, "")?;
    log::info!("authorize {identity} as {role}");
    Ok(())
}

/// Like `authorize` with a note describing the grantee (e.g. "relay on host-a").
#[reducer]
pub fn authorize_labeled(
    ctx: &ReducerContext,
    identity: Identity,
    role: String,
    label: String,
) -> Result<(), String> {
    require(ctx, "authorize_labeled")?;
    grant_role(ctx, identity, &role, &label)
}

/// Removes `role` from `identity`. Owner only; the last owner cannot be removed.
#[reducer]
pub fn revoke(ctx: &ReducerContext, identity: Identity, role: String) -> Result<(), String> {
    require(ctx, "revoke")?;
    policy::validate_role(&role)?;
    let grant = ctx
        .db
        .access_grant()
        .identity()
        .filter(identity)
        .find(|g| g.role == role)
        .ok_or_else(|| not_found(format!("{identity} does not hold role {role}")))?;
    if role == ROLE_OWNER {
        let owners = ctx.db.access_grant().role().filter(ROLE_OWNER).count();
        if owners <= 1 {
            return Err(conflict("cannot revoke the last owner"));
        }
    }
    ctx.db.access_grant().id().delete(grant.id);
    Ok(())
}

/// Allows (`allowed = true`) or forbids `role` to call `reducer`. Owner only.
#[reducer]
pub fn set_permission(
    ctx: &ReducerContext,
    reducer: String,
    role: String,
    allowed: bool,
) -> Result<(), String> {
    require(ctx, "set_permission")?;
    policy::validate_role(&role)?;
    crate::text_rules::required_id("reducer", &reducer, 128)?;
    let existing: Vec<ReducerPermission> = ctx
        .db
        .reducer_permission()
        .reducer()
        .filter(&reducer)
        .filter(|p| p.role == role)
        .collect();
    match (allowed, existing.is_empty()) {
        (true, true) => {
            ctx.db.reducer_permission().insert(ReducerPermission {
                id: 0,
                reducer,
                role,
            });
        }
        (false, false) => {
            for p in existing {
                ctx.db.reducer_permission().id().delete(p.id);
            }
        }
        _ => {}
    }
    Ok(())
}

/// Adds the default permissions of reducers introduced since the database was created (and the
/// default Tempo price row if it is missing).
/// Owner only; the publish scripts call it after every publish.
#[reducer]
pub fn sync_permissions(ctx: &ReducerContext) -> Result<(), String> {
    require(ctx, "sync_permissions")?;
    let added = write_default_permissions(ctx);
    crate::ledger::seed_default_price(ctx);
    log::info!("sync_permissions added {added} rows");
    Ok(())
}

/// True when `who` holds the owner role.
pub fn is_owner(ctx: &ReducerContext, who: Identity) -> bool {
    roles_of(ctx, who).iter().any(|r| r == ROLE_OWNER)
}
