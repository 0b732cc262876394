//! Escrow: an amount held from the payer's wallet for a task, released once to the recipient
//! fixed at creation, refunded to the payer, or expired by a scheduled reducer.
//!
//! Transitions are in `escrow_rules.rs`; wallet movements use the helpers in `ledger.rs`.

use crate::access::{is_owner, require};
use crate::errors::{forbidden, invalid, not_found};
use crate::escrow_rules::{self, EscrowAction, EXPIRED, LOCKED};
use crate::ledger::{self, validate_account, wallet};
use crate::money::Money;
use crate::task_rules::{validate_task_id, validate_token};
use crate::tasks::task;
use spacetimedb::{
    reducer, table, Identity, ReducerContext, ScheduleAt, Table, TimeDuration, Timestamp,
};

#[table(name = escrow, public)]
#[derive(Clone, Debug)]
pub struct Escrow {
    #[primary_key]
    pub id: String,
    /// Must name an existing task at creation.
    #[index(btree)]
    pub task_id: String,
    pub amount: u64,
    pub token: String,
    /// `locked` | `released` | `refunded` | `expired`.
    #[index(btree)]
    pub status: String,
    /// Wallet account the amount is held from.
    #[index(btree)]
    pub payer: String,
    /// Identity that created the escrow; it (or an owner) may release or refund.
    pub payer_identity: Identity,
    /// Wallet account that receives the amount on release; fixed at creation.
    #[index(btree)]
    pub recipient: String,
    /// Release needs a fresh unconsumed gaze attestation for `recipient`.
    pub gaze_required: bool,
    pub created_at: Timestamp,
    #[index(btree)]
    pub created_at_us: i64,
    pub expires_at: Timestamp,
    #[index(btree)]
    pub expires_at_us: i64,
    /// When it was released / refunded / expired; 0 while locked.
    pub finished_at_us: i64,
    /// `scheduled_id` of its `escrow_expiry` row (deleted on release / refund).
    pub expiry_job_id: u64,
}

/// One pending expiry: the scheduler calls `expire_escrow` at `scheduled_at`.
#[table(name = escrow_expiry, scheduled(expire_escrow))]
#[derive(Clone, Debug)]
pub struct EscrowExpiry {
    #[primary_key]
    #[auto_inc]
    pub scheduled_id: u64,
    pub scheduled_at: ScheduleAt,
    pub escrow_id: String,
}

fn find(ctx: &ReducerContext, id: &str) -> Result<Escrow, String> {
    ctx.db
        .escrow()
        .id()
        .find(id.to_string())
        .ok_or_else(|| not_found(format!("escrow '{id}'")))
}

fn require_payer_or_owner(ctx: &ReducerContext, e: &Escrow, what: &str) -> Result<(), String> {
    if ctx.sender == e.payer_identity || is_owner(ctx, ctx.sender) {
        Ok(())
    } else {
        Err(forbidden(format!(
            "only the identity that created escrow '{}' or an owner may {what} it",
            e.id
        )))
    }
}

/// Locks `amount` of `token` from `payer`'s wallet for `task_id`, payable to `recipient`, and
/// schedules its expiry `ttl_seconds` from now.
#[reducer]
#[allow(clippy::too_many_arguments)]
pub fn create_escrow(
    ctx: &ReducerContext,
    id: String,
    task_id: String,
    payer: String,
    recipient: String,
    amount: u64,
    token: String,
    gaze_required: bool,
    ttl_seconds: u32,
) -> Result<(), String> {
    require(ctx, "create_escrow")?;
    validate_task_id("id", &id)?;
    validate_task_id("task_id", &task_id)?;
    validate_account("payer", &payer)?;
    validate_account("recipient", &recipient)?;
    validate_token("token", &token)?;
    escrow_rules::validate_ttl(ttl_seconds)?;
    if amount == 0 {
        return Err(invalid("amount must be positive"));
    }
    if payer == recipient {
        return Err(invalid("payer and recipient must differ"));
    }
    if ctx.db.escrow().id().find(id.clone()).is_some() {
        return Err(crate::errors::conflict(format!(
            "escrow '{id}' already exists"
        )));
    }
    if ctx.db.task().id().find(task_id.clone()).is_none() {
        return Err(not_found(format!("task '{task_id}'")));
    }
    if let Some(w) = ctx.db.wallet().account().find(recipient.clone()) {
        if w.token != token {
            return Err(invalid(format!(
                "recipient wallet '{recipient}' holds {} not {token}",
                w.token
            )));
        }
    }
    ledger::hold(ctx, &payer, &token, Money(amount))?;
    let expires_at = ctx.timestamp + TimeDuration::from_micros(ttl_seconds as i64 * 1_000_000);
    let job = ctx.db.escrow_expiry().insert(EscrowExpiry {
        scheduled_id: 0,
        scheduled_at: expires_at.into(),
        escrow_id: id.clone(),
    });
    ctx.db.escrow().insert(Escrow {
        id,
        task_id,
        amount,
        token,
        status: LOCKED.to_string(),
        payer,
        payer_identity: ctx.sender,
        recipient,
        gaze_required,
        created_at: ctx.timestamp,
        created_at_us: ctx.timestamp.to_micros_since_unix_epoch(),
        expires_at,
        expires_at_us: expires_at.to_micros_since_unix_epoch(),
        finished_at_us: 0,
        expiry_job_id: job.scheduled_id,
    });
    Ok(())
}

