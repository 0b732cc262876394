//! Tempo billing: per-model prices, wallets (balance + reserved), and the `tempo_call` ledger with
//! a gap-free sequence. Reducers: set price, credit, reserve → settle | refund.
//!
//! Wallet helpers (`hold`, `release_hold`, `capture`, `credit`) are also used by `escrow.rs`; the
//! money math lives in `money.rs` / `pricing_rules.rs`.

use crate::access::require;
use crate::errors::{conflict, invalid, not_found};
use crate::money::Money;
use crate::pricing_rules::{self, Price};
use crate::task_rules::validate_token;
use crate::text_rules::{bounded_text, required_id};
use spacetimedb::{reducer, table, Identity, ReducerContext, Table, Timestamp};

pub const CALL_RESERVED: &str = "reserved";
pub const CALL_SETTLED: &str = "settled";
pub const CALL_REFUNDED: &str = "refunded";
/// Name of the `ledger_counter` row that numbers `tempo_call` rows.
pub const TEMPO_CALL_SEQUENCE: &str = "tempo_call";

/// Price of one model (`default` applies to models without a row). Amounts in micro-units of
/// `currency`.
#[table(name = tempo_price, public)]
#[derive(Clone, Debug)]
pub struct TempoPrice {
    #[primary_key]
    pub model: String,
    pub input_per_1k: u64,
    pub output_per_1k: u64,
    pub margin_per_call: u64,
    pub currency: String,
    pub updated_at: Timestamp,
    pub updated_at_us: i64,
    pub updated_by: Identity,
}

/// One account's funds in one token. `reserved` is held for pending calls and locked escrows;
/// `balance - reserved` is available. Invariant: `reserved <= balance`.
#[table(name = wallet, public)]
#[derive(Clone, Debug)]
pub struct Wallet {
    #[primary_key]
    pub account: String,
    #[index(btree)]
    pub token: String,
    pub balance: u64,
    pub reserved: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[index(btree)]
    pub updated_at_us: i64,
}

/// A named gap-free counter: `next` is the number the next row gets. Read and bumped in the same
/// transaction as the insert, so committed numbers are 1, 2, 3, … without holes (unlike auto_inc).
#[table(name = ledger_counter, public)]
#[derive(Clone, Debug)]
pub struct LedgerCounter {
    #[primary_key]
    pub name: String,
    pub next: u64,
}

/// One metered upstream call. Created at reservation (`reserved`), then `settled` or `refunded`.
#[table(name = tempo_call, public)]
#[derive(Clone, Debug)]
pub struct TempoCall {
    #[primary_key]
    pub call_id: String,
    /// Gap-free 1, 2, 3, … in reservation order.
    #[unique]
    pub seq: u64,
    #[index(btree)]
    pub account: String,
    pub caller: Identity,
    #[index(btree)]
    pub model: String,
    pub currency: String,
    /// Unit prices in force at reservation (they apply at settlement too).
    pub input_per_1k: u64,
    pub output_per_1k: u64,
    pub margin_per_call: u64,
    pub max_input_tokens: u64,
    pub max_output_tokens: u64,
    pub reserved_amount: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub total_tokens: u64,
    pub cost: u64,
    pub margin: u64,
    /// cost + margin.
    pub total: u64,
    /// min(total, reserved_amount): what was debited.
    pub charged: u64,
    /// total - charged: usage beyond the reservation, not debited.
    pub unbilled: u64,
    pub latency_ms: u64,
    /// `reserved` | `settled` | `refunded`.
    #[index(btree)]
    pub state: String,
    pub note: String,
    pub created_at: Timestamp,
    #[index(btree)]
    pub created_at_us: i64,
    /// 0 while reserved.
    pub finished_at_us: i64,
}

