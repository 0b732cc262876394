//! Memory rows in the module: typed `put_memory` / `delete_memory` calls, cache reads of
//! `memory_entry`, and the observer hook through which the row callbacks (registered in
//! `connection.rs`) keep an in-relay index in step. Knows nothing about ranking.

use super::{Store, StoreError};
use optx_client_bindings::*;
use spacetimedb_sdk::Table;
use std::sync::Arc;

/// Arguments of `put_memory` (full upsert by key).
#[derive(Debug, Clone, Default)]
pub struct PutMemory {
    pub key: String,
    pub category: String,
    pub value: String,
    pub source: String,
    pub owner: String,
    pub importance: u8,
    pub session_id: String,
    /// JSON object text ("" = {}).
    pub metadata: String,
    pub expires_at_us: i64,
}

/// Told about every `memory_entry` row change the connection sees.
pub trait MemoryRowObserver: Send + Sync {
    /// A new connection starts with an empty cache.
    fn reset(&self);
    fn upsert(&self, row: &MemoryEntry);
    fn remove(&self, row: &MemoryEntry);
}

impl Store {
    pub async fn put_memory(&self, m: PutMemory) -> Result<(), StoreError> {
        self.call("put_memory", move |c| {
            c.reducers
                .put_memory(
                    m.key,
                    m.category,
                    m.value,
                    m.source,
                    m.owner,
                    m.importance,
                    m.session_id,
                    m.metadata,
                    m.expires_at_us,
                )
                .is_ok()
        })
        .await
    }

    pub async fn delete_memory(&self, key: &str) -> Result<(), StoreError> {
        let key = key.to_string();
        self.call("delete_memory", move |c| {
            c.reducers.delete_memory(key).is_ok()
        })
        .await
    }

    pub fn memory_by_id(&self, id: u64) -> Option<MemoryEntry> {
        self.live()?.conn.db.memory_entry().id().find(&id)
    }

    pub fn memory_by_key(&self, key: &str) -> Option<MemoryEntry> {
        self.live()?
            .conn
            .db
            .memory_entry()
            .key()
            .find(&key.to_string())
    }

    /// Every cached row (empty while disconnected).
    pub fn memory_rows(&self) -> Vec<MemoryEntry> {
        self.live()
            .map(|l| l.conn.db.memory_entry().iter().collect())
            .unwrap_or_default()
    }

    /// True once the current connection's subscription has been applied.
    pub fn subscribed(&self) -> bool {
        self.status().subscribed
    }

    /// Registers an observer and feeds it the rows already cached.
    pub fn observe_memory(&self, observer: Arc<dyn MemoryRowObserver>) {
        if let Ok(mut obs) = self.inner.memory_observers.write() {
            for row in self.memory_rows() {
                observer.upsert(&row);
            }
            obs.push(observer);
        }
    }
}
