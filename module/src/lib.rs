//! `optx-cortex`: the SpacetimeDB module behind hermes-optx-api.
//!
//! It owns every piece of durable state (memory, chat-session metadata, access grants) and every
//! rule about it. Tables and reducers live in one file per aggregate; the rules they apply live in
//! plain modules (`*_rules`, `policy`, `errors`) that have no `ctx.db` and are unit-tested natively.

pub mod errors;
pub mod policy;
pub mod text_rules;

pub mod access;
pub mod memory;
pub mod memory_rules;
pub mod session_rules;
pub mod sessions;

use spacetimedb::{reducer, ReducerContext};

/// Runs once when the database is created (and after a `--delete-data` republish): the publisher
/// becomes the owner and the default permission table is written.
#[reducer(init)]
pub fn init(ctx: &ReducerContext) -> Result<(), String> {
    access::grant_role(ctx, ctx.sender, policy::ROLE_OWNER, "publisher")?;
    access::write_default_permissions(ctx);
    log::info!("optx-cortex initialised; owner {}", ctx.sender);
    Ok(())
}