/// Account names: 1..=128 chars of letters, digits and `_ - . : @`.
pub fn validate_account(field: &str, account: &str) -> Result<(), String> {
    required_id(field, account, 128)?;
    if !account
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '@'))
    {
        return Err(invalid(format!(
            "{field} may only contain letters, digits and _ - . : @"
        )));
    }
    Ok(())
}

/// Writes the default price row if it is missing (init and `sync_permissions`).
pub fn seed_default_price(ctx: &ReducerContext) {
    if ctx
        .db
        .tempo_price()
        .model()
        .find(pricing_rules::DEFAULT_MODEL.to_string())
        .is_none()
    {
        ctx.db.tempo_price().insert(TempoPrice {
            model: pricing_rules::DEFAULT_MODEL.to_string(),
            input_per_1k: pricing_rules::DEFAULT_INPUT_PER_1K,
            output_per_1k: pricing_rules::DEFAULT_OUTPUT_PER_1K,
            margin_per_call: pricing_rules::DEFAULT_MARGIN_PER_CALL,
            currency: pricing_rules::DEFAULT_CURRENCY.to_string(),
            updated_at: ctx.timestamp,
            updated_at_us: ctx.timestamp.to_micros_since_unix_epoch(),
            updated_by: ctx.sender,
        });
    }
}

/// Takes the next number of a gap-free counter (creating it at 1).
pub fn next_seq(ctx: &ReducerContext, name: &str) -> Result<u64, String> {
    let existing = ctx.db.ledger_counter().name().find(name.to_string());
    let current = existing.as_ref().map_or(1, |c| c.next);
    let row = LedgerCounter {
        name: name.to_string(),
        next: current
            .checked_add(1)
            .ok_or_else(|| invalid("sequence exhausted"))?,
    };
    if existing.is_some() {
        ctx.db.ledger_counter().name().update(row);
    } else {
        ctx.db.ledger_counter().insert(row);
    }
    Ok(current)
}

fn find_wallet(ctx: &ReducerContext, account: &str) -> Result<Wallet, String> {
    ctx.db
        .wallet()
        .account()
        .find(account.to_string())
        .ok_or_else(|| not_found(format!("wallet '{account}'")))
}

fn save_wallet(ctx: &ReducerContext, w: Wallet) {
    let now = ctx.timestamp;
    ctx.db.wallet().account().update(Wallet {
        updated_at: now,
        updated_at_us: now.to_micros_since_unix_epoch(),
        ..w
    });
}

/// Moves `amount` of `account`'s available balance into `reserved`.
pub fn hold(ctx: &ReducerContext, account: &str, token: &str, amount: Money) -> Result<(), String> {
    let w = find_wallet(ctx, account)?;
    if w.token != token {
        return Err(invalid(format!(
            "wallet '{account}' holds {} not {token}",
            w.token
        )));
    }
    let available = Money(w.balance).checked_sub(Money(w.reserved))?;
    available.checked_sub(amount)?; // E_INSUFFICIENT_FUNDS when it does not fit
    let reserved = Money(w.reserved).checked_add(amount)?.micros();
    save_wallet(ctx, Wallet { reserved, ..w });
    Ok(())
}

/// Returns `amount` from `reserved` to the available balance.
pub fn release_hold(ctx: &ReducerContext, account: &str, amount: Money) -> Result<(), String> {
    let w = find_wallet(ctx, account)?;
    let reserved = Money(w.reserved)
        .checked_sub(amount)
        .map_err(|_| conflict(format!("wallet '{account}' holds less than {amount}")))?
        .micros();
    save_wallet(ctx, Wallet { reserved, ..w });
    Ok(())
}

/// Debits `amount` that was held: both `reserved` and `balance` go down.
pub fn capture(ctx: &ReducerContext, account: &str, amount: Money) -> Result<(), String> {
    let w = find_wallet(ctx, account)?;
    let short = |_| conflict(format!("wallet '{account}' holds less than {amount}"));
    let reserved = Money(w.reserved)
        .checked_sub(amount)
        .map_err(short)?
        .micros();
    let balance = Money(w.balance)
        .checked_sub(amount)
        .map_err(short)?
        .micros();
    save_wallet(
        ctx,
        Wallet {
            reserved,
            balance,
            ..w
        },
    );
    Ok(())
}

