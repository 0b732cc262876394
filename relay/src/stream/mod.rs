//! What a chat turn produced (`ChatEvent`) and the encoders that write it on the wire: the OPTX
//! envelope, the Hermes-native vocabulary, both interleaved on one stream, and OpenAI chunks.

pub mod event;
pub mod hermes;
pub mod optx;
pub mod sse_out;
pub mod turn_encoder;
