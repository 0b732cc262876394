//! Flows that combine upstream, store, files and encoders (a chat turn: open session → stream →
//! record; the model picker: config.yaml + gateway models).

pub mod available_models;
pub mod chat_once;
pub mod chat_turn;
pub mod completions_stream;
pub mod session_meta;
pub mod sessions;
pub mod sse_pump;
