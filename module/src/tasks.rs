//! Tasks and their dependency DAG: the `task` and `task_edge` tables and the task reducers
//! (create, add dependency, claim, submit, complete, fail, cancel) with unblock / auto-claim /
//! cascade. The state machine and validation are in `task_rules.rs`; cycle checks in `dag_rules.rs`.

use crate::access::{is_owner, require};
use crate::dag_rules::{self, MAX_PREREQUISITES, MAX_VISIT};
use crate::errors::{conflict, forbidden, invalid, not_found};
use crate::task_rules::{
    self, check_capabilities, next, normalize, validate_task_id, Action, NewTask, BLOCKED,
    CANCELLED, COMPLETED, FAILED, OPEN, PENDING_VALIDATION,
};
use crate::text_rules::{bounded_text, optional_id};
use spacetimedb::{reducer, table, Identity, ReducerContext, Table, Timestamp};
use std::collections::{BTreeSet, VecDeque};

#[table(name = task, public)]
#[derive(Clone, Debug)]
pub struct Task {
    /// Client-chosen, unique.
    #[primary_key]
    pub id: String,
    pub title: String,
    pub description: String,
    /// `Blocked` | `Open` | `InProgress` | `PendingValidation` | `Completed` | `Failed` | `Cancelled`.
    #[index(btree)]
    pub status: String,
    /// 1..=10.
    pub priority: u8,
    /// Reward in integer micro-units of `reward_token` (informational; escrow holds real funds).
    pub reward_amount: u64,
    pub reward_token: String,
    /// Capabilities a claimer must declare (sorted, unique).
    pub capabilities: Vec<String>,
    /// `CreatorReview` | `ValidatorQuorum` | `ExternalAttestation`.
    pub validation_mode: String,
    /// Pre-assigned agent name ("" = anyone): only it may claim; auto-claimed on unblock.
    #[index(btree)]
    pub assigned_agent: String,
    /// Agent name of the current claimer ("" when unclaimed).
    #[index(btree)]
    pub claimed_by: String,
    /// Identity that claimed (`Identity::ZERO` when unclaimed); it may submit/complete/fail.
    pub claimed_by_identity: Identity,
    pub created_by: Identity,
    pub gaze_required: bool,
    pub result: String,
    /// Last failure or cancellation reason.
    pub error: String,
    /// Claims so far (auto-claims included).
    pub attempts: u32,
    pub max_attempts: u32,
    /// "" unless created by `create_swarm`.
    #[index(btree)]
    pub swarm_id: String,
    #[index(btree)]
    pub parent_task_id: String,
    pub created_at: Timestamp,
    #[index(btree)]
    pub created_at_us: i64,
    /// 0 until claimed (last claim).
    pub claimed_at_us: i64,
    /// 0 until Completed / Failed / Cancelled.
    pub completed_at_us: i64,
    pub updated_at: Timestamp,
    #[index(btree)]
    pub updated_at_us: i64,
    /// 0 = none; claims after it are refused.
    pub deadline_us: i64,
}

/// `prerequisite_id` must be Completed before `dependent_id` can be claimed.
#[table(name = task_edge, public)]
#[derive(Clone, Debug)]
pub struct TaskEdge {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    #[index(btree)]
    pub prerequisite_id: String,
    #[index(btree)]
    pub dependent_id: String,
    pub created_at_us: i64,
}

pub fn find_task(ctx: &ReducerContext, id: &str) -> Result<Task, String> {
    ctx.db
        .task()
        .id()
        .find(id.to_string())
        .ok_or_else(|| not_found(format!("task '{id}'")))
}

fn save(ctx: &ReducerContext, t: Task) {
    let now = ctx.timestamp;
    ctx.db.task().id().update(Task {
        updated_at: now,
        updated_at_us: now.to_micros_since_unix_epoch(),
        ..t
    });
}

