//! What a chat turn produced (`ChatEvent`) and the encoders that write it on the wire.
//!
//! Upstream parsers produce `ChatEvent`s; each client vocabulary has its own small encoder.

pub mod event;
pub mod optx;
pub mod sse_out;
