//! The OPTX (JettChat) envelope: `session`, `content`, `done`, `error`, each a one-line JSON
//! object carrying `session_id`.

use super::event::{ChatEvent, Usage};
use super::sse_out::named;
use bytes::Bytes;
use serde_json::json;

pub struct OptxEncoder {
    session_id: String,
}

impl OptxEncoder {
    pub fn new(session_id: impl Into<String>) -> Self {
        Self {
            session_id: session_id.into(),
        }
    }

    /// `session {session_id, status}`; status is `created` or `streaming`.
    pub fn session(&self, status: &str, fallback: Option<&str>) -> Bytes {
        let mut v = json!({"session_id": self.session_id, "status": status});
        if let Some(f) = fallback {
            v["fallback"] = json!(f);
        }
        named("session", &v)
    }

    /// The frame for one event, if this vocabulary shows it.
    pub fn event(&self, ev: &ChatEvent) -> Option<Bytes> {
        match ev {
            ChatEvent::Delta(text) if !text.is_empty() => Some(named(
                "content",
                &json!({"content": text, "session_id": self.session_id}),
            )),
            ChatEvent::Error(msg) => Some(named(
                "error",
                &json!({"error": msg, "session_id": self.session_id}),
            )),
            _ => None,
        }
    }

    /// Final `done {session_id, status}`; status `complete` or `error`; usage when known.
    pub fn done(&self, ok: bool, usage: Option<&Usage>) -> Bytes {
        let mut v = json!({
            "session_id": self.session_id,
            "status": if ok { "complete" } else { "error" },
        });
        if let Some(u) = usage {
            v["usage"] = json!(u);
        }
        named("done", &v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_shapes() {
        let e = OptxEncoder::new("s1");
        assert_eq!(
            &e.session("created", None)[..],
            b"event: session\ndata: {\"session_id\":\"s1\",\"status\":\"created\"}\n\n"
        );
        assert_eq!(
            &e.event(&ChatEvent::Delta("Hi".into())).unwrap()[..],
            b"event: content\ndata: {\"content\":\"Hi\",\"session_id\":\"s1\"}\n\n"
        );
        assert!(e.event(&ChatEvent::Delta(String::new())).is_none());
        assert_eq!(
            &e.event(&ChatEvent::Error("boom".into())).unwrap()[..],
            b"event: error\ndata: {\"error\":\"boom\",\"session_id\":\"s1\"}\n\n"
        );
        assert_eq!(
            &e.done(false, None)[..],
            b"event: done\ndata: {\"session_id\":\"s1\",\"status\":\"error\"}\n\n"
        );
    }
}
