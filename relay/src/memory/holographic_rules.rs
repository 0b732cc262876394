//! The parts of Hermes 0.17's holographic memory plugin that are fixed rules rather than
//! storage: its SQLite schema (verbatim), the relay's side table, entity extraction and the
//! Jaccard tokenizer. Pure; `holographic.rs` applies them to the database.

use regex::Regex;
use std::collections::HashSet;
use std::sync::LazyLock;

/// Hermes's `store.py` `_SCHEMA`, verbatim.
pub const HERMES_SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS facts (
    fact_id         INTEGER PRIMARY KEY AUTOINCREMENT,
    content         TEXT NOT NULL UNIQUE,
    category        TEXT DEFAULT 'general',
    tags            TEXT DEFAULT '',
    trust_score     REAL DEFAULT 0.5,
    retrieval_count INTEGER DEFAULT 0,
    helpful_count   INTEGER DEFAULT 0,
    created_at      TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at      TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    hrr_vector      BLOB
);
CREATE TABLE IF NOT EXISTS entities (
    entity_id   INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL,
    entity_type TEXT DEFAULT 'unknown',
    aliases     TEXT DEFAULT '',
    created_at  TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE IF NOT EXISTS fact_entities (
    fact_id   INTEGER REFERENCES facts(fact_id),
    entity_id INTEGER REFERENCES entities(entity_id),
    PRIMARY KEY (fact_id, entity_id)
);
CREATE INDEX IF NOT EXISTS idx_facts_trust    ON facts(trust_score DESC);
CREATE INDEX IF NOT EXISTS idx_facts_category ON facts(category);
CREATE INDEX IF NOT EXISTS idx_entities_name  ON entities(name);
CREATE VIRTUAL TABLE IF NOT EXISTS facts_fts
    USING fts5(content, tags, content=facts, content_rowid=fact_id);
CREATE TRIGGER IF NOT EXISTS facts_ai AFTER INSERT ON facts BEGIN
    INSERT INTO facts_fts(rowid, content, tags)
        VALUES (new.fact_id, new.content, new.tags);
END;
CREATE TRIGGER IF NOT EXISTS facts_ad AFTER DELETE ON facts BEGIN
    INSERT INTO facts_fts(facts_fts, rowid, content, tags)
        VALUES ('delete', old.fact_id, old.content, old.tags);
END;
CREATE TRIGGER IF NOT EXISTS facts_au AFTER UPDATE ON facts BEGIN
    INSERT INTO facts_fts(facts_fts, rowid, content, tags)
        VALUES ('delete', old.fact_id, old.content, old.tags);
    INSERT INTO facts_fts(rowid, content, tags)
        VALUES (new.fact_id, new.content, new.tags);
END;
CREATE TABLE IF NOT EXISTS memory_banks (
    bank_id    INTEGER PRIMARY KEY AUTOINCREMENT,
    bank_name  TEXT NOT NULL UNIQUE,
    vector     BLOB NOT NULL,
    dim        INTEGER NOT NULL,
    fact_count INTEGER DEFAULT 0,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
"#;

/// The relay's side table (Hermes ignores it) and the trigger that follows Hermes's deletes.
pub const RELAY_SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS optx_fact_meta (
    fact_id    INTEGER PRIMARY KEY,
    key        TEXT NOT NULL UNIQUE,
    importance INTEGER NOT NULL DEFAULT 5,
    metadata   TEXT NOT NULL DEFAULT '{}',
    owner      TEXT NOT NULL DEFAULT '',
    session_id TEXT NOT NULL DEFAULT ''
);
CREATE TRIGGER IF NOT EXISTS optx_fact_meta_ad AFTER DELETE ON facts BEGIN
    DELETE FROM optx_fact_meta WHERE fact_id = old.fact_id;
END;
"#;

/// Hermes defaults (`plugins.hermes-memory-store`).
static RE_CAPITALIZED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b([A-Z][a-z]+(?:\s+[A-Z][a-z]+)+)\b").expect("regex"));
static RE_DOUBLE_QUOTE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#""([^"]+)""#).expect("regex"));
static RE_SINGLE_QUOTE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"'([^']+)'").expect("regex"));
static RE_AKA: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(\w+(?:\s+\w+)*)\s+(?:aka|also known as)\s+(\w+(?:\s+\w+)*)").expect("regex")
});

/// `MemoryStore._extract_entities`: capitalised multi-word names, quoted terms, "X aka Y";
/// de-duplicated case-insensitively in first-seen order.
pub fn extract_entities(text: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut add = |name: &str| {
        let s = name.trim();
        if !s.is_empty() && seen.insert(s.to_lowercase()) {
            out.push(s.to_string());
        }
    };
    for re in [&*RE_CAPITALIZED, &*RE_DOUBLE_QUOTE, &*RE_SINGLE_QUOTE] {
        for c in re.captures_iter(text) {
            add(&c[1]);
        }
    }
    for c in RE_AKA.captures_iter(text) {
        add(&c[1]);
        add(&c[2]);
    }
    out
}

/// `FactRetriever._tokenize` (Jaccard tokens).
pub fn jaccard_tokens(text: &str) -> HashSet<String> {
    const STRIP: &[char] = &[
        '.', ',', ';', ':', '!', '?', '"', '\'', '(', ')', '[', ']', '{', '}', '#', '@', '<', '>',
    ];
    text.to_lowercase()
        .split_whitespace()
        .map(|w| w.trim_matches(STRIP))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

pub fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let inter = a.intersection(b).count();
    let union = a.union(b).count();
    inter as f64 / union as f64
}
