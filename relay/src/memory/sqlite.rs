//! The `sqlite` memory backend: a standalone SQLite file (`MEMORY_DB_URL=sqlite:///path`) with an
//! external-content FTS5 index kept consistent by insert/update/delete triggers (so deleted or
//! rewritten rows never match again, unlike the old bridge), ranked by BM25 blended with
//! importance and recency like the spacetimedb backend.

use super::{Filters, Listing, Memory, MemoryBackend, NewMemory, Stats};
use crate::error::ApiError;
use futures::future::BoxFuture;
use futures::FutureExt;
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS memories (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    key           TEXT NOT NULL UNIQUE,
    content       TEXT NOT NULL,
    category      TEXT NOT NULL DEFAULT 'general',
    importance    INTEGER NOT NULL DEFAULT 5,
    metadata      TEXT NOT NULL DEFAULT '{}',
    owner         TEXT NOT NULL DEFAULT '',
    session_id    TEXT NOT NULL DEFAULT '',
    created_at_us INTEGER NOT NULL,
    updated_at_us INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_memories_category ON memories(category);
CREATE INDEX IF NOT EXISTS idx_memories_owner    ON memories(owner);
CREATE INDEX IF NOT EXISTS idx_memories_session  ON memories(session_id);
CREATE VIRTUAL TABLE IF NOT EXISTS memories_fts USING fts5(
    content, category, content='memories', content_rowid='id', tokenize='porter unicode61'
);
CREATE TRIGGER IF NOT EXISTS memories_ai AFTER INSERT ON memories BEGIN
    INSERT INTO memories_fts(rowid, content, category) VALUES (new.id, new.content, new.category);
END;
CREATE TRIGGER IF NOT EXISTS memories_ad AFTER DELETE ON memories BEGIN
    INSERT INTO memories_fts(memories_fts, rowid, content, category)
        VALUES ('delete', old.id, old.content, old.category);
END;
CREATE TRIGGER IF NOT EXISTS memories_au AFTER UPDATE OF content, category ON memories BEGIN
    INSERT INTO memories_fts(memories_fts, rowid, content, category)
        VALUES ('delete', old.id, old.content, old.category);
    INSERT INTO memories_fts(rowid, content, category) VALUES (new.id, new.content, new.category);
END;
"#;

const COLUMNS: &str = "m.id, m.key, m.content, m.category, m.importance, m.metadata, m.owner, \
     m.session_id, m.created_at_us, m.updated_at_us";

fn row_to_memory(r: &rusqlite::Row<'_>) -> rusqlite::Result<Memory> {
    let importance: u8 = r.get(4)?;
    let metadata = serde_json::from_str::<Value>(&r.get::<_, String>(5)?)
        .ok()
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}));
    Ok(Memory {
        id: r.get::<_, i64>(0)?.to_string(),
        key: r.get(1)?,
        content: r.get(2)?,
        category: r.get(3)?,
        importance: f64::from(importance) / 10.0,
        importance_level: importance,
        metadata,
        owner: r.get(6)?,
        session_id: r.get(7)?,
        created_at: super::rfc3339_us(r.get(8)?),
        updated_at: super::rfc3339_us(r.get(9)?),
        trust: None,
        score: None,
    })
}

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

fn where_of(f: &Filters, mut clauses: Vec<String>, ps: &mut Vec<SqlValue>) -> String {
    for (col, v) in [
        ("m.category", &f.category),
        ("m.owner", &f.owner),
        ("m.session_id", &f.session_id),
    ] {
        if let Some(v) = v {
            clauses.push(format!("{col} = ?"));
            ps.push(SqlValue::Text(v.clone()));
        }
    }
    if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    }
}

struct Db {
    path: PathBuf,
    conn: Mutex<Connection>,
}

pub struct SqliteBackend {
    db: Arc<Db>,
}

impl SqliteBackend {
    pub fn open(path: &Path) -> anyhow::Result<SqliteBackend> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))?;
        conn.execute_batch("PRAGMA synchronous=NORMAL;")?;
        conn.execute_batch(SCHEMA)?;
        Ok(SqliteBackend {
            db: Arc::new(Db {
                path: path.to_path_buf(),
                conn: Mutex::new(conn),
            }),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection, &Path) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || {
            let conn = db
                .conn
                .lock()
                .map_err(|_| ApiError::Internal("memory database lock poisoned".into()))?;
            f(&conn, &db.path)
        })
        .await
        .map_err(|e| ApiError::Internal(format!("memory task failed: {e}")))?
    }
}

fn find_id(conn: &Connection, id: &str) -> rusqlite::Result<Option<i64>> {
    if let Ok(n) = id.parse::<i64>() {
        if let Some(x) = conn
            .query_row("SELECT id FROM memories WHERE id = ?", [n], |r| r.get(0))
            .optional()?
        {
            return Ok(Some(x));
        }
    }
    conn.query_row("SELECT id FROM memories WHERE key = ?", [id], |r| r.get(0))
        .optional()
}

fn fetch(conn: &Connection, id: i64) -> rusqlite::Result<Option<Memory>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM memories m WHERE m.id = ?"),
        [id],
        row_to_memory,
    )
    .optional()
}

