//! Writing SSE frames: `event:` + one-line JSON `data:` + blank line, LF framing, and the
//! keep-alive comment. Every encoder builds its bytes here.

use bytes::Bytes;
use serde::Serialize;

/// `event: <name>\ndata: <json>\n\n`. serde_json never emits raw newlines, so `data` is one line.
pub fn named<T: Serialize>(name: &str, data: &T) -> Bytes {
    let json = serde_json::to_string(data).unwrap_or_else(|_| "{}".to_string());
    Bytes::from(format!("event: {name}\ndata: {json}\n\n"))
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
    }
}
