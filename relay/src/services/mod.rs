//! Flows that combine upstream, store and encoders (a chat turn: open session → stream → record).

pub mod chat_turn;
