//! Task rules: status names, the state machine, input validation and normalisation of a new task,
//! the capability check and the retry rule. Pure: reducers in `tasks.rs` apply them.
//!
//! State machine (status strings as stored):
//! `Blocked` —unblock→ `Open` —claim→ `InProgress` —submit→ `PendingValidation`;
//! `InProgress`/`PendingValidation` —complete→ `Completed`, —fail→ `Open` (attempts left) or `Failed`;
//! any non-terminal —cancel→ `Cancelled`. `Completed`, `Failed`, `Cancelled` are terminal.

use crate::errors::{conflict, forbidden, invalid};
use crate::text_rules::{bounded_text, optional_id, required_id};
use spacetimedb::SpacetimeType;

pub const BLOCKED: &str = "Blocked";
pub const OPEN: &str = "Open";
pub const IN_PROGRESS: &str = "InProgress";
pub const PENDING_VALIDATION: &str = "PendingValidation";
pub const COMPLETED: &str = "Completed";
pub const FAILED: &str = "Failed";
pub const CANCELLED: &str = "Cancelled";

pub const STATUSES: [&str; 7] = [
    BLOCKED,
    OPEN,
    IN_PROGRESS,
    PENDING_VALIDATION,
    COMPLETED,
    FAILED,
    CANCELLED,
];

pub const VALIDATION_MODES: [&str; 3] = ["CreatorReview", "ValidatorQuorum", "ExternalAttestation"];

pub const MAX_ID_CHARS: usize = 128;
pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_DESCRIPTION_BYTES: usize = 16 * 1024;
pub const MAX_RESULT_BYTES: usize = 64 * 1024;
pub const MAX_CAPABILITIES: usize = 32;
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
pub const MAX_MAX_ATTEMPTS: u32 = 100;

/// A task as a client submits it (to `create_task`, or inside a `create_swarm` batch).
/// Empty strings / zeros mean "default": `validation_mode` → `CreatorReview`, `max_attempts` → 3,
/// `deadline_us` → none.
#[derive(SpacetimeType, Clone, Debug, PartialEq)]
pub struct NewTask {
    pub id: String,
    pub title: String,
    pub description: String,
    pub priority: u8,
    pub reward_amount: u64,
    pub reward_token: String,
    pub capabilities: Vec<String>,
    pub validation_mode: String,
    pub assigned_agent: String,
    pub gaze_required: bool,
    pub max_attempts: u32,
    pub parent_task_id: String,
    pub deadline_us: i64,
    /// Ids of prerequisite tasks (existing tasks, or tasks of the same swarm batch).
    pub depends_on: Vec<String>,
}

pub fn is_terminal(status: &str) -> bool {
    matches!(status, COMPLETED | FAILED | CANCELLED)
}

/// What happens to a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// All prerequisites completed.
    Unblock,
    /// An unfinished prerequisite was added.
    Block,
    Claim,
    Submit,
    Complete,
    /// `retry` = attempts remain.
    Fail {
        retry: bool,
    },
    /// Explicit cancel, or the cascade from a cancelled / failed prerequisite.
    Cancel,
}

/// The status after `action`, or `E_CONFLICT` if the action is not legal in `from`.
pub fn next(from: &str, action: Action) -> Result<&'static str, String> {
    let to = match (from, action) {
        (BLOCKED, Action::Unblock) => Some(OPEN),
        (OPEN | BLOCKED, Action::Block) => Some(BLOCKED),
        (OPEN, Action::Claim) => Some(IN_PROGRESS),
        (IN_PROGRESS, Action::Submit) => Some(PENDING_VALIDATION),
        (IN_PROGRESS | PENDING_VALIDATION, Action::Complete) => Some(COMPLETED),
        (IN_PROGRESS | PENDING_VALIDATION, Action::Fail { retry: true }) => Some(OPEN),
        (IN_PROGRESS | PENDING_VALIDATION, Action::Fail { retry: false }) => Some(FAILED),
        (s, Action::Cancel) if !is_terminal(s) => Some(CANCELLED),
        _ => None,
    };
    to.ok_or_else(|| {
        let why = match action {
            Action::Claim if from == BLOCKED => " (prerequisites are not all Completed)".into(),
            _ if is_terminal(from) => format!(" ({from} is terminal)"),
            _ => String::new(),
        };
        conflict(format!("cannot {action:?} a task that is {from}{why}"))
    })
}

