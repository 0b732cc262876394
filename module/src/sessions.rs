//! Chat-session metadata (`chat_session`): one row per conversation the relay has carried.
//!
//! Transcripts stay upstream in Hermes; this table holds what lists, dashboards and billing need
//! (title, model, counters, times, status). Rules live in `session_rules.rs`.

use crate::access::require;
use crate::errors::{conflict, not_found};
use crate::session_rules::{validate_id, validate_title, Counters, STATUS_ACTIVE, STATUS_CLOSED};
use crate::text_rules::{json_object, optional_id};
use spacetimedb::{reducer, table, Identity, ReducerContext, Table, Timestamp};

#[table(name = chat_session, public)]
#[derive(Clone, Debug)]
pub struct ChatSession {
    #[primary_key]
    pub id: String,
    pub title: String,
    pub model: String,
    /// Which surface opened it (`optx-relay`, `workspace`, …).
    #[index(btree)]
    pub source: String,
    #[index(btree)]
    pub user_id: String,
    /// The id Hermes uses for the same conversation (usually equal to `id`).
    pub upstream_session_id: String,
    /// `active` | `closed`.
    #[index(btree)]
    pub status: String,
    pub parent_session_id: String,
    pub created_at: Timestamp,
    #[index(btree)]
    pub created_at_us: i64,
    pub last_active_at: Timestamp,
    #[index(btree)]
    pub last_active_us: i64,
    /// 0 while open.
    pub closed_at_us: i64,
    pub end_reason: String,
    pub message_count: u64,
    pub tool_call_count: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub turn_count: u64,
    pub error_count: u64,
    pub last_error: String,
    /// JSON object as text.
    pub metadata: String,
    pub created_by: Identity,
}

impl ChatSession {
    fn counters(&self) -> Counters {
        Counters {
            messages: self.message_count,
            tool_calls: self.tool_call_count,
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            turns: self.turn_count,
            errors: self.error_count,
        }
    }
}

fn find(ctx: &ReducerContext, id: &str) -> Result<ChatSession, String> {
    ctx.db
        .chat_session()
        .id()
        .find(id.to_string())
        .ok_or_else(|| not_found(format!("session '{id}'")))
}

/// Opens a session, or resumes it if it exists (status back to `active`, last-active time
/// refreshed, empty arguments leave fields unchanged). Idempotent, so several relays may race.
#[reducer]
#[allow(clippy::too_many_arguments)]
pub fn open_session(
    ctx: &ReducerContext,
    id: String,
    title: String,
    model: String,
    source: String,
    user_id: String,
    upstream_session_id: String,
    parent_session_id: String,
) -> Result<(), String> {
    require(ctx, "open_session")?;
    validate_id("id", &id)?;
    validate_title(&title)?;
    optional_id("model", &model, 200)?;
    optional_id("source", &source, 64)?;
    optional_id("user_id", &user_id, 200)?;
    if !upstream_session_id.is_empty() {
        validate_id("upstream_session_id", &upstream_session_id)?;
    }
    if !parent_session_id.is_empty() {
        validate_id("parent_session_id", &parent_session_id)?;
    }
    let now = ctx.timestamp;
    let now_us = now.to_micros_since_unix_epoch();
    let keep = |new: String, old: String| if new.is_empty() { old } else { new };
    match ctx.db.chat_session().id().find(id.clone()) {
        Some(old) => {
            ctx.db.chat_session().id().update(ChatSession {
                title: keep(title, old.title.clone()),
                model: keep(model, old.model.clone()),
                upstream_session_id: keep(upstream_session_id, old.upstream_session_id.clone()),
                status: STATUS_ACTIVE.to_string(),
                last_active_at: now,
                last_active_us: now_us,
                closed_at_us: 0,
                end_reason: String::new(),
                ..old
            });
        }
        None => {
            let upstream = if upstream_session_id.is_empty() {
                id.clone()
            } else {
                upstream_session_id
            };
            ctx.db.chat_session().insert(ChatSession {
                id,
                title,
                model,
                source,
                user_id,
                upstream_session_id: upstream,
                status: STATUS_ACTIVE.to_string(),
                parent_session_id,
                created_at: now,
                created_at_us: now_us,
                last_active_at: now,
                last_active_us: now_us,
                closed_at_us: 0,
                end_reason: String::new(),
                message_count: 0,
                tool_call_count: 0,
                input_tokens: 0,
                output_tokens: 0,
                turn_count: 0,
                error_count: 0,
                last_error: String::new(),
                metadata: String::new(),
                created_by: ctx.sender,
            });
        }
    }
    Ok(())
}

