//! `ChatEvent`: the relay's single internal description of what happened upstream during a turn,
//! independent of which upstream route produced it and which vocabulary the client reads.

use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub total_tokens: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ChatEvent {
    /// A piece of assistant text to show.
    Delta(String),
    /// A tool started, finished or failed.
    Tool(ToolEvent),
    /// The canonical final assistant text of the turn.
    Completed { content: String },
    /// Token usage of the turn.
    Usage(Usage),
    /// The upstream reported a failure (or the relay detected one).
    Error(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ToolEvent {
    pub phase: ToolPhase,
    pub name: String,
    pub preview: Option<String>,
    pub args: Option<Value>,
    pub call_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolPhase {
    Started,
    Completed,
    Failed,
}

impl ToolPhase {
    pub fn event_name(self) -> &'static str {
        match self {
            ToolPhase::Started => "tool.started",
            ToolPhase::Completed => "tool.completed",
            ToolPhase::Failed => "tool.failed",
        }
    }
}