/// Ids of the tasks that depend on `id`.
pub fn dependents_of(ctx: &ReducerContext, id: &str) -> Vec<String> {
    ctx.db
        .task_edge()
        .prerequisite_id()
        .filter(id)
        .map(|e| e.dependent_id)
        .collect()
}

fn prerequisites_of(ctx: &ReducerContext, id: &str) -> Vec<String> {
    ctx.db
        .task_edge()
        .dependent_id()
        .filter(id)
        .map(|e| e.prerequisite_id)
        .collect()
}

fn all_prerequisites_completed(ctx: &ReducerContext, id: &str) -> bool {
    prerequisites_of(ctx, id).iter().all(|p| {
        ctx.db
            .task()
            .id()
            .find(p.clone())
            .is_some_and(|t| t.status == COMPLETED)
    })
}

/// An existing task that may still become a prerequisite: returns whether it is Completed;
/// `E_NOT_FOUND` if missing, `E_CONFLICT` if Failed / Cancelled (it would block forever).
pub fn usable_prerequisite(ctx: &ReducerContext, id: &str) -> Result<bool, String> {
    let p = find_task(ctx, id)?;
    if p.status == FAILED || p.status == CANCELLED {
        return Err(conflict(format!(
            "prerequisite '{id}' is {} and can never complete",
            p.status
        )));
    }
    Ok(p.status == COMPLETED)
}

/// Inserts a validated task with the given status.
pub fn insert_task(ctx: &ReducerContext, t: &NewTask, swarm_id: &str, status: &str) {
    let now = ctx.timestamp;
    let now_us = now.to_micros_since_unix_epoch();
    ctx.db.task().insert(Task {
        id: t.id.clone(),
        title: t.title.clone(),
        description: t.description.clone(),
        status: status.to_string(),
        priority: t.priority,
        reward_amount: t.reward_amount,
        reward_token: t.reward_token.clone(),
        capabilities: t.capabilities.clone(),
        validation_mode: t.validation_mode.clone(),
        assigned_agent: t.assigned_agent.clone(),
        claimed_by: String::new(),
        claimed_by_identity: Identity::ZERO,
        created_by: ctx.sender,
        gaze_required: t.gaze_required,
        result: String::new(),
        error: String::new(),
        attempts: 0,
        max_attempts: t.max_attempts,
        swarm_id: swarm_id.to_string(),
        parent_task_id: t.parent_task_id.clone(),
        created_at: now,
        created_at_us: now_us,
        claimed_at_us: 0,
        completed_at_us: 0,
        updated_at: now,
        updated_at_us: now_us,
        deadline_us: t.deadline_us,
    });
}

/// Inserts an edge unless it exists (`E_CONFLICT`). Cycle checks are the caller's job.
pub fn insert_edge(
    ctx: &ReducerContext,
    prerequisite: &str,
    dependent: &str,
) -> Result<(), String> {
    let existing = prerequisites_of(ctx, dependent);
    if existing.iter().any(|p| p == prerequisite) {
        return Err(conflict(format!(
            "'{dependent}' already depends on '{prerequisite}'"
        )));
    }
    if existing.len() >= MAX_PREREQUISITES {
        return Err(invalid(format!(
            "'{dependent}' already has {MAX_PREREQUISITES} prerequisites"
        )));
    }
    ctx.db.task_edge().insert(TaskEdge {
        id: 0,
        prerequisite_id: prerequisite.to_string(),
        dependent_id: dependent.to_string(),
        created_at_us: ctx.timestamp.to_micros_since_unix_epoch(),
    });
    Ok(())
}

