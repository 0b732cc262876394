//! The one SSE parser: turns an upstream byte stream into `SseFrame`s.
//!
//! Follows the WHATWG event-stream rules that matter here: LF, CRLF or CR line ends, `event:`,
//! multi-line `data:`, comments ignored, a blank line dispatches. Chunk boundaries may fall
//! anywhere, including inside a UTF-8 sequence or between CR and LF.

use bytes::Bytes;
use futures::{Stream, StreamExt};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseFrame {
    /// `event:` field; `None` means the default `message` type.
    pub event: Option<String>,
    pub data: String,
}

/// Incremental parser; feed bytes, collect complete frames.
#[derive(Default)]
pub struct SseParser {
    buf: Vec<u8>,
    event: Option<String>,
    data: Vec<String>,
    saw_cr: bool,
}

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds a chunk; returns the frames it completed.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<SseFrame> {
        let mut out = Vec::new();
        for &b in chunk {
            if self.saw_cr {
                self.saw_cr = false;
                if b == b'\n' {
                    continue; // CRLF: the CR already ended the line
                }
            }
            match b {
                b'\n' => self.end_line(&mut out),
                b'\r' => {
                    self.saw_cr = true;
                    self.end_line(&mut out);
                }
                _ => self.buf.push(b),
            }
        }
        out
    }

    /// Frame left without its closing blank line when the stream ended (`None` if nothing pending).
    pub fn finish(&mut self) -> Option<SseFrame> {
        let mut out = Vec::new();
        if !self.buf.is_empty() {
            self.end_line(&mut out);
        }
        if !self.data.is_empty() {
            self.end_line(&mut out); // dispatch
        }
        out.pop()
    }

    fn end_line(&mut self, out: &mut Vec<SseFrame>) {
        let line = String::from_utf8_lossy(&self.buf).into_owned();
        self.buf.clear();
        if line.is_empty() {
            if !self.data.is_empty() {
                out.push(SseFrame {
                    event: self.event.take(),
                    data: self.data.join("\n"),
                });
                self.data.clear();
            } else {
                self.event = None;
            }
            return;
        }
        if line.starts_with(':') {
            return; // comment / keep-alive
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_str(), ""),
        };
        match field {
            "event" => self.event = Some(value.to_string()),
            "data" => self.data.push(value.to_string()),
            _ => {} // id, retry and unknown fields are not used by our upstreams
        }
    }
}

/// Item of [`frames`]: a parsed frame, or the transport error that cut the stream.
pub type FrameResult = Result<SseFrame, reqwest::Error>;

/// Adapts a byte stream into a stream of frames. A transport error is yielded once and ends it.
pub fn frames(
    body: impl Stream<Item = Result<Bytes, reqwest::Error>> + Send + 'static,
) -> impl Stream<Item = FrameResult> + Send + 'static {
    let state = (
        Box::pin(body),
        SseParser::new(),
        std::collections::VecDeque::new(),
        false,
    );
    futures::stream::unfold(
        state,
        |(mut body, mut parser, mut queue, mut ended)| async move {
            loop {
                if let Some(f) = queue.pop_front() {
                    return Some((Ok(f), (body, parser, queue, ended)));
                }
                if ended {
                    return None;
                }
                match body.next().await {
                    Some(Ok(chunk)) => queue.extend(parser.feed(&chunk)),
                    Some(Err(e)) => {
                        ended = true;
                        return Some((Err(e), (body, parser, queue, ended)));
                    }
                    None => {
                        ended = true;
                        queue.extend(parser.finish());
                    }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(chunks: &[&[u8]]) -> Vec<SseFrame> {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        for c in chunks {
            out.extend(p.feed(c));
        }
        out.extend(p.finish());
        out
    }

    fn f(event: Option<&str>, data: &str) -> SseFrame {
        SseFrame {
            event: event.map(str::to_string),
            data: data.to_string(),
        }
    }

    #[test]
    fn named_and_unnamed_events_with_any_line_ending() {
        let got =
            all(&[b"event: a\r\ndata: 1\r\n\r\ndata: 2\n\n: keepalive\n\nevent: b\rdata: x\r\r"]);
        assert_eq!(
            got,
            vec![f(Some("a"), "1"), f(None, "2"), f(Some("b"), "x")]
        );
    }

    #[test]
    fn chunk_boundaries_do_not_matter() {
        let text = "event: assistant.delta\ndata: {\"delta\":\"h\u{e9}llo\"}\n\ndata: [DONE]\n\n";
        let whole = all(&[text.as_bytes()]);
        for size in 1..9 {
            let chunks: Vec<&[u8]> = text.as_bytes().chunks(size).collect();
            assert_eq!(all(&chunks), whole, "chunk size {size}");
        }
        assert_eq!(whole[0].data, "{\"delta\":\"h\u{e9}llo\"}");
    }

    #[test]
    fn crlf_split_across_chunks_is_one_line_end() {
        assert_eq!(all(&[b"data: a\r", b"\n\r", b"\n"]), vec![f(None, "a")]);
    }

    #[test]
    fn multi_line_data_and_unterminated_tail() {
        assert_eq!(all(&[b"data: a\ndata: b\n\n"]), vec![f(None, "a\nb")]);
        assert_eq!(all(&[b"data: tail"]), vec![f(None, "tail")]);
        assert_eq!(all(&[b"data:nospace\n\n"]), vec![f(None, "nospace")]);
    }
}
