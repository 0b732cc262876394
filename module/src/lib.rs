//! `optx-cortex`: the SpacetimeDB module behind hermes-optx-api.
//!
//! It owns every piece of durable state (memory, chat-session metadata, tasks and their DAG,
//! swarms, the Tempo ledger and wallets, escrow, gaze attestations, single-use payment
//! credentials, access grants) and every rule about it. Tables and reducers live in one file per aggregate; the rules they apply live in
//! plain modules (`*_rules`, `policy`, `errors`) that have no `ctx.db` and are unit-tested natively.

pub mod dag_rules;
pub mod errors;
pub mod escrow_rules;
pub mod money;
pub mod policy;
pub mod pricing_rules;
pub mod swarm_rules;
pub mod task_rules;
pub mod text_rules;

pub mod access;
pub mod escrow;
pub mod gaze;
pub mod ledger;
pub mod memory;
pub mod memory_rules;
pub mod payments;
pub mod session_rules;
pub mod sessions;
pub mod swarm;
pub mod tasks;

use spacetimedb::{reducer, ReducerContext};

/// Runs once when the database is created (and after a `--delete-data` republish): the publisher
/// becomes the owner, the default permission table and the default Tempo price are written.
#[reducer(init)]
pub fn init(ctx: &ReducerContext) -> Result<(), String> {
    access::grant_role(ctx, ctx.sender, policy::ROLE_OWNER, "publisher")?;
    access::write_default_permissions(ctx);
    ledger::seed_default_price(ctx);
    log::info!("optx-cortex initialised; owner {}", ctx.sender);
    Ok(())
}