/// Adds `amount` to `account` (creating the wallet in `token` if it does not exist).
pub fn credit(
    ctx: &ReducerContext,
    account: &str,
    token: &str,
    amount: Money,
) -> Result<(), String> {
    match ctx.db.wallet().account().find(account.to_string()) {
        Some(w) => {
            if w.token != token {
                return Err(invalid(format!(
                    "wallet '{account}' holds {} not {token}",
                    w.token
                )));
            }
            let balance = Money(w.balance).checked_add(amount)?.micros();
            save_wallet(ctx, Wallet { balance, ..w });
        }
        None => {
            let now = ctx.timestamp;
            ctx.db.wallet().insert(Wallet {
                account: account.to_string(),
                token: token.to_string(),
                balance: amount.micros(),
                reserved: 0,
                created_at: now,
                updated_at: now,
                updated_at_us: now.to_micros_since_unix_epoch(),
            });
        }
    }
    Ok(())
}

fn price_for(ctx: &ReducerContext, model: &str) -> Result<TempoPrice, String> {
    ctx.db
        .tempo_price()
        .model()
        .find(model.to_string())
        .or_else(|| {
            ctx.db
                .tempo_price()
                .model()
                .find(pricing_rules::DEFAULT_MODEL.to_string())
        })
        .ok_or_else(|| not_found(format!("no price for model '{model}' and no default price")))
}

/// Sets (or creates) the price row of `model`. Owner only.
#[reducer]
pub fn set_tempo_price(
    ctx: &ReducerContext,
    model: String,
    input_per_1k: u64,
    output_per_1k: u64,
    margin_per_call: u64,
    currency: String,
) -> Result<(), String> {
    require(ctx, "set_tempo_price")?;
    required_id("model", &model, 200)?;
    let p = Price {
        input_per_1k,
        output_per_1k,
        margin_per_call,
    };
    pricing_rules::validate_price(p, &currency)?;
    let row = TempoPrice {
        model: model.clone(),
        input_per_1k,
        output_per_1k,
        margin_per_call,
        currency,
        updated_at: ctx.timestamp,
        updated_at_us: ctx.timestamp.to_micros_since_unix_epoch(),
        updated_by: ctx.sender,
    };
    if ctx.db.tempo_price().model().find(model).is_some() {
        ctx.db.tempo_price().model().update(row);
    } else {
        ctx.db.tempo_price().insert(row);
    }
    Ok(())
}

/// Adds funds to a wallet (creating it in `token`). A wallet holds exactly one token.
#[reducer]
pub fn credit_wallet(
    ctx: &ReducerContext,
    account: String,
    token: String,
    amount: u64,
) -> Result<(), String> {
    require(ctx, "credit_wallet")?;
    validate_account("account", &account)?;
    validate_token("token", &token)?;
    if amount == 0 {
        return Err(invalid("amount must be positive"));
    }
    credit(ctx, &account, &token, Money(amount))
}

