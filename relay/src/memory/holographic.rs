//! The `holographic` memory backend: reads and writes Hermes's own `memory_store.db` (facts,
//! entities, FTS5, trust, HRR vectors, category banks) the way Hermes 0.17's holographic plugin
//! does, so the agent's `fact_store` finds what the relay stores and the other way round.
//!
//! Relay-only fields (key, importance, metadata, owner, session) live in a side table
//! `optx_fact_meta`, cleaned by a trigger when Hermes deletes a fact. Category banks are rebuilt
//! exactly as Hermes does, but debounced in the background instead of on every write.

use super::holographic_rules::extract_entities;
use super::holographic_rules::{jaccard, jaccard_tokens, HERMES_SCHEMA, RELAY_SCHEMA};
use super::{hrr, Filters, Listing, Memory, MemoryBackend, NewMemory, Stats};
use crate::error::ApiError;
use futures::future::BoxFuture;
use futures::FutureExt;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const DEFAULT_TRUST: f64 = 0.5;
const MIN_TRUST: f64 = 0.3;
const FTS_WEIGHT: f64 = 0.4;
const JACCARD_WEIGHT: f64 = 0.3;
const HRR_WEIGHT: f64 = 0.3;
/// How long after a write the category banks are rebuilt (at least; see [`Holo::last_rebuild_ms`]).
const BANK_DEBOUNCE: Duration = Duration::from_millis(500);

fn sql_err(e: rusqlite::Error) -> ApiError {
    if let rusqlite::Error::SqliteFailure(f, _) = &e {
        if matches!(
            f.code,
            rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
        ) {
            return ApiError::StoreUnavailable("memory database is busy".into());
        }
    }
    ApiError::Internal(format!("memory database: {e}"))
}

/// Tags for Hermes's `tags` column from `metadata.tags` (a string or a list of strings).
fn tags_of(metadata: &Map<String, Value>) -> String {
    match metadata.get("tags") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(","),
        _ => String::new(),
    }
}

/// SQLite `CURRENT_TIMESTAMP` text (UTC) as RFC 3339.
fn sqlite_time(t: Option<String>) -> Option<String> {
    let t = t?;
    Some(match t.split_once(' ') {
        Some((d, h)) if !h.contains('T') => format!("{d}T{h}Z"),
        _ => t,
    })
}

const SELECT: &str = "SELECT f.fact_id, f.content, f.category, f.tags, f.trust_score, \
     f.created_at, f.updated_at, m.key, m.importance, m.metadata, m.owner, m.session_id \
     FROM facts f LEFT JOIN optx_fact_meta m ON m.fact_id = f.fact_id";

fn row_to_memory(r: &rusqlite::Row<'_>) -> rusqlite::Result<Memory> {
    let id: i64 = r.get(0)?;
    let importance: u8 = r.get::<_, Option<u8>>(8)?.unwrap_or(5);
    let metadata = r
        .get::<_, Option<String>>(9)?
        .and_then(|m| serde_json::from_str::<Value>(&m).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}));
    Ok(Memory {
        id: id.to_string(),
        key: r
            .get::<_, Option<String>>(7)?
            .unwrap_or_else(|| format!("fact:{id}")),
        content: r.get(1)?,
        category: r
            .get::<_, Option<String>>(2)?
            .unwrap_or_else(|| "general".into()),
        importance: f64::from(importance) / 10.0,
        importance_level: importance,
        metadata,
        owner: r.get::<_, Option<String>>(10)?.unwrap_or_default(),
        session_id: r.get::<_, Option<String>>(11)?.unwrap_or_default(),
        created_at: sqlite_time(r.get(5)?),
        updated_at: sqlite_time(r.get(6)?),
        trust: Some(r.get::<_, Option<f64>>(4)?.unwrap_or(DEFAULT_TRUST)),
        score: None,
    })
}

/// `WHERE` clauses and parameters for the relay's filters (category is Hermes's own column).
fn filter_sql(f: &Filters, clauses: &mut Vec<String>, params: &mut Vec<rusqlite::types::Value>) {
    use rusqlite::types::Value as V;
    if let Some(c) = &f.category {
        clauses.push("f.category = ?".into());
        params.push(V::Text(c.clone()));
    }
    if let Some(o) = &f.owner {
        clauses.push("COALESCE(m.owner, '') = ?".into());
        params.push(V::Text(o.clone()));
    }
    if let Some(s) = &f.session_id {
        clauses.push("COALESCE(m.session_id, '') = ?".into());
        params.push(V::Text(s.clone()));
    }
}