fn finish(ctx: &ReducerContext, e: Escrow, status: &str) {
    ctx.db
        .escrow_expiry()
        .scheduled_id()
        .delete(e.expiry_job_id);
    ctx.db.escrow().id().update(Escrow {
        status: status.to_string(),
        finished_at_us: ctx.timestamp.to_micros_since_unix_epoch(),
        ..e
    });
}

/// Pays a locked escrow to its recorded recipient (once). Needs a fresh gaze attestation for the
/// recipient when `gaze_required`. Payer identity or owner only.
#[reducer]
pub fn release_escrow(ctx: &ReducerContext, id: String) -> Result<(), String> {
    require(ctx, "release_escrow")?;
    let e = find(ctx, &id)?;
    require_payer_or_owner(ctx, &e, "release")?;
    let now_us = ctx.timestamp.to_micros_since_unix_epoch();
    let to = escrow_rules::next(&e.status, EscrowAction::Release, now_us, e.expires_at_us)?;
    if e.gaze_required {
        crate::gaze::consume_fresh(ctx, &e.recipient, &format!("escrow:{id}"))?;
    }
    ledger::capture(ctx, &e.payer, Money(e.amount))?;
    ledger::credit(ctx, &e.recipient, &e.token, Money(e.amount))?;
    finish(ctx, e, to);
    Ok(())
}

/// Returns a locked escrow's amount to the payer. Payer identity or owner only; never after
/// release.
#[reducer]
pub fn refund_escrow(ctx: &ReducerContext, id: String) -> Result<(), String> {
    require(ctx, "refund_escrow")?;
    let e = find(ctx, &id)?;
    require_payer_or_owner(ctx, &e, "refund")?;
    let now_us = ctx.timestamp.to_micros_since_unix_epoch();
    let to = escrow_rules::next(&e.status, EscrowAction::Refund, now_us, e.expires_at_us)?;
    ledger::release_hold(ctx, &e.payer, Money(e.amount))?;
    finish(ctx, e, to);
    Ok(())
}

/// Scheduled at each escrow's expiry: a still-locked escrow becomes `expired` and its hold goes
/// back to the payer. Only the scheduler (the module's own identity) may call it.
#[reducer]
pub fn expire_escrow(ctx: &ReducerContext, job: EscrowExpiry) -> Result<(), String> {
    if ctx.sender != ctx.identity() {
        return Err(forbidden("expire_escrow is called by the scheduler only"));
    }
    let Some(e) = ctx.db.escrow().id().find(job.escrow_id.clone()) else {
        return Ok(());
    };
    if e.status != LOCKED {
        return Ok(());
    }
    let now_us = ctx.timestamp.to_micros_since_unix_epoch();
    if now_us < e.expires_at_us {
        // Fired early (should not happen): schedule again rather than leave it locked forever.
        let again = ctx.db.escrow_expiry().insert(EscrowExpiry {
            scheduled_id: 0,
            scheduled_at: e.expires_at.into(),
            escrow_id: e.id.clone(),
        });
        ctx.db.escrow().id().update(Escrow {
            expiry_job_id: again.scheduled_id,
            ..e
        });
        return Ok(());
    }
    escrow_rules::next(&e.status, EscrowAction::Expire, now_us, e.expires_at_us)?;
    ledger::release_hold(ctx, &e.payer, Money(e.amount))?;
    ctx.db.escrow().id().update(Escrow {
        status: EXPIRED.to_string(),
        finished_at_us: now_us,
        ..e
    });
    Ok(())
}
