//! Swarms: a goal decomposed into a batch of tasks. `create_swarm` writes the swarm row, every task
//! and every edge in one transaction, or nothing. A swarm's status is derived from its tasks
//! (`swarm_rules::derive_status`), never stored.

use crate::access::require;
use crate::dag_rules;
use crate::errors::{conflict, not_found};
use crate::swarm_rules::{self, MAX_GOAL_BYTES};
use crate::task_rules::{normalize, validate_task_id, NewTask, BLOCKED, OPEN};
use crate::tasks::{insert_edge, insert_task, task, usable_prerequisite};
use crate::text_rules::bounded_text;
use spacetimedb::{reducer, table, Identity, ReducerContext, Table, Timestamp};
use std::collections::BTreeSet;

#[table(name = swarm, public)]
#[derive(Clone, Debug)]
pub struct Swarm {
    #[primary_key]
    pub id: String,
    pub goal: String,
    /// `parallel` | `sequential` | `dag`.
    pub strategy: String,
    pub task_count: u32,
    pub created_by: Identity,
    pub created_at: Timestamp,
    #[index(btree)]
    pub created_at_us: i64,
}

/// Creates swarm `id` with all of `tasks` (their `swarm_id` is set to `id`) and the edges the
/// strategy implies (see `swarm_rules::batch_edges`). Prerequisites may be batch members or
/// existing tasks. Any invalid task, unknown prerequisite or cycle rejects the whole batch.
#[reducer]
pub fn create_swarm(
    ctx: &ReducerContext,
    id: String,
    goal: String,
    strategy: String,
    tasks: Vec<NewTask>,
) -> Result<(), String> {
    require(ctx, "create_swarm")?;
    validate_task_id("id", &id)?;
    if goal.trim().is_empty() {
        return Err(crate::errors::invalid("goal must not be empty"));
    }
    bounded_text("goal", &goal, MAX_GOAL_BYTES)?;
    if ctx.db.swarm().id().find(id.clone()).is_some() {
        return Err(conflict(format!("swarm '{id}' already exists")));
    }
    let now_us = ctx.timestamp.to_micros_since_unix_epoch();
    let tasks: Vec<NewTask> = tasks
        .into_iter()
        .map(|t| normalize(t, now_us))
        .collect::<Result<_, _>>()?;
    let edges = swarm_rules::batch_edges(&strategy, &tasks)?;
    let ids: Vec<String> = tasks.iter().map(|t| t.id.clone()).collect();
    let batch: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
    for t in &tasks {
        if ctx.db.task().id().find(t.id.clone()).is_some() {
            return Err(conflict(format!("task '{}' already exists", t.id)));
        }
        let parent = t.parent_task_id.as_str();
        if !parent.is_empty()
            && !batch.contains(parent)
            && ctx.db.task().id().find(parent.to_string()).is_none()
        {
            return Err(not_found(format!("parent task '{parent}'")));
        }
    }
    // Existing prerequisites must exist and be able to complete; remember which are done.
    let mut done: BTreeSet<String> = BTreeSet::new();
    for (p, _) in &edges {
        if !batch.contains(p.as_str()) && usable_prerequisite(ctx, p)? {
            done.insert(p.clone());
        }
    }
    let order = dag_rules::topo_order(&ids, &edges)?;
    for id_in_order in &order {
        let t = tasks
            .iter()
            .find(|t| &t.id == id_in_order)
            .expect("topo_order returns batch ids");
        let ready = edges
            .iter()
            .filter(|(_, d)| d == &t.id)
            .all(|(p, _)| done.contains(p));
        insert_task(ctx, t, &id, if ready { OPEN } else { BLOCKED });
    }
    for (p, d) in &edges {
        insert_edge(ctx, p, d)?;
    }
    ctx.db.swarm().insert(Swarm {
        id,
        goal,
        strategy,
        task_count: tasks.len() as u32,
        created_by: ctx.sender,
        created_at: ctx.timestamp,
        created_at_us: now_us,
    });
    Ok(())
}