struct Holo {
    path: PathBuf,
    dim: usize,
    conn: Mutex<Option<Connection>>,
    dirty: Mutex<BTreeSet<String>>,
    scheduled: AtomicBool,
    /// How long the last bank rebuild took; the next one waits 4× that, so rebuilding big
    /// banks under a stream of writes costs at most ~20 % of one core.
    last_rebuild_ms: AtomicU64,
}

pub struct HolographicBackend {
    inner: Arc<Holo>,
}

async fn blocking<T: Send + 'static>(
    h: &Arc<Holo>,
    f: impl FnOnce(&Holo) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let h = h.clone();
    tokio::task::spawn_blocking(move || f(&h))
        .await
        .map_err(|e| ApiError::Internal(format!("memory task failed: {e}")))?
}

impl HolographicBackend {
    /// Uses Hermes's `memory_store.db` at `path`. The file is opened (and created, with Hermes's
    /// schema) on first use, so a relay that never serves memory leaves HERMES_HOME alone.
    pub fn open(path: &Path) -> anyhow::Result<HolographicBackend> {
        Ok(HolographicBackend {
            inner: Arc::new(Holo {
                path: path.to_path_buf(),
                dim: hrr::DEFAULT_DIM,
                conn: Mutex::new(None),
                dirty: Mutex::new(BTreeSet::new()),
                scheduled: AtomicBool::new(false),
                last_rebuild_ms: AtomicU64::new(0),
            }),
        })
    }

    /// Marks a category's bank stale and schedules one debounced rebuild.
    fn bank_dirty(inner: &Arc<Holo>, categories: &[String]) {
        if let Ok(mut d) = inner.dirty.lock() {
            d.extend(categories.iter().cloned());
        }
        if inner.scheduled.swap(true, Ordering::SeqCst) {
            return;
        }
        let h = inner.clone();
        let wait = BANK_DEBOUNCE.max(Duration::from_millis(
            4 * inner.last_rebuild_ms.load(Ordering::Relaxed),
        ));
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                tokio::time::sleep(wait).await;
                let _ = tokio::task::spawn_blocking(move || h.rebuild_dirty_banks()).await;
            });
        } else {
            h.rebuild_dirty_banks();
        }
    }
}

/// The open connection, held under the backend's lock.
struct ConnGuard<'a>(std::sync::MutexGuard<'a, Option<Connection>>);

impl std::ops::Deref for ConnGuard<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.0
            .as_ref()
            .expect("opened before the guard is handed out")
    }
}

/// Opens the file with Hermes's schema (verbatim, idempotent) plus the relay's side table.
fn open_db(path: &Path) -> rusqlite::Result<Connection> {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))?;
    conn.execute_batch(HERMES_SCHEMA)?;
    let has_hrr = conn
        .prepare("SELECT 1 FROM pragma_table_info('facts') WHERE name = 'hrr_vector'")?
        .exists([])?;
    if !has_hrr {
        conn.execute_batch("ALTER TABLE facts ADD COLUMN hrr_vector BLOB")?;
    }
    conn.execute_batch(RELAY_SCHEMA)?;
    Ok(conn)
}