/// Attempts are counted at claim; after a failure the task reopens while `attempts < max`.
pub fn retry_after_failure(attempts: u32, max_attempts: u32) -> bool {
    attempts < max_attempts
}

/// Task ids: 1..=128 chars of letters, digits and `_ - . :`.
pub fn validate_task_id(field: &str, id: &str) -> Result<(), String> {
    required_id(field, id, MAX_ID_CHARS)?;
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
    {
        return Err(invalid(format!(
            "{field} may only contain letters, digits and _ - . :"
        )));
    }
    Ok(())
}

/// Token / currency symbols: 1..=16 upper-case letters or digits.
pub fn validate_token(field: &str, token: &str) -> Result<(), String> {
    required_id(field, token, 16)?;
    if !token
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return Err(invalid(format!(
            "{field} must be upper-case letters and digits"
        )));
    }
    Ok(())
}

/// Validates a new task and fills in defaults. `now_us` is the reducer's timestamp.
pub fn normalize(mut t: NewTask, now_us: i64) -> Result<NewTask, String> {
    validate_task_id("id", &t.id)?;
    required_id("title", &t.title, MAX_TITLE_CHARS)?;
    bounded_text("description", &t.description, MAX_DESCRIPTION_BYTES)?;
    if !(1..=10).contains(&t.priority) {
        return Err(invalid("priority must be between 1 and 10"));
    }
    if t.reward_amount > 0 || !t.reward_token.is_empty() {
        validate_token("reward_token", &t.reward_token)?;
    }
    if t.capabilities.len() > MAX_CAPABILITIES {
        return Err(invalid(format!("at most {MAX_CAPABILITIES} capabilities")));
    }
    for c in &t.capabilities {
        required_id("capability", c, 64)?;
    }
    t.capabilities.sort();
    t.capabilities.dedup();
    if t.validation_mode.is_empty() {
        t.validation_mode = VALIDATION_MODES[0].to_string();
    }
    if !VALIDATION_MODES.contains(&t.validation_mode.as_str()) {
        return Err(invalid(format!(
            "validation_mode must be one of {}",
            VALIDATION_MODES.join(", ")
        )));
    }
    optional_id("assigned_agent", &t.assigned_agent, MAX_ID_CHARS)?;
    if t.max_attempts == 0 {
        t.max_attempts = DEFAULT_MAX_ATTEMPTS;
    }
    if t.max_attempts > MAX_MAX_ATTEMPTS {
        return Err(invalid(format!(
            "max_attempts must be at most {MAX_MAX_ATTEMPTS}"
        )));
    }
    if !t.parent_task_id.is_empty() {
        validate_task_id("parent_task_id", &t.parent_task_id)?;
        if t.parent_task_id == t.id {
            return Err(invalid("a task cannot be its own parent"));
        }
    }
    if t.deadline_us < 0 || (t.deadline_us > 0 && t.deadline_us <= now_us) {
        return Err(invalid("deadline_us must be 0 (none) or in the future"));
    }
    if t.depends_on.len() > crate::dag_rules::MAX_PREREQUISITES {
        return Err(invalid(format!(
            "at most {} prerequisites",
            crate::dag_rules::MAX_PREREQUISITES
        )));
    }
    for d in &t.depends_on {
        validate_task_id("depends_on", d)?;
        if *d == t.id {
            return Err(invalid(format!("task '{}' cannot depend on itself", t.id)));
        }
    }
    let before = t.depends_on.len();
    let mut sorted = t.depends_on.clone();
    sorted.sort();
    sorted.dedup();
    if sorted.len() != before {
        return Err(invalid("depends_on lists a task twice"));
    }
    Ok(t)
}

