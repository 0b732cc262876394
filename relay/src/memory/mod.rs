//! Long-term agent memory behind one trait: the REST shapes (`Memory`, `NewMemory`, `Filters`),
//! the importance mapping, and [`MemoryBackend`], implemented by `spacetimedb`, `holographic` and
//! `sqlite`. Nothing here speaks HTTP; routes validate input before a backend sees it.

pub mod holographic;
pub mod holographic_rules;
pub mod hrr;
pub mod index;
pub mod spacetimedb;
pub mod sqlite;
pub mod text;

use crate::error::ApiError;
use futures::future::BoxFuture;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// `source` written with every memory the relay stores.
pub const SOURCE: &str = "hermes-optx-api";
/// Key prefixes that the old bridge used for tasks, escrows and billing rows in the shared
/// `memory_entry` table: never memories (D-STDB-2), never accepted as a memory key.
pub const NON_MEMORY_KEY_PREFIXES: [&str; 3] = ["task:", "escrow:", "tempo:"];

/// A memory to store (already validated by the route). `key` upserts when given.
#[derive(Debug, Clone)]
pub struct NewMemory {
    pub key: Option<String>,
    pub content: String,
    pub category: String,
    /// Level 1..=10 (see [`importance_level`]).
    pub importance: u8,
    pub metadata: Map<String, Value>,
    pub owner: String,
    pub session_id: String,
}

/// A memory as the REST surface returns it, whatever the backend.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Memory {
    pub id: String,
    pub key: String,
    pub content: String,
    pub category: String,
    /// `importance_level / 10` (the old bridge's 0..1 scale).
    pub importance: f64,
    pub importance_level: u8,
    pub metadata: Value,
    pub owner: String,
    pub session_id: String,
    /// RFC 3339, UTC.
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    /// Hermes trust score (holographic backend only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust: Option<f64>,
    /// Search score (search and recall only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
}

/// Equality filters shared by list and search; `None` = any.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub category: Option<String>,
    pub owner: Option<String>,
    pub session_id: Option<String>,
}

impl Filters {
    pub fn admits(&self, category: &str, owner: &str, session_id: &str) -> bool {
        self.category.as_deref().is_none_or(|c| c == category)
            && self.owner.as_deref().is_none_or(|o| o == owner)
            && self.session_id.as_deref().is_none_or(|s| s == session_id)
    }
}

/// One page of a listing plus the number of memories matching the filters.
#[derive(Debug, Clone)]
pub struct Listing {
    pub memories: Vec<Memory>,
    pub total: usize,
}

#[derive(Debug, Clone)]
pub struct Stats {
    pub count: usize,
    pub by_category: BTreeMap<String, usize>,
    /// `ok` or `degraded` / `unavailable`, plus backend details (paths, connection).
    pub status: &'static str,
    pub detail: Value,
}

