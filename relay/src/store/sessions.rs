//! Chat-session metadata in the module: typed reducer calls and cache reads for `chat_session`.

use super::{Store, StoreError};
use optx_client_bindings::*;
use spacetimedb_sdk::Table;

/// Arguments of `open_session` (open or resume).
#[derive(Debug, Clone, Default)]
pub struct OpenSession {
    pub id: String,
    pub title: String,
    pub model: String,
    pub source: String,
    pub user_id: String,
    pub upstream_session_id: String,
    pub parent_session_id: String,
}

/// Counts of one finished turn.
#[derive(Debug, Clone, Default)]
pub struct TurnRecord {
    pub messages: u32,
    pub tool_calls: u32,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Empty when the turn succeeded.
    pub error: String,
}

impl Store {
    pub async fn open_session(&self, s: OpenSession) -> Result<(), StoreError> {
        self.call("open_session", move |c| {
            c.reducers
                .open_session(
                    s.id,
                    s.title,
                    s.model,
                    s.source,
                    s.user_id,
                    s.upstream_session_id,
                    s.parent_session_id,
                )
                .is_ok()
        })
        .await
    }

    pub async fn record_turn(&self, id: &str, t: TurnRecord) -> Result<(), StoreError> {
        let id = id.to_string();
        self.call("record_session_turn", move |c| {
            c.reducers
                .record_session_turn(
                    id,
                    t.messages,
                    t.tool_calls,
                    t.input_tokens,
                    t.output_tokens,
                    t.error,
                )
                .is_ok()
        })
        .await
    }

    pub async fn update_session_title(&self, id: &str, title: &str) -> Result<(), StoreError> {
        let (id, title) = (id.to_string(), title.to_string());
        self.call("update_session", move |c| {
            c.reducers
                .update_session(id, Some(title), None, None)
                .is_ok()
        })
        .await
    }

    pub async fn delete_session(&self, id: &str) -> Result<(), StoreError> {
        let id = id.to_string();
        self.call("delete_session", move |c| {
            c.reducers.delete_session(id).is_ok()
        })
        .await
    }

    /// Every cached session row (unordered).
    pub fn sessions(&self) -> Vec<ChatSession> {
        self.live()
            .map(|l| l.conn.db.chat_session().iter().collect())
            .unwrap_or_default()
    }

    /// A session row from the subscription cache.
    pub fn session(&self, id: &str) -> Option<ChatSession> {
        let live = self.live()?;
        live.conn.db.chat_session().id().find(&id.to_string())
    }
}
