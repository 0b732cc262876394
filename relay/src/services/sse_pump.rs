//! The SSE response side of a streamed route: a channel the response body reads, keep-alive
//! comments while waiting, and noticing the client leave (so the upstream can be dropped at once).

use crate::stream::sse_out;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{interval_at, Instant, Interval};
use tokio_stream::wrappers::ReceiverStream;

pub type SseBody = ReceiverStream<Result<Bytes, Infallible>>;

/// What waiting on the upstream produced.
pub enum Pumped<T> {
    Item(T),
    /// The upstream stream ended.
    Ended,
    /// The client disconnected.
    ClientGone,
}

pub struct Pump {
    tx: mpsc::Sender<Result<Bytes, Infallible>>,
    tick: Interval,
}

impl Pump {
    /// A pump and the body to hand to the response.
    pub fn new(keepalive: Duration) -> (Pump, SseBody) {
        let (tx, rx) = mpsc::channel(64);
        let tick = interval_at(Instant::now() + keepalive, keepalive);
        (Pump { tx, tick }, ReceiverStream::new(rx))
    }

    /// Sends frames in order; `false` once the client is gone.
    pub async fn send_all(&self, frames: Vec<Bytes>) -> bool {
        for b in frames {
            if self.tx.send(Ok(b)).await.is_err() {
                return false;
            }
        }
        true
    }

    /// Awaits `fut`, sending keep-alives meanwhile; `None` if the client left first.
    pub async fn wait<F: Future>(&mut self, fut: F) -> Option<F::Output> {
        tokio::pin!(fut);
        loop {
            tokio::select! {
                r = &mut fut => return Some(r),
                _ = self.tick.tick() => if !self.send_all(vec![sse_out::keepalive()]).await { return None },
                _ = self.tx.closed() => return None,
            }
        }
    }

    /// The next item of `s`, sending keep-alives meanwhile.
    pub async fn next<S: Stream + Unpin>(&mut self, s: &mut S) -> Pumped<S::Item> {
        loop {
            tokio::select! {
                item = s.next() => return match item { Some(i) => Pumped::Item(i), None => Pumped::Ended },
                _ = self.tick.tick() => if !self.send_all(vec![sse_out::keepalive()]).await { return Pumped::ClientGone },
                _ = self.tx.closed() => return Pumped::ClientGone,
            }
        }
    }
}