fn store(conn: &Connection, m: &NewMemory) -> Result<Memory, ApiError> {
    let now = super::now_us();
    let key = m.key.clone().unwrap_or_else(super::new_key);
    let metadata = Value::Object(m.metadata.clone()).to_string();
    conn.execute(
        "INSERT INTO memories (key, content, category, importance, metadata, owner, session_id, \
         created_at_us, updated_at_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8) \
         ON CONFLICT(key) DO UPDATE SET content = excluded.content, category = excluded.category, \
         importance = excluded.importance, metadata = excluded.metadata, owner = excluded.owner, \
         session_id = excluded.session_id, updated_at_us = excluded.updated_at_us",
        params![
            key,
            m.content,
            m.category,
            m.importance,
            metadata,
            m.owner,
            m.session_id,
            now
        ],
    )
    .map_err(sql_err)?;
    let id: i64 = conn
        .query_row("SELECT id FROM memories WHERE key = ?", [&key], |r| {
            r.get(0)
        })
        .map_err(sql_err)?;
    fetch(conn, id)
        .map_err(sql_err)?
        .ok_or_else(|| ApiError::Internal("stored memory vanished".into()))
}

fn search(
    conn: &Connection,
    query: &str,
    f: &Filters,
    limit: usize,
) -> Result<Vec<Memory>, ApiError> {
    let Some(fts) = super::text::fts5_query(query) else {
        return Ok(Vec::new());
    };
    let mut ps = vec![SqlValue::Text(fts)];
    let wh = where_of(f, vec!["memories_fts MATCH ?".into()], &mut ps);
    ps.push(SqlValue::Integer((limit * 5 + 50) as i64));
    let sql = format!(
        "SELECT {COLUMNS}, bm25(memories_fts, 1.0, 0.5) AS r FROM memories_fts \
         JOIN memories m ON m.id = memories_fts.rowid{wh} ORDER BY r LIMIT ?"
    );
    let rows: Vec<(Memory, f64, i64)> = conn
        .prepare(&sql)
        .and_then(|mut s| {
            s.query_map(rusqlite::params_from_iter(ps.iter()), |r| {
                Ok((row_to_memory(r)?, r.get::<_, f64>(10)?, r.get::<_, i64>(9)?))
            })?
            .collect()
        })
        .map_err(sql_err)?;
    let best = rows.iter().map(|r| -r.1).fold(0.0f64, f64::max);
    if best <= 0.0 {
        return Ok(Vec::new());
    }
    let now = super::now_us();
    let mut scored: Vec<(Memory, f64, i64, i64)> = rows
        .into_iter()
        .map(|(m, r, updated)| {
            let s = super::blend(-r / best, m.importance_level, updated, now);
            let id = m.id.parse::<i64>().unwrap_or(0);
            (m, s, updated, id)
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.2.cmp(&a.2)).then(b.3.cmp(&a.3)));
    scored.truncate(limit);
    Ok(scored
        .into_iter()
        .map(|(mut m, s, _, _)| {
            m.score = Some(s);
            m
        })
        .collect())
}

impl MemoryBackend for SqliteBackend {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn store(&self, m: NewMemory) -> BoxFuture<'_, Result<Memory, ApiError>> {
        self.run(move |c, _| store(c, &m)).boxed()
    }

    fn get(&self, id: String) -> BoxFuture<'_, Result<Option<Memory>, ApiError>> {
        self.run(move |c, _| match find_id(c, &id).map_err(sql_err)? {
            Some(n) => fetch(c, n).map_err(sql_err),
            None => Ok(None),
        })
        .boxed()
    }

    fn delete(&self, id: String) -> BoxFuture<'_, Result<bool, ApiError>> {
        self.run(move |c, _| match find_id(c, &id).map_err(sql_err)? {
            Some(n) => Ok(c
                .execute("DELETE FROM memories WHERE id = ?", [n])
                .map_err(sql_err)?
                > 0),
            None => Ok(false),
        })
        .boxed()
    }

    fn list(
        &self,
        filters: Filters,
        limit: usize,
        offset: usize,
    ) -> BoxFuture<'_, Result<Listing, ApiError>> {
        self.run(move |c, _| {
            let mut ps = Vec::new();
            let wh = where_of(&filters, Vec::new(), &mut ps);
            let total: i64 = c
                .query_row(
                    &format!("SELECT COUNT(*) FROM memories m{wh}"),
                    rusqlite::params_from_iter(ps.iter()),
                    |r| r.get(0),
                )
                .map_err(sql_err)?;
            ps.push(SqlValue::Integer(limit as i64));
            ps.push(SqlValue::Integer(offset as i64));
            let memories = c
                .prepare(&format!(
                    "SELECT {COLUMNS} FROM memories m{wh} ORDER BY m.id DESC LIMIT ? OFFSET ?"
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
        })
        .boxed()
    }

    fn search(
        &self,
        query: String,
        filters: Filters,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<Memory>, ApiError>> {
        self.run(move |c, _| search(c, &query, &filters, limit))
            .boxed()
    }

    fn stats(&self) -> BoxFuture<'_, Result<Stats, ApiError>> {
        self.run(|c, path| {
            let by_category: BTreeMap<String, usize> = c
                .prepare("SELECT category, COUNT(*) FROM memories GROUP BY category")
                .and_then(|mut s| {
                    s.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as usize)))?
                        .collect()
                })
                .map_err(sql_err)?;
            Ok(Stats {
                count: by_category.values().sum(),
                by_category,
                status: "ok",
                detail: json!({ "db_path": path.display().to_string() }),
            })
        })
        .boxed()
    }
}
