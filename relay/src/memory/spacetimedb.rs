//! The `spacetimedb` memory backend: writes through the module's `put_memory` / `delete_memory`
//! reducers, reads rows from the subscription cache, and searches the in-relay [`SearchIndex`]
//! that the row callbacks keep in step. Rows under the old bridge's task/escrow/billing key
//! prefixes are not memories and never appear here.

use super::index::{DocInfo, IndexDoc, SearchIndex};
use super::{Filters, Listing, Memory, MemoryBackend, NewMemory, Stats, NON_MEMORY_KEY_PREFIXES};
use crate::error::ApiError;
use crate::store::memory::{MemoryRowObserver, PutMemory};
use crate::store::{Store, StoreError};
use futures::future::BoxFuture;
use futures::FutureExt;
use optx_client_bindings::MemoryEntry;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

pub struct SpacetimeBackend {
    store: Store,
    index: Arc<SearchIndex>,
}

/// Feeds `memory_entry` row changes into the index.
struct IndexObserver(Arc<SearchIndex>);

impl MemoryRowObserver for IndexObserver {
    fn reset(&self) {
        self.0.clear();
    }
    fn upsert(&self, row: &MemoryEntry) {
        if !is_memory_key(&row.key) {
            self.0.remove(row.id);
            return;
        }
        let (content, _) = content_and_metadata(row);
        self.0.upsert(IndexDoc {
            id: row.id,
            content: &content,
            info: DocInfo {
                category: row.category.clone(),
                owner: row.owner.clone(),
                session_id: row.session_id.clone(),
                importance: row.importance,
                updated_us: row.updated_at_us,
                expires_us: row.expires_at_us,
            },
        });
    }
    fn remove(&self, row: &MemoryEntry) {
        self.0.remove(row.id);
    }
}

fn is_memory_key(key: &str) -> bool {
    !NON_MEMORY_KEY_PREFIXES.iter().any(|p| key.starts_with(p))
}

fn live(row: &MemoryEntry, now_us: i64) -> bool {
    is_memory_key(&row.key) && (row.expires_at_us == 0 || row.expires_at_us > now_us)
}

/// The text and metadata of a row. Rows the old Python bridge wrote keep
/// `{"content": …, "metadata": …}` JSON in `value`; those are unwrapped.
fn content_and_metadata(row: &MemoryEntry) -> (String, Value) {
    let own: Value = serde_json::from_str(&row.metadata)
        .ok()
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}));
    if row.key.starts_with("mem:") && row.value.starts_with('{') {
        if let Ok(Value::Object(v)) = serde_json::from_str::<Value>(&row.value) {
            if let Some(Value::String(c)) = v.get("content") {
                let legacy = v.get("metadata").filter(|m| m.is_object()).cloned();
                let meta = match (own.as_object().is_some_and(Map::is_empty), legacy) {
                    (true, Some(m)) => m,
                    _ => own,
                };
                return (c.clone(), meta);
            }
        }
    }
    (row.value.clone(), own)
}

fn to_memory(row: &MemoryEntry) -> Memory {
    let (content, metadata) = content_and_metadata(row);
    Memory {
        id: row.id.to_string(),
        key: row.key.clone(),
        content,
        category: row.category.clone(),
        importance: f64::from(row.importance) / 10.0,
        importance_level: row.importance,
        metadata,
        owner: row.owner.clone(),
        session_id: row.session_id.clone(),
        created_at: super::rfc3339_us(row.created_at_us),
        updated_at: super::rfc3339_us(row.updated_at_us),
        trust: None,
        score: None,
    }
}

impl SpacetimeBackend {
    pub fn new(store: Store) -> SpacetimeBackend {
        let index = Arc::new(SearchIndex::default());
        store.observe_memory(Arc::new(IndexObserver(index.clone())));
        SpacetimeBackend { store, index }
    }

    fn require_live(&self) -> Result<(), ApiError> {
        if self.store.subscribed() {
            Ok(())
        } else {
            Err(StoreError::Unavailable.into())
        }
    }

