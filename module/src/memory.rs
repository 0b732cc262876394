//! Long-term agent memory: the `memory_entry` table and the reducers that write it.
//!
//! Compatible with existing `optx-cortex` clients (`store_memory` / `delete_memory` argument
//! orders, upsert by `key`). Validation lives in `memory_rules.rs`.

use crate::access::require;
use crate::errors::not_found;
use crate::memory_rules::{validate, MemoryInput};
use spacetimedb::{reducer, table, Identity, ReducerContext, Table, Timestamp};

#[table(name = memory_entry, public)]
#[derive(Clone, Debug)]
pub struct MemoryEntry {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    /// Client-chosen unique key (`mem:<id>`, `task:<id>`, …); writes upsert by it.
    #[unique]
    pub key: String,
    #[index(btree)]
    pub category: String,
    /// The memory text (often JSON for structured clients).
    pub value: String,
    pub source: String,
    #[index(btree)]
    pub owner: String,
    /// 1..=10.
    pub importance: u8,
    #[index(btree)]
    pub session_id: String,
    /// JSON object as text ("" = `{}`).
    pub metadata: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[index(btree)]
    pub created_at_us: i64,
    #[index(btree)]
    pub updated_at_us: i64,
    /// 0 = never expires.
    pub expires_at_us: i64,
    /// Bumped on every write; lets readers detect lost updates.
    pub revision: u64,
    pub access_count: u64,
    pub last_accessed_us: i64,
    /// Identity that made the last write.
    pub written_by: Identity,
}

fn upsert(ctx: &ReducerContext, m: MemoryInput<'_>, keep_metadata: bool) -> Result<(), String> {
    validate(&m)?;
    let now = ctx.timestamp;
    let now_us = now.to_micros_since_unix_epoch();
    match ctx.db.memory_entry().key().find(m.key.to_string()) {
        Some(old) => {
            let metadata = if keep_metadata {
                old.metadata.clone()
            } else {
                m.metadata.to_string()
            };
            ctx.db.memory_entry().id().update(MemoryEntry {
                category: m.category.to_string(),
                value: m.value.to_string(),
                source: m.source.to_string(),
                owner: m.owner.to_string(),
                importance: m.importance,
                session_id: m.session_id.to_string(),
                metadata,
                updated_at: now,
                updated_at_us: now_us,
                expires_at_us: if keep_metadata {
                    old.expires_at_us
                } else {
                    m.expires_at_us
                },
                revision: old.revision.saturating_add(1),
                written_by: ctx.sender,
                ..old
            });
        }
        None => {
            ctx.db.memory_entry().insert(MemoryEntry {
                id: 0,
                key: m.key.to_string(),
                category: m.category.to_string(),
                value: m.value.to_string(),
                source: m.source.to_string(),
                owner: m.owner.to_string(),
                importance: m.importance,
                session_id: m.session_id.to_string(),
                metadata: m.metadata.to_string(),
                created_at: now,
                updated_at: now,
                created_at_us: now_us,
                updated_at_us: now_us,
                expires_at_us: m.expires_at_us,
                revision: 1,
                access_count: 0,
                last_accessed_us: 0,
                written_by: ctx.sender,
            });
        }
    }
    Ok(())
}

/// Stores or updates (by `key`) a memory. Argument order is the existing clients' contract.
/// An update keeps the entry's id, creation time and metadata.
#[reducer]
#[allow(clippy::too_many_arguments)]
pub fn store_memory(
    ctx: &ReducerContext,
    category: String,
    key: String,
    value: String,
    source: String,
    owner: String,
    importance: u8,
    session_id: String,
) -> Result<(), String> {
    require(ctx, "store_memory")?;
    upsert(
        ctx,
        MemoryInput {
            key: &key,
            category: &category,
            value: &value,
            source: &source,
            owner: &owner,
            importance,
            session_id: &session_id,
            metadata: "",
            expires_at_us: 0,
        },
        true,
    )
}

/// Full upsert by `key`, including metadata (JSON object text) and expiry (0 = never).
#[reducer]
#[allow(clippy::too_many_arguments)]
pub fn put_memory(
    ctx: &ReducerContext,
    key: String,
    category: String,
    value: String,
    source: String,
    owner: String,
    importance: u8,
    session_id: String,
    metadata: String,
    expires_at_us: i64,
) -> Result<(), String> {
    require(ctx, "put_memory")?;
    upsert(
        ctx,
        MemoryInput {
            key: &key,
            category: &category,
            value: &value,
            source: &source,
            owner: &owner,
            importance,
            session_id: &session_id,
            metadata: &metadata,
            expires_at_us,
        },
        false,
    )
}

/// Deletes the memory with this `key`. For clients that pass the numeric id instead, a key that
/// matches no row but parses as an id deletes that row.
#[reducer]
pub fn delete_memory(ctx: &ReducerContext, key: String) -> Result<(), String> {
    require(ctx, "delete_memory")?;
    if ctx.db.memory_entry().key().delete(key.clone()) {
        return Ok(());
    }
    if let Ok(id) = key.parse::<u64>() {
        if ctx.db.memory_entry().id().delete(id) {
            return Ok(());
        }
    }
    Err(not_found(format!("memory '{key}'")))
}

/// Records a read of memory `id` (access count and time).
#[reducer]
pub fn touch_memory(ctx: &ReducerContext, id: u64) -> Result<(), String> {
    require(ctx, "touch_memory")?;
    let row = ctx
        .db
        .memory_entry()
        .id()
        .find(id)
        .ok_or_else(|| not_found(format!("memory {id}")))?;
    ctx.db.memory_entry().id().update(MemoryEntry {
        access_count: row.access_count.saturating_add(1),
        last_accessed_us: ctx.timestamp.to_micros_since_unix_epoch(),
        ..row
    });
    Ok(())
}
