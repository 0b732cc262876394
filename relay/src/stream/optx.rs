//! The OPTX (JettChat) envelope: `session`, `content`, `done`, `error` payloads, each a JSON
//! object carrying `session_id`. Payloads only; framing is done by `TurnEncoder`.

use super::event::Usage;
use serde_json::{json, Value};

/// `session {session_id, status}`; status `created` or `streaming` (+ `fallback` on the
/// completions route).
pub fn session(session_id: &str, status: &str, fallback: Option<&str>) -> Value {
    let mut v = json!({"session_id": session_id, "status": status});
    if let Some(f) = fallback {
        v["fallback"] = json!(f);
    }
    v
}

pub fn content(session_id: &str, text: &str) -> Value {
    json!({"content": text, "session_id": session_id})
}

pub fn error(session_id: &str, message: &str) -> Value {
    json!({"error": message, "session_id": session_id})
}

/// `done {session_id, status}`; status `complete` or `error`; usage when known.
pub fn done(session_id: &str, ok: bool, usage: Option<&Usage>) -> Value {
    let mut v = json!({
        "session_id": session_id,
        "status": if ok { "complete" } else { "error" },
    });
    if let Some(u) = usage {
        v["usage"] = json!(u);
    }
    v
}
