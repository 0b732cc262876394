//! Single-use store for payment credentials (MPP challenge ids, proofs, transaction hashes):
//! `use_payment_credential` is an atomic put-if-absent; a second use of the same id is refused.
//!
//! It records use only; verifying a credential is the relay's job before it calls the reducer.

use crate::access::require;
use crate::errors::{conflict, invalid};
use crate::text_rules::{bounded_text, optional_id, required_id};
use spacetimedb::{reducer, table, Identity, ReducerContext, Table, Timestamp};

pub const CREDENTIAL_KINDS: [&str; 3] = ["challenge", "proof", "tx"];

#[table(name = payment_credential_use, public)]
#[derive(Clone, Debug)]
pub struct PaymentCredentialUse {
    /// The challenge id / proof digest / tx hash, as the relay normalised it.
    #[primary_key]
    pub credential_id: String,
    /// `challenge` | `proof` | `tx`.
    #[index(btree)]
    pub kind: String,
    /// Payer as the credential names it (DID, address or account); may be "".
    #[index(btree)]
    pub payer: String,
    pub amount: u64,
    pub currency: String,
    /// What the payment bought (route, call id, …).
    pub context: String,
    pub used_by: Identity,
    pub used_at: Timestamp,
    #[index(btree)]
    pub used_at_us: i64,
}

/// Records the first use of a payment credential; `E_CONFLICT` if it was used before.
#[reducer]
pub fn use_payment_credential(
    ctx: &ReducerContext,
    credential_id: String,
    kind: String,
    payer: String,
    amount: u64,
    currency: String,
    context: String,
) -> Result<(), String> {
    require(ctx, "use_payment_credential")?;
    required_id("credential_id", &credential_id, 512)?;
    if !CREDENTIAL_KINDS.contains(&kind.as_str()) {
        return Err(invalid(format!(
            "kind must be one of {}",
            CREDENTIAL_KINDS.join(", ")
        )));
    }
    optional_id("payer", &payer, 256)?;
    if !currency.is_empty() {
        crate::task_rules::validate_token("currency", &currency)?;
    }
    bounded_text("context", &context, 2000)?;
    if ctx
        .db
        .payment_credential_use()
        .credential_id()
        .find(credential_id.clone())
        .is_some()
    {
        return Err(conflict("payment credential was already used"));
    }
    ctx.db
        .payment_credential_use()
        .insert(PaymentCredentialUse {
            credential_id,
            kind,
            payer,
            amount,
            currency,
            context,
            used_by: ctx.sender,
            used_at: ctx.timestamp,
            used_at_us: ctx.timestamp.to_micros_since_unix_epoch(),
        });
    Ok(())
}