/// The agent's declared capabilities must include every capability the task requires.
pub fn check_capabilities(declared: &[String], required: &[String]) -> Result<(), String> {
    let missing: Vec<&str> = required
        .iter()
        .filter(|r| !declared.contains(r))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(forbidden(format!(
            "agent lacks required capabilities: {}",
            missing.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn sample(id: &str) -> NewTask {
        NewTask {
            id: id.into(),
            title: "Write report".into(),
            description: String::new(),
            priority: 5,
            reward_amount: 0,
            reward_token: String::new(),
            capabilities: vec![],
            validation_mode: String::new(),
            assigned_agent: String::new(),
            gaze_required: false,
            max_attempts: 0,
            parent_task_id: String::new(),
            deadline_us: 0,
            depends_on: vec![],
        }
    }

    #[test]
    fn legal_transitions() {
        assert_eq!(next(BLOCKED, Action::Unblock).unwrap(), OPEN);
        assert_eq!(next(OPEN, Action::Block).unwrap(), BLOCKED);
        assert_eq!(next(OPEN, Action::Claim).unwrap(), IN_PROGRESS);
        assert_eq!(
            next(IN_PROGRESS, Action::Submit).unwrap(),
            PENDING_VALIDATION
        );
        assert_eq!(next(IN_PROGRESS, Action::Complete).unwrap(), COMPLETED);
        assert_eq!(
            next(PENDING_VALIDATION, Action::Complete).unwrap(),
            COMPLETED
        );
        assert_eq!(
            next(IN_PROGRESS, Action::Fail { retry: true }).unwrap(),
            OPEN
        );
        assert_eq!(
            next(PENDING_VALIDATION, Action::Fail { retry: false }).unwrap(),
            FAILED
        );
        for s in [BLOCKED, OPEN, IN_PROGRESS, PENDING_VALIDATION] {
            assert_eq!(next(s, Action::Cancel).unwrap(), CANCELLED);
        }
    }

    #[test]
    fn terminal_states_stay_terminal() {
        for s in [COMPLETED, FAILED, CANCELLED] {
            for a in [
                Action::Unblock,
                Action::Block,
                Action::Claim,
                Action::Submit,
                Action::Complete,
                Action::Fail { retry: true },
                Action::Cancel,
            ] {
                let e = next(s, a).unwrap_err();
                assert!(e.starts_with("E_CONFLICT"), "{s} {a:?}: {e}");
            }
        }
    }

    #[test]
    fn illegal_non_terminal_transitions() {
        assert!(next(BLOCKED, Action::Claim)
            .unwrap_err()
            .contains("prerequisites"));
        assert!(next(OPEN, Action::Complete).is_err());
        assert!(next(OPEN, Action::Submit).is_err());
        assert!(next(PENDING_VALIDATION, Action::Submit).is_err());
        assert!(next(IN_PROGRESS, Action::Claim).is_err());
        assert!(next(IN_PROGRESS, Action::Block).is_err());
        assert!(next(OPEN, Action::Fail { retry: true }).is_err());
    }

    #[test]
    fn retries_until_max_attempts() {
        assert!(retry_after_failure(1, 3));
        assert!(retry_after_failure(2, 3));
        assert!(!retry_after_failure(3, 3));
    }

    #[test]
    fn normalize_fills_defaults_and_validates() {
        let t = normalize(sample("t-1"), 100).unwrap();
        assert_eq!(t.validation_mode, "CreatorReview");
        assert_eq!(t.max_attempts, 3);
        let bad = |f: fn(&mut NewTask)| {
            let mut t = sample("t-1");
            f(&mut t);
            normalize(t, 100).unwrap_err()
        };
        assert!(bad(|t| t.id = "bad id".into()).starts_with("E_INVALID"));
        assert!(bad(|t| t.title = String::new()).starts_with("E_INVALID"));
        assert!(bad(|t| t.priority = 0).contains("priority"));
        assert!(bad(|t| t.priority = 11).contains("priority"));
        assert!(bad(|t| t.reward_amount = 5).contains("reward_token"));
        assert!(bad(|t| t.validation_mode = "Vibes".into()).contains("validation_mode"));
        assert!(bad(|t| t.max_attempts = 101).contains("max_attempts"));
        assert!(bad(|t| t.deadline_us = 50).contains("deadline"));
        assert!(bad(|t| t.depends_on = vec!["t-1".into()]).contains("itself"));
        assert!(bad(|t| t.depends_on = vec!["a".into(), "a".into()]).contains("twice"));
        assert!(bad(|t| t.parent_task_id = "t-1".into()).contains("parent"));
    }

    #[test]
    fn capabilities_must_be_covered() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(check_capabilities(&s(&["rust", "sql"]), &s(&["sql"])).is_ok());
        assert!(check_capabilities(&s(&[]), &s(&[])).is_ok());
        let e = check_capabilities(&s(&["rust"]), &s(&["sql", "rust"])).unwrap_err();
        assert_eq!(e, "E_FORBIDDEN: agent lacks required capabilities: sql");
    }
}