/// The one interface every backend implements. Futures are boxed so the trait stays object-safe.
pub trait MemoryBackend: Send + Sync {
    /// `spacetimedb`, `holographic` or `sqlite`.
    fn name(&self) -> &'static str;
    /// Stores (or, with a known key, updates) a memory and returns it as stored.
    fn store(&self, m: NewMemory) -> BoxFuture<'_, Result<Memory, ApiError>>;
    fn get(&self, id: String) -> BoxFuture<'_, Result<Option<Memory>, ApiError>>;
    /// `Ok(false)` when nothing had that id.
    fn delete(&self, id: String) -> BoxFuture<'_, Result<bool, ApiError>>;
    /// Newest first.
    fn list(
        &self,
        filters: Filters,
        limit: usize,
        offset: usize,
    ) -> BoxFuture<'_, Result<Listing, ApiError>>;
    /// Best first, each with `score`; any text is a valid query.
    fn search(
        &self,
        query: String,
        filters: Filters,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Memory>, ApiError>>;
    fn stats(&self) -> BoxFuture<'_, Result<Stats, ApiError>>;
}

pub type SharedBackend = Arc<dyn MemoryBackend>;

/// Importance on the REST surface: a fraction in `[0, 1]` (the old bridge's scale; `0.9` → 9) or
/// an integer level `1..=10` written without a fraction part. A JSON integer `1` is level 1, a
/// float `1.0` is the fraction 1.0 = level 10. Fractions round half up and never go below 1.
pub fn importance_level(v: &Value) -> Result<u8, String> {
    const MSG: &str = "importance must be a fraction in [0, 1] or an integer level 1..10";
    let n = v.as_number().ok_or(MSG)?;
    if let Some(i) = n.as_u64().filter(|_| !n.is_f64()) {
        return match i {
            0 => Ok(1),
            1..=10 => Ok(i as u8),
            _ => Err(MSG.into()),
        };
    }
    let f = n.as_f64().ok_or(MSG)?;
    if !(0.0..=1.0).contains(&f) {
        return Err(MSG.into());
    }
    Ok(((f * 10.0).round() as u8).clamp(1, 10))
}

/// A fresh memory key: `mem:` and 12 hex digits (the old bridge's id length).
pub fn new_key() -> String {
    format!("mem:{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff)
}

/// Microseconds since the Unix epoch, now.
pub fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// RFC 3339 (UTC, microseconds) of a Unix time in micros.
pub fn rfc3339_us(us: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
}

/// The relevance blend shared by the spacetimedb and sqlite backends: keyword relevance
/// (normalised to the best hit, so 0..1) dominates; importance and recency (half-life 30 days)
/// break near-ties. Deterministic for equal inputs.
pub fn blend(relevance: f64, importance: u8, updated_us: i64, now_us: i64) -> f64 {
    const HALF_LIFE_US: f64 = 30.0 * 86_400.0 * 1e6;
    let age = (now_us - updated_us).max(0) as f64;
    let recency = 0.5f64.powf(age / HALF_LIFE_US);
    0.85 * relevance + 0.10 * (f64::from(importance) / 10.0) + 0.05 * recency
}

/// Builds the configured backend. `store` is the SpacetimeDB connection (for `spacetimedb`).
pub fn build(
    config: &crate::config::Config,
    store: Option<&crate::store::Store>,
) -> anyhow::Result<SharedBackend> {
    match config.effective_memory_backend() {
        "spacetimedb" => {
            let store = store.cloned().ok_or_else(|| {
                anyhow::anyhow!("MEMORY_BACKEND=spacetimedb needs SPACETIMEDB_URL")
            })?;
            Ok(Arc::new(spacetimedb::SpacetimeBackend::new(store)))
        }
        "holographic" => Ok(Arc::new(holographic::HolographicBackend::open(
            &config.holographic_db_path(),
        )?)),
        "sqlite" => Ok(Arc::new(sqlite::SqliteBackend::open(
            &config.sqlite_memory_path()?,
        )?)),
        other => anyhow::bail!(
            "unknown MEMORY_BACKEND '{other}': use spacetimedb, holographic, sqlite or auto"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn importance_accepts_fractions_and_levels() {
        assert_eq!(importance_level(&json!(0.9)), Ok(9));
        assert_eq!(importance_level(&json!(0.55)), Ok(6));
        assert_eq!(importance_level(&json!(0.5)), Ok(5));
        assert_eq!(importance_level(&json!(0.0)), Ok(1));
        assert_eq!(importance_level(&json!(0)), Ok(1));
        assert_eq!(importance_level(&json!(1.0)), Ok(10));
        assert_eq!(importance_level(&json!(1)), Ok(1));
        assert_eq!(importance_level(&json!(7)), Ok(7));
        assert_eq!(importance_level(&json!(10)), Ok(10));
        for bad in [
            json!(42),
            json!(11),
            json!(-1),
            json!(5.5),
            json!("high"),
            json!(null),
        ] {
            assert!(importance_level(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn blend_prefers_relevance_then_importance_then_recency() {
        let now = 1_000_000_000_000_000;
        assert!(blend(1.0, 1, 0, now) > blend(0.8, 10, now, now));
        assert!(blend(0.5, 6, now, now) > blend(0.5, 5, now, now));
        assert!(blend(0.5, 5, now, now) > blend(0.5, 5, now - 86_400_000_000, now));
    }
}