impl Holo {
    fn lock(&self) -> Result<ConnGuard<'_>, ApiError> {
        let mut g = self
            .conn
            .lock()
            .map_err(|_| ApiError::Internal("memory database lock poisoned".into()))?;
        if g.is_none() {
            *g = Some(open_db(&self.path).map_err(|e| {
                ApiError::StoreUnavailable(format!("cannot open {}: {e}", self.path.display()))
            })?);
        }
        Ok(ConnGuard(g))
    }

    /// `_resolve_entity`: by name (LIKE, case-insensitive), then by alias, else a new entity.
    fn resolve_entity(conn: &Connection, name: &str) -> rusqlite::Result<i64> {
        if let Some(id) = conn
            .query_row(
                "SELECT entity_id FROM entities WHERE name LIKE ?",
                [name],
                |r| r.get(0),
            )
            .optional()?
        {
            return Ok(id);
        }
        if let Some(id) = conn
            .query_row(
                "SELECT entity_id FROM entities WHERE ',' || aliases || ',' LIKE '%,' || ? || ',%'",
                [name],
                |r| r.get(0),
            )
            .optional()?
        {
            return Ok(id);
        }
        conn.execute("INSERT INTO entities (name) VALUES (?)", [name])?;
        Ok(conn.last_insert_rowid())
    }

    /// Entity links and HRR vector of a fact, as `add_fact` / `update_fact` compute them.
    fn link_and_encode(
        &self,
        conn: &Connection,
        fact_id: i64,
        content: &str,
    ) -> rusqlite::Result<()> {
        for name in extract_entities(content) {
            let eid = Self::resolve_entity(conn, &name)?;
            conn.execute(
                "INSERT OR IGNORE INTO fact_entities (fact_id, entity_id) VALUES (?, ?)",
                params![fact_id, eid],
            )?;
        }
        let entities: Vec<String> = conn
            .prepare(
                "SELECT e.name FROM entities e JOIN fact_entities fe ON fe.entity_id = e.entity_id \
                 WHERE fe.fact_id = ?",
            )?
            .query_map([fact_id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let v = hrr::encode_fact(content, &entities, self.dim);
        conn.execute(
            "UPDATE facts SET hrr_vector = ? WHERE fact_id = ?",
            params![hrr::to_bytes(&v), fact_id],
        )?;
        Ok(())
    }

    fn fetch(conn: &Connection, fact_id: i64) -> rusqlite::Result<Option<Memory>> {
        conn.query_row(
            &format!("{SELECT} WHERE f.fact_id = ?"),
            [fact_id],
            row_to_memory,
        )
        .optional()
    }

    /// A fact by id (`12` or `fact:12`), else by the relay key in the side table.
    fn find_id(conn: &Connection, id: &str) -> rusqlite::Result<Option<i64>> {
        if let Ok(n) = id.strip_prefix("fact:").unwrap_or(id).parse::<i64>() {
            if let Some(x) = conn
                .query_row("SELECT fact_id FROM facts WHERE fact_id = ?", [n], |r| {
                    r.get(0)
                })
                .optional()?
            {
                return Ok(Some(x));
            }
        }
        conn.query_row(
            "SELECT m.fact_id FROM optx_fact_meta m JOIN facts f ON f.fact_id = m.fact_id WHERE m.key = ?",
            [id],
            |r| r.get(0),
        )
        .optional()
    }

    /// Returns the stored memory and the categories whose banks changed.
    fn store(&self, m: &NewMemory) -> Result<(Memory, Vec<String>), ApiError> {
        let guard = self.lock()?;
        // One immediate transaction: all or nothing, one fsync, no lock-upgrade failures.
        let conn = rusqlite::Transaction::new_unchecked(&guard, TransactionBehavior::Immediate)
            .map_err(sql_err)?;
        let content = m.content.trim();
        let tags = tags_of(&m.metadata);
        let metadata = Value::Object(m.metadata.clone()).to_string();
        let existing = match &m.key {
            Some(k) => Self::find_id(&conn, k).map_err(sql_err)?,
            None => None,
        };
        let mut touched = vec![m.category.clone()];
        let fact_id = if let Some(id) = existing {
            // `update_fact`: new content/tags/category, entities re-extracted, vector recomputed.
            let old_cat: Option<String> = conn
                .query_row("SELECT category FROM facts WHERE fact_id = ?", [id], |r| {
                    r.get(0)
                })
                .map_err(sql_err)?;
            touched.extend(old_cat);
            conn.execute(
                "UPDATE facts SET updated_at = CURRENT_TIMESTAMP, content = ?, tags = ?, category = ? \
                 WHERE fact_id = ?",
                params![content, tags, m.category, id],
            )
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _)
                    if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    ApiError::Conflict("another memory already has this content".into())
                }
                e => sql_err(e),
            })?;
            conn.execute("DELETE FROM fact_entities WHERE fact_id = ?", [id])
                .map_err(sql_err)?;
            self.link_and_encode(&conn, id, content).map_err(sql_err)?;
            id
        } else {
            let inserted = conn.execute(
                "INSERT INTO facts (content, category, tags, trust_score) VALUES (?, ?, ?, ?)",
                params![content, m.category, tags, DEFAULT_TRUST],
            );
            match inserted {
                Ok(_) => {
                    let id = conn.last_insert_rowid();
                    self.link_and_encode(&conn, id, content).map_err(sql_err)?;
                    id
                }
                // Duplicate content: Hermes returns the existing fact unchanged.
                Err(rusqlite::Error::SqliteFailure(f, _))
                    if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    touched.clear();
                    conn.query_row(
                        "SELECT fact_id FROM facts WHERE content = ?",
                        [content],
                        |r| r.get(0),
                    )
                    .map_err(sql_err)?
                }
                Err(e) => return Err(sql_err(e)),
            }
        };
        let key = m.key.clone().unwrap_or_else(super::new_key);
        let has_meta = conn
            .prepare("SELECT 1 FROM optx_fact_meta WHERE fact_id = ?")
            .and_then(|mut s| s.exists([fact_id]))
            .map_err(sql_err)?;
        if existing.is_some() || !has_meta {
            conn.execute(
                "INSERT INTO optx_fact_meta (fact_id, key, importance, metadata, owner, session_id) \
                 VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(fact_id) DO UPDATE SET key = excluded.key, \
                 importance = excluded.importance, metadata = excluded.metadata, \
                 owner = excluded.owner, session_id = excluded.session_id",
                params![fact_id, key, m.importance, metadata, m.owner, m.session_id],
            )
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _)
                    if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    ApiError::Conflict("key is already used by another memory".into())
                }
                e => sql_err(e),
            })?;
        }
        let memory = Self::fetch(&conn, fact_id)
            .map_err(sql_err)?
            .ok_or_else(|| ApiError::Internal("stored fact vanished".into()))?;
        conn.commit().map_err(sql_err)?;
        Ok((memory, touched))
    }

    /// `remove_fact`. Returns the fact's category when it existed.
    fn delete(&self, id: &str) -> Result<Option<String>, ApiError> {
        let guard = self.lock()?;
        let conn = rusqlite::Transaction::new_unchecked(&guard, TransactionBehavior::Immediate)
            .map_err(sql_err)?;
        let Some(fact_id) = Self::find_id(&conn, id).map_err(sql_err)? else {
            return Ok(None);
        };
        let cat: Option<String> = conn
            .query_row(
                "SELECT category FROM facts WHERE fact_id = ?",
                [fact_id],
                |r| r.get(0),
            )
            .map_err(sql_err)?;
        conn.execute("DELETE FROM fact_entities WHERE fact_id = ?", [fact_id])
            .map_err(sql_err)?;
        conn.execute("DELETE FROM facts WHERE fact_id = ?", [fact_id])
            .map_err(sql_err)?;
        conn.commit().map_err(sql_err)?;
        Ok(Some(cat.unwrap_or_else(|| "general".into())))
    }

    fn list(&self, f: &Filters, limit: usize, offset: usize) -> Result<Listing, ApiError> {
        let conn = self.lock()?;
        let mut clauses = Vec::new();
        let mut ps = Vec::new();
        filter_sql(f, &mut clauses, &mut ps);
        let wh = if clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", clauses.join(" AND "))
        };
        let total: i64 = conn
            .query_row(
                &format!("SELECT COUNT(*) FROM facts f LEFT JOIN optx_fact_meta m ON m.fact_id = f.fact_id{wh}"),
                rusqlite::params_from_iter(ps.iter()),
                |r| r.get(0),
            )
            .map_err(sql_err)?;
        ps.push(rusqlite::types::Value::Integer(limit as i64));
        ps.push(rusqlite::types::Value::Integer(offset as i64));
        let memories = conn
            .prepare(&format!(
                "{SELECT}{wh} ORDER BY f.fact_id DESC LIMIT ? OFFSET ?"
            ))
            .and_then(|mut s| {
                s.query_map(rusqlite::params_from_iter(ps.iter()), row_to_memory)?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(sql_err)?;
        Ok(Listing {
            memories,
            total: total as usize,
        })
    }

    /// `FactRetriever.search`: FTS5 candidates (3 × limit, trust ≥ 0.3), then
    /// `(0.4·FTS + 0.3·Jaccard + 0.3·HRR) × trust`. The MATCH text is the quoted, OR-joined words
    /// of the query (Hermes 0.19's form; 0.17 passes raw syntax, which fails on punctuation).
    fn search(&self, query: &str, f: &Filters, limit: usize) -> Result<Vec<Memory>, ApiError> {
        let Some(fts) = super::text::fts5_query(query) else {
            return Ok(Vec::new());
        };
        let conn = self.lock()?;
        let mut clauses = vec!["facts_fts MATCH ?".to_string()];
        let mut ps = vec![rusqlite::types::Value::Text(fts)];
        filter_sql(f, &mut clauses, &mut ps);
        clauses.push("f.trust_score >= ?".into());
        ps.push(rusqlite::types::Value::Real(MIN_TRUST));
        ps.push(rusqlite::types::Value::Integer((limit * 3) as i64));
        let sql = format!(
            "SELECT f.fact_id, f.content, f.category, f.tags, f.trust_score, f.created_at, \
             f.updated_at, m.key, m.importance, m.metadata, m.owner, m.session_id, \
             facts_fts.rank, f.hrr_vector \
             FROM facts_fts JOIN facts f ON f.fact_id = facts_fts.rowid \
             LEFT JOIN optx_fact_meta m ON m.fact_id = f.fact_id \
             WHERE {} ORDER BY facts_fts.rank LIMIT ?",
            clauses.join(" AND ")
        );
        let rows: Vec<(Memory, String, f64, Option<Vec<u8>>)> = conn
            .prepare(&sql)
            .and_then(|mut s| {
                s.query_map(rusqlite::params_from_iter(ps.iter()), |r| {
                    Ok((
                        row_to_memory(r)?,
                        r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                        r.get::<_, f64>(12)?,
                        r.get::<_, Option<Vec<u8>>>(13)?,
                    ))
                })?
                .collect()
            })
            .map_err(sql_err)?;
        drop(conn);
        let max_rank = rows
            .iter()
            .map(|r| r.2.abs())
            .fold(0.0f64, f64::max)
            .max(1e-6);
        let q_tokens = jaccard_tokens(query);
        let q_vec = hrr::encode_text(query, self.dim);
        let mut scored: Vec<Memory> = rows
            .into_iter()
            .map(|(mut m, tags, rank, vec)| {
                let mut all = jaccard_tokens(&m.content);
                all.extend(jaccard_tokens(&tags));
                let hrr_sim = match vec.filter(|v| !v.is_empty()) {
                    Some(b) => (hrr::similarity(&q_vec, &hrr::from_bytes(&b)) + 1.0) / 2.0,
                    None => 0.5,
                };
                let relevance = FTS_WEIGHT * (rank.abs() / max_rank)
                    + JACCARD_WEIGHT * jaccard(&q_tokens, &all)
                    + HRR_WEIGHT * hrr_sim;
                m.score = Some(relevance * m.trust.unwrap_or(DEFAULT_TRUST));
                m
            })
            .collect();
        scored.sort_by(|a, b| b.score.unwrap_or(0.0).total_cmp(&a.score.unwrap_or(0.0)));
        scored.truncate(limit);
        Ok(scored)
    }

    fn stats(&self) -> Result<Stats, ApiError> {
        let conn = self.lock()?;
        let by_category: BTreeMap<String, usize> = conn
            .prepare("SELECT COALESCE(category, 'general'), COUNT(*) FROM facts GROUP BY 1")
            .and_then(|mut s| {
                s.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as usize)))?
                    .collect()
            })
            .map_err(sql_err)?;
        let with_vectors: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM facts WHERE hrr_vector IS NOT NULL",
                [],
                |r| r.get(0),
            )
            .map_err(sql_err)?;
        Ok(Stats {
            count: by_category.values().sum(),
            by_category,
            status: "ok",
            detail: json!({
                "db_path": self.path.display().to_string(),
                "hrr_dim": self.dim,
                "facts_with_hrr": with_vectors,
            }),
        })
    }

    /// `_rebuild_bank` for every category marked dirty: vectors read under the lock, bundled
    /// outside it, written back under it.
    fn rebuild_dirty_banks(&self) {
        let started = std::time::Instant::now();
        self.scheduled.store(false, Ordering::SeqCst);
        let cats: Vec<String> = match self.dirty.lock() {
            Ok(mut d) => std::mem::take(&mut *d).into_iter().collect(),
            Err(_) => return,
        };
        for cat in cats {
            if let Err(e) = self.rebuild_bank(&cat) {
                tracing::warn!(category = %cat, error = %e, "holographic bank rebuild failed");
            }
        }
        self.last_rebuild_ms
            .store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    fn rebuild_bank(&self, category: &str) -> Result<(), ApiError> {
        let bank = format!("cat:{category}");
        let vectors: Vec<Vec<f64>> = {
            let conn = self.lock()?;
            conn.prepare(
                "SELECT hrr_vector FROM facts WHERE category = ? AND hrr_vector IS NOT NULL",
            )
            .and_then(|mut s| {
                s.query_map([category], |r| {
                    Ok(hrr::from_bytes(&r.get::<_, Vec<u8>>(0)?))
                })?
                .collect()
            })
            .map_err(sql_err)?
        };
        let conn_result = if vectors.is_empty() {
            self.lock()?
                .execute("DELETE FROM memory_banks WHERE bank_name = ?", [&bank])
        } else {
            let v = hrr::bundle(&vectors);
            self.lock()?.execute(
                "INSERT INTO memory_banks (bank_name, vector, dim, fact_count, updated_at) \
                 VALUES (?, ?, ?, ?, CURRENT_TIMESTAMP) ON CONFLICT(bank_name) DO UPDATE SET \
                 vector = excluded.vector, dim = excluded.dim, fact_count = excluded.fact_count, \
                 updated_at = excluded.updated_at",
                params![
                    bank,
                    hrr::to_bytes(&v),
                    self.dim as i64,
                    vectors.len() as i64
                ],
            )
        };
        conn_result.map(|_| ()).map_err(sql_err)
    }
}

