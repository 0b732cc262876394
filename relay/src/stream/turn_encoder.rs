//! `TurnEncoder`: writes one chat turn's SSE frames in the vocabularies the client asked for —
//! OPTX (`session/content/done/error`), Hermes-native (`run.started` … `run.completed`), or both
//! interleaved on one stream (the default). In the Hermes and combined modes every payload
//! carries the envelope `{session_id, run_id, seq, ts}` with a gap-free `seq`; the OPTX-only mode
//! keeps the legacy payloads byte-for-byte.

use super::event::{ChatEvent, Usage};
use super::{hermes, optx, sse_out};
use bytes::Bytes;
use serde_json::{json, Value};

/// Which vocabularies a stream carries (`?events=optx|hermes|both`, default both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vocab {
    pub optx: bool,
    pub hermes: bool,
}

impl Vocab {
    pub const BOTH: Vocab = Vocab {
        optx: true,
        hermes: true,
    };

    pub fn parse(q: Option<&str>) -> Result<Vocab, String> {
        match q.unwrap_or("both") {
            "both" | "all" | "" => Ok(Vocab::BOTH),
            "optx" => Ok(Vocab {
                optx: true,
                hermes: false,
            }),
            "hermes" => Ok(Vocab {
                optx: false,
                hermes: true,
            }),
            other => Err(format!(
                "events must be optx, hermes or both (got '{other}')"
            )),
        }
    }
}

pub struct TurnEncoder {
    vocab: Vocab,
    session_id: String,
    run_id: String,
    message_id: String,
    seq: u64,
    text: String,
}

fn hex_id(prefix: &str) -> String {
    format!(
        "{prefix}_{:016x}{:016x}",
        rand::random::<u64>(),
        rand::random::<u64>()
    )
}

fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl TurnEncoder {
    pub fn new(vocab: Vocab, session_id: &str) -> Self {
        Self {
            vocab,
            session_id: session_id.to_string(),
            run_id: hex_id("run"),
            message_id: hex_id("msg"),
            seq: 0,
            text: String::new(),
        }
    }

    /// The assistant text sent so far (what `assistant.completed` will carry).
    #[cfg(test)]
    pub fn text(&self) -> &str {
        &self.text
    }

    fn frame(&mut self, name: &str, mut payload: Value) -> Bytes {
        if self.vocab.hermes {
            self.seq += 1;
            if let Value::Object(m) = &mut payload {
                m.entry("session_id").or_insert(json!(self.session_id));
                m.entry("run_id").or_insert(json!(self.run_id));
                m.insert("seq".into(), json!(self.seq));
                m.insert("ts".into(), json!(now_secs()));
            }
        }
        sse_out::named(name, &payload)
    }

    /// The turn was received: `session{created}` for a new session, `run.started`.
    pub fn opened(&mut self, created: bool, user_message: &str) -> Vec<Bytes> {
        let mut out = Vec::new();
        if self.vocab.optx && created {
            let p = optx::session(&self.session_id, "created", None);
            out.push(self.frame("session", p));
        }
        if self.vocab.hermes {
            out.push(self.frame("run.started", hermes::run_started(user_message)));
        }
        out
    }

    /// The upstream accepted the turn: `session{streaming}`, `message.started`.
    pub fn accepted(&mut self, fallback: Option<&str>) -> Vec<Bytes> {
        let mut out = Vec::new();
        if self.vocab.optx {
            let p = optx::session(&self.session_id, "streaming", fallback);
            out.push(self.frame("session", p));
        }
        if self.vocab.hermes {
            let p = hermes::message_started(&self.message_id);
            out.push(self.frame("message.started", p));
        }
        out
    }

    fn delta(&mut self, text: &str) -> Vec<Bytes> {
        let mut out = Vec::new();
        if text.is_empty() {
            return out;
        }
        self.text.push_str(text);
        if self.vocab.hermes {
            let p = hermes::delta(&self.message_id, text);
            out.push(self.frame("assistant.delta", p));
        }
        if self.vocab.optx {
            let p = optx::content(&self.session_id, text);
            out.push(self.frame("content", p));
        }
        out
    }

    /// Frames for one upstream event.
    pub fn event(&mut self, ev: &ChatEvent) -> Vec<Bytes> {
        match ev {
            ChatEvent::Delta(text) => self.delta(text),
            // A final text that never streamed as deltas is shown once, as a delta.
            ChatEvent::Completed { content } if self.text.is_empty() => self.delta(content),
            ChatEvent::Tool(t) if self.vocab.hermes => {
                let p = hermes::tool(&self.message_id, t);
                vec![self.frame(t.phase.event_name(), p)]
            }
            ChatEvent::Error(msg) => self.error(msg),
            _ => Vec::new(),
        }
    }

    /// An `error` event (Hermes shape with `message` and `error.message` unless OPTX-only).
    pub fn error(&mut self, message: &str) -> Vec<Bytes> {
        let p = if self.vocab.hermes {
            hermes::error(message)
        } else {
            optx::error(&self.session_id, message)
        };
        vec![self.frame("error", p)]
    }

    /// The end of the turn: on success `assistant.completed` and `run.completed`; always the one
    /// final `done`, carrying the status and the usage.
    pub fn finished(&mut self, ok: bool, usage: Option<&Usage>) -> Vec<Bytes> {
        let mut out = Vec::new();
        if ok && self.vocab.hermes {
            let text = self.text.clone();
            let p = hermes::assistant_completed(&self.message_id, &text);
            out.push(self.frame("assistant.completed", p));
            let p = hermes::run_completed(&self.message_id, usage);
            out.push(self.frame("run.completed", p));
        }
        let p = optx::done(&self.session_id, ok, usage);
        out.push(self.frame("done", p));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::event::{ToolEvent, ToolPhase};

    fn names(frames: &[Bytes]) -> Vec<String> {
        frames
            .iter()
            .map(|b| {
                let s = std::str::from_utf8(b).unwrap();
                s.lines()
                    .next()
                    .unwrap()
                    .trim_start_matches("event: ")
                    .to_string()
            })
            .collect()
    }

    fn data(b: &Bytes) -> Value {
        let s = std::str::from_utf8(b).unwrap();
        serde_json::from_str(s.lines().nth(1).unwrap().trim_start_matches("data: ")).unwrap()
    }

    fn turn(vocab: Vocab) -> Vec<Bytes> {
        let mut e = TurnEncoder::new(vocab, "s1");
        let mut out = e.opened(true, "hi");
        out.extend(e.accepted(None));
        out.extend(e.event(&ChatEvent::Delta("Hel".into())));
        out.extend(e.event(&ChatEvent::Tool(ToolEvent {
            phase: ToolPhase::Started,
            name: "todo".into(),
            preview: None,
            args: None,
            call_id: None,
        })));
        out.extend(e.event(&ChatEvent::Delta("lo".into())));
        out.extend(e.event(&ChatEvent::Completed {
            content: "Hello".into(),
        }));
        out.extend(e.finished(true, Some(&Usage::default())));
        out
    }

    #[test]
    fn optx_only_is_the_legacy_envelope() {
        let f = turn(Vocab::parse(Some("optx")).unwrap());
        assert_eq!(
            names(&f),
            ["session", "session", "content", "content", "done"]
        );
        assert_eq!(
            &f[2][..],
            b"event: content\ndata: {\"content\":\"Hel\",\"session_id\":\"s1\"}\n\n"
        );
    }

    #[test]
    fn hermes_only_follows_the_session_stream_order() {
        let f = turn(Vocab::parse(Some("hermes")).unwrap());
        assert_eq!(
            names(&f),
            [
                "run.started",
                "message.started",
                "assistant.delta",
                "tool.started",
                "assistant.delta",
                "assistant.completed",
                "run.completed",
                "done"
            ]
        );
        let completed = data(&f[5]);
        assert_eq!(completed["content"], "Hello");
        let run_id = data(&f[0])["run_id"].clone();
        for (i, b) in f.iter().enumerate() {
            let d = data(b);
            assert_eq!(d["seq"], (i + 1) as u64);
            assert_eq!(d["run_id"], run_id);
            assert_eq!(d["session_id"], "s1");
            assert!(d["ts"].is_f64());
        }
    }

    #[test]
    fn both_vocabularies_interleave_with_one_done() {
        let f = turn(Vocab::BOTH);
        assert_eq!(
            names(&f),
            [
                "session",
                "run.started",
                "session",
                "message.started",
                "assistant.delta",
                "content",
                "tool.started",
                "assistant.delta",
                "content",
                "assistant.completed",
                "run.completed",
                "done"
            ]
        );
        let done = data(f.last().unwrap());
        assert_eq!(done["status"], "complete");
        assert_eq!(done["seq"], 12);
        assert!(done.get("usage").is_some());
    }

    #[test]
    fn errors_use_the_shape_of_the_vocabulary() {
        let mut e = TurnEncoder::new(Vocab::BOTH, "s1");
        let d = data(&e.error("boom")[0]);
        assert_eq!(d["message"], "boom");
        assert_eq!(d["error"]["message"], "boom");
        let mut e = TurnEncoder::new(Vocab::parse(Some("optx")).unwrap(), "s1");
        assert_eq!(
            data(&e.error("boom")[0]),
            json!({"error": "boom", "session_id": "s1"})
        );
        let f = e.finished(false, None);
        assert_eq!(data(&f[0]), json!({"session_id": "s1", "status": "error"}));
    }

    #[test]
    fn completed_text_is_shown_once_when_nothing_streamed() {
        let mut e = TurnEncoder::new(Vocab::BOTH, "s1");
        let f = e.event(&ChatEvent::Completed {
            content: "whole".into(),
        });
        assert_eq!(names(&f), ["assistant.delta", "content"]);
        assert!(e
            .event(&ChatEvent::Completed {
                content: "whole".into()
            })
            .is_empty());
        assert_eq!(e.text(), "whole");
    }

    #[test]
    fn unknown_vocabulary_is_refused() {
        assert!(Vocab::parse(Some("xml")).is_err());
    }
}
