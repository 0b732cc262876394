//! Swarm rules: strategies, batch limits, and the prerequisite edges a strategy implies.
//!
//! Pure. A swarm's status is not stored; it is derived from its tasks ([`derive_status`]).

use crate::errors::invalid;
use crate::task_rules::{self, NewTask};

pub const STRATEGIES: [&str; 3] = ["parallel", "sequential", "dag"];
pub const MAX_SWARM_TASKS: usize = 200;
pub const MAX_GOAL_BYTES: usize = 8 * 1024;

/// Validates the strategy and returns every (prerequisite, dependent) edge of the batch:
/// `parallel` — no edges (any `depends_on` is refused); `sequential` — each task depends on the
/// one before it, plus its explicit `depends_on`; `dag` — exactly the explicit `depends_on`.
pub fn batch_edges(strategy: &str, tasks: &[NewTask]) -> Result<Vec<(String, String)>, String> {
    if !STRATEGIES.contains(&strategy) {
        return Err(invalid(format!(
            "strategy must be one of {}",
            STRATEGIES.join(", ")
        )));
    }
    if tasks.is_empty() || tasks.len() > MAX_SWARM_TASKS {
        return Err(invalid(format!("a swarm has 1..={MAX_SWARM_TASKS} tasks")));
    }
    let mut ids: Vec<&str> = tasks.iter().map(|t| t.id.as_str()).collect();
    ids.sort();
    if ids.windows(2).any(|w| w[0] == w[1]) {
        return Err(invalid("two tasks in the batch share an id"));
    }
    let mut edges = Vec::new();
    for (i, t) in tasks.iter().enumerate() {
        if strategy == "parallel" && !t.depends_on.is_empty() {
            return Err(invalid(format!(
                "task '{}' has dependencies but the strategy is parallel",
                t.id
            )));
        }
        if strategy == "sequential" && i > 0 {
            let prev = &tasks[i - 1].id;
            if !t.depends_on.contains(prev) {
                edges.push((prev.clone(), t.id.clone()));
            }
        }
        for d in &t.depends_on {
            edges.push((d.clone(), t.id.clone()));
        }
    }
    Ok(edges)
}

/// A swarm's status from its tasks' statuses: `empty` (no tasks), `cancelled` (all Cancelled),
/// `completed` (every task Completed), `failed` (all terminal, some Failed or Cancelled),
/// `running` (something InProgress / PendingValidation or anything Completed/terminal while
/// others remain), else `pending` (only Open / Blocked).
pub fn derive_status<'a>(statuses: impl IntoIterator<Item = &'a str>) -> &'static str {
    let all: Vec<&str> = statuses.into_iter().collect();
    if all.is_empty() {
        return "empty";
    }
    if all.iter().all(|s| *s == task_rules::CANCELLED) {
        return "cancelled";
    }
    if all.iter().all(|s| *s == task_rules::COMPLETED) {
        return "completed";
    }
    if all.iter().all(|s| task_rules::is_terminal(s)) {
        return "failed";
    }
    if all
        .iter()
        .all(|s| *s == task_rules::OPEN || *s == task_rules::BLOCKED)
    {
        return "pending";
    }
    "running"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(id: &str, deps: &[&str]) -> NewTask {
        NewTask {
            id: id.into(),
            title: id.into(),
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
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
        }
    }

    fn e(p: &str, d: &str) -> (String, String) {
        (p.into(), d.into())
    }

    #[test]
    fn strategies_imply_edges() {
        let seq = [t("a", &[]), t("b", &[]), t("c", &["a"])];
        assert_eq!(
            batch_edges("sequential", &seq).unwrap(),
            vec![e("a", "b"), e("b", "c"), e("a", "c")]
        );
        assert!(batch_edges("parallel", &[t("a", &[]), t("b", &[])])
            .unwrap()
            .is_empty());
        assert!(batch_edges("parallel", &[t("a", &[]), t("b", &["a"])]).is_err());
        assert_eq!(
            batch_edges("dag", &[t("a", &[]), t("b", &["a"])]).unwrap(),
            vec![e("a", "b")]
        );
    }

    #[test]
    fn batch_limits() {
        assert!(batch_edges("swirl", &[t("a", &[])]).is_err());
        assert!(batch_edges("dag", &[]).is_err());
        assert!(batch_edges("dag", &[t("a", &[]), t("a", &[])])
            .unwrap_err()
            .contains("share an id"));
    }

    #[test]
    fn status_is_derived() {
        assert_eq!(derive_status([]), "empty");
        assert_eq!(derive_status(["Open", "Blocked"]), "pending");
        assert_eq!(derive_status(["Completed", "Blocked"]), "running");
        assert_eq!(derive_status(["InProgress", "Open"]), "running");
        assert_eq!(derive_status(["Completed", "Completed"]), "completed");
        assert_eq!(derive_status(["Completed", "Failed"]), "failed");
        assert_eq!(derive_status(["Cancelled"]), "cancelled");
    }
}