/// Adds one chat turn's counts to a session. `error` non-empty marks the turn as failed.
#[reducer]
pub fn record_session_turn(
    ctx: &ReducerContext,
    id: String,
    messages: u32,
    tool_calls: u32,
    input_tokens: u64,
    output_tokens: u64,
    error: String,
) -> Result<(), String> {
    require(ctx, "record_session_turn")?;
    let old = find(ctx, &id)?;
    crate::text_rules::bounded_text("error", &error, 2000)?;
    let failed = !error.is_empty();
    let c = old.counters().checked_add(Counters {
        messages: messages as u64,
        tool_calls: tool_calls as u64,
        input_tokens,
        output_tokens,
        turns: 1,
        errors: failed as u64,
    })?;
    let now = ctx.timestamp;
    ctx.db.chat_session().id().update(ChatSession {
        message_count: c.messages,
        tool_call_count: c.tool_calls,
        input_tokens: c.input_tokens,
        output_tokens: c.output_tokens,
        turn_count: c.turns,
        error_count: c.errors,
        last_error: if failed {
            error
        } else {
            old.last_error.clone()
        },
        last_active_at: now,
        last_active_us: now.to_micros_since_unix_epoch(),
        ..old
    });
    Ok(())
}

/// Changes title, model or metadata; `None` leaves a field as it is.
#[reducer]
pub fn update_session(
    ctx: &ReducerContext,
    id: String,
    title: Option<String>,
    model: Option<String>,
    metadata: Option<String>,
) -> Result<(), String> {
    require(ctx, "update_session")?;
    let old = find(ctx, &id)?;
    if let Some(t) = &title {
        validate_title(t)?;
    }
    if let Some(m) = &model {
        optional_id("model", m, 200)?;
    }
    if let Some(m) = &metadata {
        json_object("metadata", m, 16 * 1024)?;
    }
    ctx.db.chat_session().id().update(ChatSession {
        title: title.unwrap_or_else(|| old.title.clone()),
        model: model.unwrap_or_else(|| old.model.clone()),
        metadata: metadata.unwrap_or_else(|| old.metadata.clone()),
        ..old
    });
    Ok(())
}

/// Closes a session with a reason. Closing a closed session is a conflict.
#[reducer]
pub fn close_session(ctx: &ReducerContext, id: String, end_reason: String) -> Result<(), String> {
    require(ctx, "close_session")?;
    let old = find(ctx, &id)?;
    optional_id("end_reason", &end_reason, 64)?;
    if old.status == STATUS_CLOSED {
        return Err(conflict(format!("session '{id}' is already closed")));
    }
    ctx.db.chat_session().id().update(ChatSession {
        status: STATUS_CLOSED.to_string(),
        closed_at_us: ctx.timestamp.to_micros_since_unix_epoch(),
        end_reason,
        ..old
    });
    Ok(())
}

/// Deletes a session's metadata row.
#[reducer]
pub fn delete_session(ctx: &ReducerContext, id: String) -> Result<(), String> {
    require(ctx, "delete_session")?;
    if !ctx.db.chat_session().id().delete(id.clone()) {
        return Err(not_found(format!("session '{id}'")));
    }
    Ok(())
}