/// Creates a task with its prerequisite edges in one transaction. The task starts `Blocked` if any
/// prerequisite is not Completed, else `Open`.
#[reducer]
pub fn create_task(ctx: &ReducerContext, task: NewTask) -> Result<(), String> {
    require(ctx, "create_task")?;
    let t = normalize(task, ctx.timestamp.to_micros_since_unix_epoch())?;
    if ctx.db.task().id().find(t.id.clone()).is_some() {
        return Err(conflict(format!("task '{}' already exists", t.id)));
    }
    if !t.parent_task_id.is_empty() {
        find_task(ctx, &t.parent_task_id)?;
    }
    let mut all_done = true;
    for d in &t.depends_on {
        all_done &= usable_prerequisite(ctx, d)?;
        // The new task has no dependents yet, so this only refuses self-loops; kept so every
        // edge insertion goes through the same bounded check.
        if dag_rules::creates_cycle(d, &t.id, |x| dependents_of(ctx, x), MAX_VISIT)? {
            return Err(conflict(format!(
                "edge '{d}' → '{}' would create a cycle",
                t.id
            )));
        }
    }
    insert_task(ctx, &t, "", if all_done { OPEN } else { BLOCKED });
    for d in &t.depends_on {
        insert_edge(ctx, d, &t.id)?;
    }
    Ok(())
}

/// Adds `prerequisite_id → dependent_id` to the DAG. The dependent must not have started
/// (`Open` / `Blocked`); an unfinished prerequisite makes it `Blocked`. Refuses duplicates and
/// cycles (`E_CONFLICT`).
#[reducer]
pub fn add_task_dependency(
    ctx: &ReducerContext,
    prerequisite_id: String,
    dependent_id: String,
) -> Result<(), String> {
    require(ctx, "add_task_dependency")?;
    validate_task_id("prerequisite_id", &prerequisite_id)?;
    validate_task_id("dependent_id", &dependent_id)?;
    let dep = find_task(ctx, &dependent_id)?;
    if ctx.sender != dep.created_by && !is_owner(ctx, ctx.sender) {
        return Err(forbidden(
            "only the task's creator or an owner may change its dependencies",
        ));
    }
    if dep.status != OPEN && dep.status != BLOCKED {
        return Err(conflict(format!(
            "task '{dependent_id}' is {}; prerequisites can only be added before it starts",
            dep.status
        )));
    }
    let done = usable_prerequisite(ctx, &prerequisite_id)?;
    if dag_rules::creates_cycle(
        &prerequisite_id,
        &dependent_id,
        |x| dependents_of(ctx, x),
        MAX_VISIT,
    )? {
        return Err(conflict(format!(
            "edge '{prerequisite_id}' → '{dependent_id}' would create a cycle"
        )));
    }
    insert_edge(ctx, &prerequisite_id, &dependent_id)?;
    let status = if done {
        dep.status.clone()
    } else {
        next(&dep.status, Action::Block)?.to_string()
    };
    save(ctx, Task { status, ..dep });
    Ok(())
}

/// The agent name a caller acts as: the given name, or the caller's identity hex when empty.
fn agent_name(ctx: &ReducerContext, agent: String) -> Result<String, String> {
    if agent.is_empty() {
        return Ok(ctx.sender.to_hex().to_string());
    }
    crate::ledger::validate_account("agent", &agent)?;
    Ok(agent)
}

/// Claims an `Open` task for `agent` (empty = the caller's identity hex). Every prerequisite must
/// be Completed, `capabilities` must cover the task's, a pre-assigned task only goes to its
/// agent, a passed deadline refuses the claim, and `gaze_required` consumes a fresh attestation
/// for the agent. Of concurrent claims exactly one commits; the rest get `E_CONFLICT`.
#[reducer]
pub fn claim_task(
    ctx: &ReducerContext,
    task_id: String,
    agent: String,
    capabilities: Vec<String>,
) -> Result<(), String> {
    require(ctx, "claim_task")?;
    let agent = agent_name(ctx, agent)?;
    let t = find_task(ctx, &task_id)?;
    let to = next(&t.status, Action::Claim)?;
    if !all_prerequisites_completed(ctx, &task_id) {
        return Err(conflict(format!(
            "task '{task_id}' has unfinished prerequisites"
        )));
    }
    if !t.assigned_agent.is_empty() && t.assigned_agent != agent {
        return Err(forbidden(format!(
            "task '{task_id}' is assigned to '{}'",
            t.assigned_agent
        )));
    }
    let now_us = ctx.timestamp.to_micros_since_unix_epoch();
    if t.deadline_us > 0 && now_us >= t.deadline_us {
        return Err(conflict(format!("task '{task_id}' is past its deadline")));
    }
    check_capabilities(&capabilities, &t.capabilities)?;
    if t.gaze_required {
        crate::gaze::consume_fresh(ctx, &agent, &format!("task:{task_id}"))?;
    }
    let attempts = t
        .attempts
        .checked_add(1)
        .ok_or_else(|| invalid("attempts overflow"))?;
    save(
        ctx,
        Task {
            status: to.to_string(),
            claimed_by: agent,
            claimed_by_identity: ctx.sender,
            claimed_at_us: now_us,
            attempts,
            ..t
        },
    );
    Ok(())
}

