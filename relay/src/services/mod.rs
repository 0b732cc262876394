//! Flows that combine upstream, store, files and encoders (a chat turn: open session → stream →
//! record; the model picker: config.yaml + gateway models).

pub mod available_models;
pub mod chat_turn;
