//! `Money`: an amount in integer micro-units (1 unit = 1_000_000 micro) with checked arithmetic.
//!
//! Every balance, price and fee in the module goes through this type; there are no floats and no
//! wrapping arithmetic. Overflow and underflow are reported as `E_INVALID` / `E_INSUFFICIENT_FUNDS`.

use crate::errors::{err, invalid, E_INSUFFICIENT_FUNDS};

/// Micro-units per whole unit (so 0.003 USD = 3_000 micro-USD).
pub const MICROS_PER_UNIT: u64 = 1_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Money(pub u64);

impl Money {
    pub const ZERO: Money = Money(0);

    pub fn micros(self) -> u64 {
        self.0
    }

    /// `self + other`, `E_INVALID` on overflow.
    pub fn checked_add(self, other: Money) -> Result<Money, String> {
        self.0
            .checked_add(other.0)
            .map(Money)
            .ok_or_else(|| invalid("amount overflows u64 micro-units"))
    }

    /// `self - other`, `E_INSUFFICIENT_FUNDS` when `other > self`.
    pub fn checked_sub(self, other: Money) -> Result<Money, String> {
        self.0.checked_sub(other.0).map(Money).ok_or_else(|| {
            err(
                E_INSUFFICIENT_FUNDS,
                format!("{} needed but only {} available", other, self),
            )
        })
    }

    /// `ceil(quantity * self / per)`: the price of `quantity` items when `self` is the price of
    /// `per` items, rounded **up** to the next micro-unit (the house never under-charges by a
    /// fraction of a micro-unit). Computed in u128 so the product cannot overflow.
    pub fn per_ceil(self, quantity: u64, per: u64) -> Result<Money, String> {
        if per == 0 {
            return Err(invalid("division by zero in price"));
        }
        let num = (self.0 as u128) * (quantity as u128);
        let q = num.div_ceil(per as u128);
        u64::try_from(q)
            .map(Money)
            .map_err(|_| invalid("amount overflows u64 micro-units"))
    }
}

impl std::fmt::Display for Money {
    /// Renders as a decimal with six places, e.g. `0.081710`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}.{:06}",
            self.0 / MICROS_PER_UNIT,
            self.0 % MICROS_PER_UNIT
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_and_sub_are_checked() {
        assert_eq!(Money(2).checked_add(Money(3)).unwrap(), Money(5));
        assert!(Money(u64::MAX)
            .checked_add(Money(1))
            .unwrap_err()
            .starts_with("E_INVALID"));
        assert_eq!(Money(5).checked_sub(Money(5)).unwrap(), Money::ZERO);
        let e = Money(4).checked_sub(Money(5)).unwrap_err();
        assert!(e.starts_with("E_INSUFFICIENT_FUNDS"), "{e}");
    }

    #[test]
    fn per_ceil_rounds_up_and_never_overflows_midway() {
        // 570 tokens at 3000 micro per 1k = 1710 micro exactly.
        assert_eq!(Money(3000).per_ceil(570, 1000).unwrap(), Money(1710));
        // 1 token at 1 micro per 1k = 0.001 micro, rounded up to 1.
        assert_eq!(Money(1).per_ceil(1, 1000).unwrap(), Money(1));
        assert_eq!(Money(1).per_ceil(0, 1000).unwrap(), Money(0));
        // u64::MAX * 2 / 2 fits although the product does not fit u64.
        assert_eq!(Money(u64::MAX).per_ceil(2, 2).unwrap(), Money(u64::MAX));
        assert!(Money(u64::MAX).per_ceil(3, 2).is_err());
        assert!(Money(1).per_ceil(1, 0).is_err());
    }

    #[test]
    fn display_has_six_decimals() {
        assert_eq!(Money(81_710).to_string(), "0.081710");
        assert_eq!(Money(12_000_001).to_string(), "12.000001");
    }
}