/// The claimer (same identity) or an owner; for a task awaiting validation also its creator.
fn require_claimer(ctx: &ReducerContext, t: &Task, what: &str) -> Result<(), String> {
    let reviewer = t.status == PENDING_VALIDATION && ctx.sender == t.created_by;
    if ctx.sender == t.claimed_by_identity || reviewer || is_owner(ctx, ctx.sender) {
        Ok(())
    } else {
        Err(forbidden(format!(
            "only the claimer of task '{}' or an owner may {what} it",
            t.id
        )))
    }
}

/// Hands in a result for validation: `InProgress` → `PendingValidation`.
#[reducer]
pub fn submit_task(ctx: &ReducerContext, task_id: String, result: String) -> Result<(), String> {
    require(ctx, "submit_task")?;
    bounded_text("result", &result, task_rules::MAX_RESULT_BYTES)?;
    let t = find_task(ctx, &task_id)?;
    let to = next(&t.status, Action::Submit)?;
    require_claimer(ctx, &t, "submit")?;
    save(
        ctx,
        Task {
            status: to.to_string(),
            result,
            ..t
        },
    );
    Ok(())
}

/// Completes an `InProgress` or `PendingValidation` task (empty `result` keeps the submitted one),
/// then unblocks dependents whose prerequisites are all Completed (auto-claiming pre-assigned ones).
#[reducer]
pub fn complete_task(ctx: &ReducerContext, task_id: String, result: String) -> Result<(), String> {
    require(ctx, "complete_task")?;
    bounded_text("result", &result, task_rules::MAX_RESULT_BYTES)?;
    let t = find_task(ctx, &task_id)?;
    let to = next(&t.status, Action::Complete)?;
    require_claimer(ctx, &t, "complete")?;
    let result = if result.is_empty() {
        t.result.clone()
    } else {
        result
    };
    let now_us = ctx.timestamp.to_micros_since_unix_epoch();
    save(
        ctx,
        Task {
            status: to.to_string(),
            result,
            completed_at_us: now_us,
            ..t
        },
    );
    unblock_dependents(ctx, &task_id)
}

/// Who an auto-claimed task is claimed by: the assigned agent's identity when the name is a
/// 64-hex identity, else the task's creator (who pre-assigned it and acts for the agent).
fn auto_claimer(t: &Task) -> Identity {
    if t.assigned_agent.len() == 64 {
        if let Ok(id) = Identity::from_hex(&t.assigned_agent) {
            return id;
        }
    }
    t.created_by
}

