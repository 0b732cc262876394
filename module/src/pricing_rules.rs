//! Tempo pricing and settlement math: quoting a reservation and settling actual usage.
//!
//! Pure (no `ctx.db`). All amounts are integer micro-units of the price row's currency; per-token
//! charges round up to the next micro-unit once per call (see [`Money::per_ceil`]).

use crate::errors::invalid;
use crate::money::Money;

/// The default price row seeded at `init`: 0.003 per 1k tokens (input and output), 0.08 margin
/// per call, in USD (the reference bridge's constants).
pub const DEFAULT_MODEL: &str = "default";
pub const DEFAULT_INPUT_PER_1K: u64 = 3_000;
pub const DEFAULT_OUTPUT_PER_1K: u64 = 3_000;
pub const DEFAULT_MARGIN_PER_CALL: u64 = 80_000;
pub const DEFAULT_CURRENCY: &str = "USD";

/// The unit prices that apply to one call (copied into its ledger row at reservation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Price {
    pub input_per_1k: u64,
    pub output_per_1k: u64,
    pub margin_per_call: u64,
}

/// What a call costs: the token cost, the margin, and their sum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Charge {
    pub cost: Money,
    pub margin: Money,
    pub total: Money,
}

/// The outcome of settling a reservation: what is debited, what goes back to the available
/// balance, and what could not be billed because usage exceeded the reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settlement {
    pub charge: Charge,
    /// `min(total, reserved)`: the amount taken from the wallet.
    pub charged: Money,
    /// `reserved - charged`: released back to the available balance.
    pub released: Money,
    /// `total - charged`: usage beyond the reservation, recorded but not debited.
    pub unbilled: Money,
}

/// The charge for actual usage: `ceil((in*input_per_1k + out*output_per_1k) / 1000) + margin`.
pub fn charge(p: Price, input_tokens: u64, output_tokens: u64) -> Result<Charge, String> {
    let num = (input_tokens as u128)
        .checked_mul(p.input_per_1k as u128)
        .and_then(|a| {
            (output_tokens as u128)
                .checked_mul(p.output_per_1k as u128)
                .and_then(|b| a.checked_add(b))
        })
        .ok_or_else(|| invalid("token cost overflows"))?;
    let cost = u64::try_from(num.div_ceil(1000))
        .map(Money)
        .map_err(|_| invalid("token cost overflows u64 micro-units"))?;
    let margin = Money(p.margin_per_call);
    Ok(Charge {
        cost,
        margin,
        total: cost.checked_add(margin)?,
    })
}

/// The amount to hold before a call that may use up to the given token counts.
pub fn quote(p: Price, max_input_tokens: u64, max_output_tokens: u64) -> Result<Money, String> {
    Ok(charge(p, max_input_tokens, max_output_tokens)?.total)
}

/// Settles `reserved` against actual usage. The reservation is the caller's spending cap: usage
/// beyond it is recorded as `unbilled`, never taken from the rest of the wallet.
pub fn settle(
    p: Price,
    reserved: Money,
    input_tokens: u64,
    output_tokens: u64,
) -> Result<Settlement, String> {
    let c = charge(p, input_tokens, output_tokens)?;
    let charged = c.total.min(reserved);
    Ok(Settlement {
        charge: c,
        charged,
        released: reserved.checked_sub(charged)?,
        unbilled: c.total.checked_sub(charged)?,
    })
}

/// Validates a price row.
pub fn validate_price(p: Price, currency: &str) -> Result<(), String> {
    crate::text_rules::required_id("currency", currency, 16)?;
    if !currency
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return Err(invalid("currency must be upper-case letters and digits"));
    }
    // Guard against absurd prices that would overflow a quote for 10M tokens.
    quote(p, 10_000_000, 10_000_000).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Price = Price {
        input_per_1k: DEFAULT_INPUT_PER_1K,
        output_per_1k: DEFAULT_OUTPUT_PER_1K,
        margin_per_call: DEFAULT_MARGIN_PER_CALL,
    };

    #[test]
    fn reference_worked_example() {
        // usage {150, 420} => cost 0.00171, total 0.08171 (bridge §6.3).
        let c = charge(P, 150, 420).unwrap();
        assert_eq!(c.cost, Money(1_710));
        assert_eq!(c.margin, Money(80_000));
        assert_eq!(c.total, Money(81_710));
    }

    #[test]
    fn rounding_is_up_once_per_call() {
        let p = Price {
            input_per_1k: 1,
            output_per_1k: 1,
            margin_per_call: 0,
        };
        // 1 + 1 tokens at 0.001 micro each = 0.002 micro -> 1 micro (not 2).
        assert_eq!(charge(p, 1, 1).unwrap().total, Money(1));
        assert_eq!(charge(p, 0, 0).unwrap().total, Money(0));
        assert_eq!(charge(p, 1000, 1000).unwrap().total, Money(2));
    }

    #[test]
    fn settle_releases_the_unused_part() {
        let reserved = quote(P, 1000, 1000).unwrap();
        assert_eq!(reserved, Money(86_000));
        let s = settle(P, reserved, 150, 420).unwrap();
        assert_eq!(s.charged, Money(81_710));
        assert_eq!(s.released, Money(4_290));
        assert_eq!(s.unbilled, Money(0));
    }

    #[test]
    fn settle_caps_at_the_reservation() {
        let s = settle(P, Money(80_500), 1000, 0).unwrap();
        assert_eq!(s.charge.total, Money(83_000));
        assert_eq!(s.charged, Money(80_500));
        assert_eq!(s.released, Money(0));
        assert_eq!(s.unbilled, Money(2_500));
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        let p = Price {
            input_per_1k: u64::MAX,
            output_per_1k: u64::MAX,
            margin_per_call: u64::MAX,
        };
        assert!(charge(p, u64::MAX, u64::MAX).is_err());
        assert!(validate_price(p, "USD").is_err());
        assert!(validate_price(P, "USD").is_ok());
        assert!(validate_price(P, "usd").is_err());
    }
}
