//! The Hermes-native session-stream vocabulary (what Hermes Workspace reads): `run.started`,
//! `message.started`, `assistant.delta`, `tool.*`, `assistant.completed`, `run.completed`,
//! `error {message, error:{message}}`. Payloads only; the envelope is added by `TurnEncoder`.

use super::event::{ToolEvent, Usage};
use serde_json::{json, Value};

pub fn run_started(user_message: &str) -> Value {
    json!({"user_message": {"role": "user", "content": user_message}})
}

pub fn message_started(message_id: &str) -> Value {
    json!({"message": {"id": message_id, "role": "assistant"}})
}

pub fn delta(message_id: &str, text: &str) -> Value {
    json!({"message_id": message_id, "delta": text})
}

pub fn tool(message_id: &str, t: &ToolEvent) -> Value {
    json!({
        "message_id": message_id,
        "tool_name": t.name,
        "tool_call_id": t.call_id,
        "preview": t.preview,
        "args": t.args,
    })
}

pub fn assistant_completed(message_id: &str, content: &str) -> Value {
    json!({
        "message_id": message_id,
        "content": content,
        "completed": true,
        "partial": false,
        "interrupted": false,
    })
}

pub fn run_completed(message_id: &str, usage: Option<&Usage>) -> Value {
    json!({"message_id": message_id, "completed": true, "usage": usage})
}

pub fn error(message: &str) -> Value {
    json!({"message": message, "error": {"message": message}})
}