impl MemoryBackend for HolographicBackend {
    fn name(&self) -> &'static str {
        "holographic"
    }

    fn store(&self, m: NewMemory) -> BoxFuture<'_, Result<Memory, ApiError>> {
        async move {
            let (memory, touched) = blocking(&self.inner, move |h| h.store(&m)).await?;
            if !touched.is_empty() {
                Self::bank_dirty(&self.inner, &touched);
            }
            Ok(memory)
        }
        .boxed()
    }

    fn get(&self, id: String) -> BoxFuture<'_, Result<Option<Memory>, ApiError>> {
        blocking(&self.inner, move |h| {
            let conn = h.lock()?;
            match Holo::find_id(&conn, &id).map_err(sql_err)? {
                Some(fid) => Holo::fetch(&conn, fid).map_err(sql_err),
                None => Ok(None),
            }
        })
        .boxed()
    }

    fn delete(&self, id: String) -> BoxFuture<'_, Result<bool, ApiError>> {
        async move {
            match blocking(&self.inner, move |h| h.delete(&id)).await? {
                Some(cat) => {
                    Self::bank_dirty(&self.inner, &[cat]);
                    Ok(true)
                }
                None => Ok(false),
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
        blocking(&self.inner, move |h| h.list(&filters, limit, offset)).boxed()
    }

    fn search(
        &self,
        query: String,
        filters: Filters,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Memory>, ApiError>> {
        blocking(&self.inner, move |h| h.search(&query, &filters, limit)).boxed()
    }

    fn stats(&self) -> BoxFuture<'_, Result<Stats, ApiError>> {
        blocking(&self.inner, |h| h.stats()).boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_follow_hermes_rules() {
        assert_eq!(
            extract_entities("Alice Smith prefers \"Neovim\" and 'pytest'; Guido aka BDFL"),
            vec!["Alice Smith", "Neovim", "pytest", "Guido", "BDFL"]
        );
        assert!(extract_entities("no names here").is_empty());
    }

    #[test]
    fn jaccard_uses_hermes_tokens() {
        let a = jaccard_tokens("Editor: vim!");
        let b = jaccard_tokens("the editor is vim");
        assert!((jaccard(&a, &b) - 0.5).abs() < 1e-12);
    }
}
