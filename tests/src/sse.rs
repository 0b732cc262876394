//! A small SSE reader for assertions: collects named events (with JSON data) and comments.

use futures::StreamExt;
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Event {
    pub name: String,
    pub data: Value,
    pub raw: String,
}

#[derive(Debug, Default)]
pub struct Transcript {
    pub events: Vec<Event>,
    pub comments: Vec<String>,
    pub bytes: Vec<u8>,
}

impl Transcript {
    pub fn names(&self) -> Vec<&str> {
        self.events.iter().map(|e| e.name.as_str()).collect()
    }

    pub fn named(&self, name: &str) -> Vec<&Event> {
        self.events.iter().filter(|e| e.name == name).collect()
    }

    /// Concatenated `content` of every `content` event.
    pub fn content(&self) -> String {
        self.named("content")
            .iter()
            .filter_map(|e| e.data["content"].as_str())
            .collect()
    }
}

/// Reads the whole SSE body (until the server closes it or `secs` pass).
pub async fn read_all(resp: reqwest::Response, secs: u64) -> anyhow::Result<Transcript> {
    let mut t = Transcript::default();
    let mut stream = resp.bytes_stream();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(Some(chunk)) => t.bytes.extend_from_slice(&chunk?),
            Ok(None) => break,
            Err(_) => anyhow::bail!(
                "SSE stream still open after {secs} s; got so far:\n{}",
                String::from_utf8_lossy(&t.bytes)
            ),
        }
    }
    let text = String::from_utf8_lossy(&t.bytes).to_string();
    for block in text.split("\n\n").filter(|b| !b.is_empty()) {
        let mut name = "message".to_string();
        let mut data = Vec::new();
        for line in block.lines() {
            if let Some(c) = line.strip_prefix(':') {
                t.comments.push(c.trim().to_string());
            } else if let Some(v) = line.strip_prefix("event: ") {
                name = v.to_string();
            } else if let Some(v) = line.strip_prefix("data: ") {
                data.push(v.to_string());
            }
        }
        if !data.is_empty() {
            let raw = data.join("\n");
            let data = serde_json::from_str(&raw).unwrap_or(Value::String(raw.clone()));
            t.events.push(Event { name, data, raw });
        }
    }
    Ok(t)
}