fn unblock_dependents(ctx: &ReducerContext, completed: &str) -> Result<(), String> {
    let now_us = ctx.timestamp.to_micros_since_unix_epoch();
    for d in dependents_of(ctx, completed) {
        let Some(t) = ctx.db.task().id().find(d.clone()) else {
            continue;
        };
        if t.status != BLOCKED || !all_prerequisites_completed(ctx, &d) {
            continue;
        }
        let open = next(&t.status, Action::Unblock)?;
        if !t.assigned_agent.is_empty() && !t.gaze_required {
            let attempts = t
                .attempts
                .checked_add(1)
                .ok_or_else(|| invalid("attempts overflow"))?;
            let claimer = auto_claimer(&t);
            save(
                ctx,
                Task {
                    status: next(open, Action::Claim)?.to_string(),
                    claimed_by: t.assigned_agent.clone(),
                    claimed_by_identity: claimer,
                    claimed_at_us: now_us,
                    attempts,
                    ..t
                },
            );
        } else {
            save(
                ctx,
                Task {
                    status: open.to_string(),
                    ..t
                },
            );
        }
    }
    Ok(())
}

/// Cancels every `Blocked` task downstream of `root` (they can never run), breadth first,
/// visiting at most `MAX_VISIT` tasks.
fn cascade_cancel(ctx: &ReducerContext, root: &str, why: &str) -> Result<(), String> {
    let now_us = ctx.timestamp.to_micros_since_unix_epoch();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut queue: VecDeque<String> = VecDeque::from([root.to_string()]);
    while let Some(id) = queue.pop_front() {
        for d in dependents_of(ctx, &id) {
            if !seen.insert(d.clone()) {
                continue;
            }
            if seen.len() > MAX_VISIT {
                return Err(invalid(format!(
                    "more than {MAX_VISIT} dependent tasks; cancel them in smaller steps"
                )));
            }
            let Some(t) = ctx.db.task().id().find(d.clone()) else {
                continue;
            };
            if t.status != BLOCKED {
                continue;
            }
            save(
                ctx,
                Task {
                    status: CANCELLED.to_string(),
                    error: format!("prerequisite '{id}' {why}"),
                    completed_at_us: now_us,
                    ..t
                },
            );
            queue.push_back(d);
        }
    }
    Ok(())
}

/// Reports a failed attempt. While `attempts < max_attempts` the task reopens (`Open`, claimer
/// cleared); otherwise it becomes `Failed` and its blocked dependents are cancelled.
#[reducer]
pub fn fail_task(ctx: &ReducerContext, task_id: String, error: String) -> Result<(), String> {
    require(ctx, "fail_task")?;
    bounded_text("error", &error, 4096)?;
    let t = find_task(ctx, &task_id)?;
    let retry = task_rules::retry_after_failure(t.attempts, t.max_attempts);
    let to = next(&t.status, Action::Fail { retry })?;
    require_claimer(ctx, &t, "fail")?;
    if retry {
        save(
            ctx,
            Task {
                status: to.to_string(),
                error,
                claimed_by: String::new(),
                claimed_by_identity: Identity::ZERO,
                ..t
            },
        );
        return Ok(());
    }
    let now_us = ctx.timestamp.to_micros_since_unix_epoch();
    save(
        ctx,
        Task {
            status: to.to_string(),
            error,
            completed_at_us: now_us,
            ..t
        },
    );
    cascade_cancel(ctx, &task_id, "failed")
}

/// Cancels a non-terminal task (creator or owner). Terminal tasks stay as they are
/// (`E_CONFLICT`). Cascade: every `Blocked` task downstream is cancelled too.
#[reducer]
pub fn cancel_task(ctx: &ReducerContext, task_id: String, reason: String) -> Result<(), String> {
    require(ctx, "cancel_task")?;
    optional_id("reason", &reason, 500)?;
    let t = find_task(ctx, &task_id)?;
    let to = next(&t.status, Action::Cancel)?;
    if ctx.sender != t.created_by && !is_owner(ctx, ctx.sender) {
        return Err(forbidden(format!(
            "only the creator of task '{task_id}' or an owner may cancel it"
        )));
    }
    let now_us = ctx.timestamp.to_micros_since_unix_epoch();
    save(
        ctx,
        Task {
            status: to.to_string(),
            error: reason,
            completed_at_us: now_us,
            ..t
        },
    );
    cascade_cancel(ctx, &task_id, "was cancelled")
}