    /// A memory row by numeric id, else by key.
    fn find(&self, id: &str) -> Option<MemoryEntry> {
        let row = id
            .parse::<u64>()
            .ok()
            .and_then(|n| self.store.memory_by_id(n))
            .or_else(|| self.store.memory_by_key(id))?;
        live(&row, super::now_us()).then_some(row)
    }
}

impl MemoryBackend for SpacetimeBackend {
    fn name(&self) -> &'static str {
        "spacetimedb"
    }

    fn store(&self, m: NewMemory) -> BoxFuture<'_, Result<Memory, ApiError>> {
        async move {
            let key = m.key.unwrap_or_else(super::new_key);
            self.store
                .put_memory(PutMemory {
                    key: key.clone(),
                    category: m.category,
                    value: m.content,
                    source: super::SOURCE.into(),
                    owner: m.owner,
                    importance: m.importance,
                    session_id: m.session_id,
                    metadata: Value::Object(m.metadata).to_string(),
                    expires_at_us: 0,
                })
                .await?;
            let row = self.store.memory_by_key(&key).ok_or_else(|| {
                ApiError::Internal("stored memory is not in the cache yet".into())
            })?;
            Ok(to_memory(&row))
        }
        .boxed()
    }

    fn get(&self, id: String) -> BoxFuture<'_, Result<Option<Memory>, ApiError>> {
        async move {
            self.require_live()?;
            Ok(self.find(&id).map(|r| to_memory(&r)))
        }
        .boxed()
    }

    fn delete(&self, id: String) -> BoxFuture<'_, Result<bool, ApiError>> {
        async move {
            self.require_live()?;
            let Some(row) = self.find(&id) else {
                return Ok(false);
            };
            match self.store.delete_memory(&row.key).await {
                Ok(()) => Ok(true),
                Err(StoreError::Rejected(msg)) if msg.starts_with("E_NOT_FOUND") => Ok(false),
                Err(e) => Err(e.into()),
            }
        }
        .boxed()
    }

    fn list(
        &self,
        filters: Filters,
        limit: usize,
        offset: usize,
    ) -> BoxFuture<'_, Result<Listing, ApiError>> {
        async move {
            self.require_live()?;
            let mut ids: Vec<u64> = self
                .index
                .filtered(&filters, super::now_us())
                .into_iter()
                .map(|(id, _)| id)
                .collect();
            ids.sort_unstable_by(|a, b| b.cmp(a));
            let total = ids.len();
            let memories = ids
                .into_iter()
                .skip(offset)
                .take(limit)
                .filter_map(|id| self.store.memory_by_id(id))
                .map(|r| to_memory(&r))
                .collect();
            Ok(Listing { memories, total })
        }
        .boxed()
    }

    fn search(
        &self,
        query: String,
        filters: Filters,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Memory>, ApiError>> {
        async move {
            self.require_live()?;
            let hits = self.index.search(&query, &filters, limit, super::now_us());
            Ok(hits
                .into_iter()
                .filter_map(|(id, score)| {
                    let mut m = to_memory(&self.store.memory_by_id(id)?);
                    m.score = Some(score);
                    Some(m)
                })
                .collect())
        }
        .boxed()
    }

    fn stats(&self) -> BoxFuture<'_, Result<Stats, ApiError>> {
        async move {
            let status = self.store.status();
            let mut by_category = BTreeMap::new();
            let docs = self.index.filtered(&Filters::default(), super::now_us());
            for (_, info) in &docs {
                *by_category.entry(info.category.clone()).or_insert(0usize) += 1;
            }
            Ok(Stats {
                count: docs.len(),
                by_category,
                status: if status.subscribed {
                    "ok"
                } else {
                    "unavailable"
                },
                detail: json!({
                    "db_url": status.url,
                    "db_name": status.database,
                    "connected": status.connected,
                    "subscribed": status.subscribed,
                    "indexed": self.index.len(),
                }),
            })
        }
        .boxed()
    }
}
