//! Writing SSE frames: `event:` + one-line JSON `data:` + blank line, LF framing, and the
//! keep-alive comment. Every encoder builds its bytes here.

use bytes::Bytes;
use serde::Serialize;

/// `event: <name>\ndata: <json>\n\n`. serde_json never emits raw newlines, so `data` is one line.
pub fn named<T: Serialize>(name: &str, data: &T) -> Bytes {
    let json = serde_json::to_string(data).unwrap_or_else(|_| "{}".to_string());
    Bytes::from(format!("event: {name}\ndata: {json}\n\n"))
}

/// Unnamed `data: <text>\n\n` (OpenAI chunk style); `text` must be one line.
pub fn data(text: &str) -> Bytes {
    Bytes::from(format!("data: {}\n\n", one_line(text)))
}

/// `event: <name>\ndata: <text>\n\n` for text that is already serialized.
pub fn named_raw(name: &str, text: &str) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {}\n\n", one_line(text)))
}

/// Multi-line upstream data is joined so each frame keeps a single `data:` line.
fn one_line(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains(['\n', '\r']) {
        std::borrow::Cow::Owned(text.replace("\r\n", "\n").replace(['\n', '\r'], " "))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

pub fn keepalive() -> Bytes {
    Bytes::from_static(b": keepalive\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_lf_framed_single_line_json() {
        let b = named("content", &serde_json::json!({"content": "a\nb"}));
        assert_eq!(&b[..], b"event: content\ndata: {\"content\":\"a\\nb\"}\n\n");
        assert_eq!(&data("[DONE]")[..], b"data: [DONE]\n\n");
        assert_eq!(&named_raw("x", "{\n}")[..], b"event: x\ndata: { }\n\n");
    }
}