/// Holds the most a call can cost (`max_*_tokens` at the model's price plus the margin) before
/// the upstream call, and appends its ledger row (`reserved`, next sequence number).
#[reducer]
pub fn reserve_call(
    ctx: &ReducerContext,
    call_id: String,
    account: String,
    model: String,
    max_input_tokens: u64,
    max_output_tokens: u64,
) -> Result<(), String> {
    require(ctx, "reserve_call")?;
    crate::task_rules::validate_task_id("call_id", &call_id)?;
    validate_account("account", &account)?;
    required_id("model", &model, 200)?;
    if ctx
        .db
        .tempo_call()
        .call_id()
        .find(call_id.clone())
        .is_some()
    {
        return Err(conflict(format!("call '{call_id}' already exists")));
    }
    let price = price_for(ctx, &model)?;
    let p = Price {
        input_per_1k: price.input_per_1k,
        output_per_1k: price.output_per_1k,
        margin_per_call: price.margin_per_call,
    };
    let amount = pricing_rules::quote(p, max_input_tokens, max_output_tokens)?;
    hold(ctx, &account, &price.currency, amount)?;
    let seq = next_seq(ctx, TEMPO_CALL_SEQUENCE)?;
    ctx.db.tempo_call().insert(TempoCall {
        call_id,
        seq,
        account,
        caller: ctx.sender,
        model,
        currency: price.currency,
        input_per_1k: p.input_per_1k,
        output_per_1k: p.output_per_1k,
        margin_per_call: p.margin_per_call,
        max_input_tokens,
        max_output_tokens,
        reserved_amount: amount.micros(),
        input_tokens: 0,
        output_tokens: 0,
        total_tokens: 0,
        cost: 0,
        margin: 0,
        total: 0,
        charged: 0,
        unbilled: 0,
        latency_ms: 0,
        state: CALL_RESERVED.to_string(),
        note: String::new(),
        created_at: ctx.timestamp,
        created_at_us: ctx.timestamp.to_micros_since_unix_epoch(),
        finished_at_us: 0,
    });
    Ok(())
}

fn reserved_call(ctx: &ReducerContext, call_id: &str) -> Result<TempoCall, String> {
    let c = ctx
        .db
        .tempo_call()
        .call_id()
        .find(call_id.to_string())
        .ok_or_else(|| not_found(format!("call '{call_id}'")))?;
    if c.state != CALL_RESERVED {
        return Err(conflict(format!("call '{call_id}' is already {}", c.state)));
    }
    Ok(c)
}

/// Settles a reserved call with its actual usage: debits `min(total, reserved)`, releases the
/// rest of the reservation, and records cost / margin / total / latency.
#[reducer]
pub fn settle_call(
    ctx: &ReducerContext,
    call_id: String,
    input_tokens: u64,
    output_tokens: u64,
    latency_ms: u64,
) -> Result<(), String> {
    require(ctx, "settle_call")?;
    let c = reserved_call(ctx, &call_id)?;
    let p = Price {
        input_per_1k: c.input_per_1k,
        output_per_1k: c.output_per_1k,
        margin_per_call: c.margin_per_call,
    };
    let s = pricing_rules::settle(p, Money(c.reserved_amount), input_tokens, output_tokens)?;
    capture(ctx, &c.account, s.charged)?;
    release_hold(ctx, &c.account, s.released)?;
    let total_tokens = input_tokens
        .checked_add(output_tokens)
        .ok_or_else(|| invalid("token counts overflow"))?;
    ctx.db.tempo_call().call_id().update(TempoCall {
        input_tokens,
        output_tokens,
        total_tokens,
        cost: s.charge.cost.micros(),
        margin: s.charge.margin.micros(),
        total: s.charge.total.micros(),
        charged: s.charged.micros(),
        unbilled: s.unbilled.micros(),
        latency_ms,
        state: CALL_SETTLED.to_string(),
        finished_at_us: ctx.timestamp.to_micros_since_unix_epoch(),
        ..c
    });
    Ok(())
}

/// Cancels a reserved call (upstream failed): the whole reservation goes back, nothing is charged.
#[reducer]
pub fn refund_call(ctx: &ReducerContext, call_id: String, note: String) -> Result<(), String> {
    require(ctx, "refund_call")?;
    bounded_text("note", &note, 2000)?;
    let c = reserved_call(ctx, &call_id)?;
    release_hold(ctx, &c.account, Money(c.reserved_amount))?;
    ctx.db.tempo_call().call_id().update(TempoCall {
        state: CALL_REFUNDED.to_string(),
        note,
        finished_at_us: ctx.timestamp.to_micros_since_unix_epoch(),
        ..c
    });
    Ok(())
}
