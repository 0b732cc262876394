//! Tasks, the dependency DAG, swarms and gaze-gated claims against a real SpacetimeDB 1.2 server:
//! every task reducer's success and rejection paths, a cycle attempt, auto-claim, cascade on
//! cancel / final failure, all-or-nothing swarms, a reused gaze attestation, and a 100-way
//! concurrent claim with exactly one winner. Every assertion reads the database back with SQL.

use futures::future::join_all;
use optx_harness::stdb::{Ident, Spacetime};
use serde_json::{json, Map, Value};

const DB: &str = "optx-cortex";

fn task(id: &str, deps: &[&str]) -> Value {
    json!({
        "id": id, "title": format!("Task {id}"), "description": "", "priority": 5,
        "reward_amount": 0, "reward_token": "", "capabilities": [], "validation_mode": "",
        "assigned_agent": "", "gaze_required": false, "max_attempts": 0, "parent_task_id": "",
        "deadline_us": 0, "depends_on": deps,
    })
}

fn with(mut t: Value, key: &str, v: Value) -> Value {
    t[key] = v;
    t
}

fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_micros() as i64
}

async fn row(stdb: &Spacetime, id: &str) -> anyhow::Result<Map<String, Value>> {
    let rows = stdb
        .sql(DB, &format!("SELECT * FROM task WHERE id = '{id}'"))
        .await?;
    rows.into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("task {id} missing"))
}

async fn status(stdb: &Spacetime, id: &str) -> anyhow::Result<String> {
    Ok(row(stdb, id).await?["status"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

async fn agent(stdb: &Spacetime, role: &str) -> anyhow::Result<Ident> {
    let a = stdb.new_identity().await?;
    stdb.authorize(DB, &a.identity, role).await?;
    Ok(a)
}

#[tokio::test(flavor = "multi_thread")]
async fn task_rules_hold_against_the_real_server() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let stdb = Spacetime::start(dir.path()).await?;
    stdb.publish(DB).await?;
    let _logs = optx_harness::LogsOnPanic(dir.path().to_path_buf());

    identity_without_role_is_refused(&stdb).await?;
    lifecycle_with_dependencies(&stdb).await?;
    auto_claim_of_pre_assigned_dependents(&stdb).await?;
    fail_retries_then_fails_and_cascades(&stdb).await?;
    cancel_cascades_and_terminal_states_stay(&stdb).await?;
    cycle_and_duplicate_edges_are_refused(&stdb).await?;
    swarms_are_all_or_nothing(&stdb).await?;
    gaze_attestations_are_single_use(&stdb).await?;
    hundred_concurrent_claims_one_winner(&stdb).await?;
    Ok(())
}

async fn identity_without_role_is_refused(stdb: &Spacetime) -> anyhow::Result<()> {
    let stranger = stdb.new_identity().await?;
    for (reducer, args) in [
        ("create_task", json!([task("s-1", &[])])),
        ("claim_task", json!(["s-1", "", []])),
        (
            "create_swarm",
            json!(["sw-s", "goal", "parallel", [task("s-2", &[])]]),
        ),
        ("record_gaze_attestation", json!(["x", "g", 0, 1, 1])),
    ] {
        stdb.call_err(
            DB,
            &stranger.token,
            reducer,
            args,
            "E_FORBIDDEN: caller has no role",
        )
        .await?;
    }
    // An analyst may read but not create.
    stdb.authorize(DB, &stranger.identity, "analyst").await?;
    stdb.call_err(
        DB,
        &stranger.token,
        "create_task",
        json!([task("s-1", &[])]),
        "E_FORBIDDEN",
    )
    .await?;
    assert!(stdb.sql(DB, "SELECT id FROM task").await?.is_empty());
    Ok(())
}

async fn lifecycle_with_dependencies(stdb: &Spacetime) -> anyhow::Result<()> {
    let a = agent(stdb, "agent").await?;
    let b = agent(stdb, "agent").await?;
    let t_a = with(task("t-a", &[]), "capabilities", json!(["rust", "sql"]));
    stdb.call_as_ok(DB, &a.token, "create_task", json!([t_a]))
        .await?;
    stdb.call_as_ok(DB, &a.token, "create_task", json!([task("t-b", &["t-a"])]))
        .await?;
    assert_eq!(status(stdb, "t-a").await?, "Open");
    assert_eq!(status(stdb, "t-b").await?, "Blocked");
    let edges = stdb
        .sql(
            DB,
            "SELECT prerequisite_id, dependent_id FROM task_edge WHERE dependent_id = 't-b'",
        )
        .await?;
    assert_eq!(edges.len(), 1);
    assert_eq!(edges[0]["prerequisite_id"], "t-a");

    // create: rejections
    stdb.call_err(
        DB,
        &a.token,
        "create_task",
        json!([task("t-a", &[])]),
        "E_CONFLICT",
    )
    .await?;
    stdb.call_err(
        DB,
        &a.token,
        "create_task",
        json!([task("t-x", &["nope"])]),
        "E_NOT_FOUND",
    )
    .await?;
    stdb.call_err(
        DB,
        &a.token,
        "create_task",
        json!([with(task("t-x", &[]), "priority", json!(11))]),
        "E_INVALID",
    )
    .await?;
    stdb.call_err(
        DB,
        &a.token,
        "create_task",
        json!([with(task("t-x", &[]), "parent_task_id", json!("nope"))]),
        "E_NOT_FOUND",
    )
    .await?;
    stdb.call_err(
        DB,
        &a.token,
        "create_task",
        json!([task("t x", &[])]),
        "E_INVALID",
    )
    .await?;
    assert!(stdb
        .sql(DB, "SELECT id FROM task WHERE id = 't-x'")
        .await?
        .is_empty());

    // claim: blocked, unknown, capabilities
    stdb.call_err(
        DB,
        &b.token,
        "claim_task",
        json!(["t-b", "bee", []]),
        "E_CONFLICT",
    )
    .await?;
    stdb.call_err(
        DB,
        &b.token,
        "claim_task",
        json!(["nope", "bee", []]),
        "E_NOT_FOUND",
    )
    .await?;
    let e = stdb
        .call_err(
            DB,
            &b.token,
            "claim_task",
            json!(["t-a", "bee", ["rust"]]),
            "E_FORBIDDEN",
        )
        .await?;
    assert!(e.contains("sql"), "{e}");
    stdb.call_as_ok(
        DB,
        &b.token,
        "claim_task",
        json!(["t-a", "bee", ["sql", "rust", "go"]]),
    )
    .await?;
    let r = row(stdb, "t-a").await?;
    assert_eq!(r["status"], "InProgress");
    assert_eq!(r["claimed_by"], "bee");
    assert_eq!(r["attempts"], 1);
    stdb.call_err(
        DB,
        &a.token,
        "claim_task",
        json!(["t-a", "ay", ["sql", "rust"]]),
        "E_CONFLICT",
    )
    .await?;

    // only the claimer (or owner) may submit / complete / fail
    stdb.call_err(
        DB,
        &a.token,
        "submit_task",
        json!(["t-a", "mine"]),
        "E_FORBIDDEN",
    )
    .await?;
    stdb.call_err(
        DB,
        &a.token,
        "complete_task",
        json!(["t-a", "mine"]),
        "E_FORBIDDEN",
    )
    .await?;
    stdb.call_err(
        DB,
        &a.token,
        "fail_task",
        json!(["t-a", "x"]),
        "E_FORBIDDEN",
    )
    .await?;
    stdb.call_err(
        DB,
        &b.token,
        "submit_task",
        json!(["nope", "r"]),
        "E_NOT_FOUND",
    )
    .await?;
    stdb.call_as_ok(DB, &b.token, "submit_task", json!(["t-a", "the report"]))
        .await?;
    assert_eq!(status(stdb, "t-a").await?, "PendingValidation");
    stdb.call_err(
        DB,
        &b.token,
        "submit_task",
        json!(["t-a", "again"]),
        "E_CONFLICT",
    )
    .await?;
    // the creator reviews a pending task: complete keeps the submitted result
    stdb.call_as_ok(DB, &a.token, "complete_task", json!(["t-a", ""]))
        .await?;
    let r = row(stdb, "t-a").await?;
    assert_eq!(r["status"], "Completed");
    assert_eq!(r["result"], "the report");
    assert!(r["completed_at_us"].as_i64().unwrap_or(0) > 0);
    assert_eq!(status(stdb, "t-b").await?, "Open", "dependent unblocked");
    stdb.call_err(
        DB,
        &b.token,
        "complete_task",
        json!(["t-a", ""]),
        "E_CONFLICT",
    )
    .await?;

    // complete straight from InProgress; the owner may complete anyone's task
    stdb.call_as_ok(DB, &a.token, "claim_task", json!(["t-b", "", []]))
        .await?;
    assert_eq!(row(stdb, "t-b").await?["claimed_by"], json!(a.identity));
    stdb.call_ok(DB, "complete_task", json!(["t-b", "done by owner"]))
        .await?;
    assert_eq!(status(stdb, "t-b").await?, "Completed");

    // a pre-assigned task only goes to its agent; a passed deadline refuses the claim
    stdb.call_as_ok(
        DB,
        &a.token,
        "create_task",
        json!([with(task("t-as", &[]), "assigned_agent", json!("carol"))]),
    )
    .await?;
    stdb.call_err(
        DB,
        &b.token,
        "claim_task",
        json!(["t-as", "bee", []]),
        "E_FORBIDDEN",
    )
    .await?;
    stdb.call_as_ok(DB, &b.token, "claim_task", json!(["t-as", "carol", []]))
        .await?;
    let soon = now_us() + 1_500_000;
    stdb.call_as_ok(
        DB,
        &a.token,
        "create_task",
        json!([with(task("t-dl", &[]), "deadline_us", json!(soon))]),
    )
    .await?;
    tokio::time::sleep(std::time::Duration::from_millis(1_700)).await;
    let e = stdb
        .call_err(
            DB,
            &b.token,
            "claim_task",
            json!(["t-dl", "bee", []]),
            "E_CONFLICT",
        )
        .await?;
    assert!(e.contains("deadline"), "{e}");
    stdb.call_err(
        DB,
        &a.token,
        "create_task",
        json!([with(task("t-dl2", &[]), "deadline_us", json!(1))]),
        "E_INVALID",
    )
    .await?;
    Ok(())
}

async fn auto_claim_of_pre_assigned_dependents(stdb: &Spacetime) -> anyhow::Result<()> {
    let a = agent(stdb, "relay").await?;
    stdb.call_as_ok(DB, &a.token, "create_task", json!([task("ac-1", &[])]))
        .await?;
    stdb.call_as_ok(DB, &a.token, "create_task", json!([task("ac-2", &[])]))
        .await?;
    let pre = with(
        task("ac-3", &["ac-1", "ac-2"]),
        "assigned_agent",
        json!("dora"),
    );
    stdb.call_as_ok(DB, &a.token, "create_task", json!([pre]))
        .await?;
    let free = task("ac-4", &["ac-1"]);
    stdb.call_as_ok(DB, &a.token, "create_task", json!([free]))
        .await?;
    stdb.call_as_ok(DB, &a.token, "claim_task", json!(["ac-1", "x", []]))
        .await?;
    stdb.call_as_ok(DB, &a.token, "complete_task", json!(["ac-1", "ok"]))
        .await?;
    assert_eq!(status(stdb, "ac-3").await?, "Blocked", "ac-2 still open");
    assert_eq!(
        status(stdb, "ac-4").await?,
        "Open",
        "unassigned dependent just opens"
    );
    stdb.call_as_ok(DB, &a.token, "claim_task", json!(["ac-2", "x", []]))
        .await?;
    stdb.call_as_ok(DB, &a.token, "complete_task", json!(["ac-2", "ok"]))
        .await?;
    let r = row(stdb, "ac-3").await?;
    assert_eq!(
        r["status"], "InProgress",
        "pre-assigned dependent auto-claimed"
    );
    assert_eq!(r["claimed_by"], "dora");
    assert_eq!(r["attempts"], 1);
    // the creator (relay) acts for the auto-claimed agent
    stdb.call_as_ok(
        DB,
        &a.token,
        "complete_task",
        json!(["ac-3", "by relay for dora"]),
    )
    .await?;
    Ok(())
}

async fn fail_retries_then_fails_and_cascades(stdb: &Spacetime) -> anyhow::Result<()> {
    let a = agent(stdb, "agent").await?;
    stdb.call_as_ok(
        DB,
        &a.token,
        "create_task",
        json!([with(task("f-1", &[]), "max_attempts", json!(2))]),
    )
    .await?;
    stdb.call_as_ok(DB, &a.token, "create_task", json!([task("f-2", &["f-1"])]))
        .await?;
    stdb.call_as_ok(DB, &a.token, "create_task", json!([task("f-3", &["f-2"])]))
        .await?;
    stdb.call_err(
        DB,
        &a.token,
        "fail_task",
        json!(["f-1", "not claimed"]),
        "E_CONFLICT",
    )
    .await?;
    stdb.call_as_ok(DB, &a.token, "claim_task", json!(["f-1", "x", []]))
        .await?;
    stdb.call_as_ok(DB, &a.token, "fail_task", json!(["f-1", "timeout"]))
        .await?;
    let r = row(stdb, "f-1").await?;
    assert_eq!(r["status"], "Open", "attempts remain");
    assert_eq!(r["claimed_by"], "");
    assert_eq!(r["error"], "timeout");
    stdb.call_as_ok(DB, &a.token, "claim_task", json!(["f-1", "x", []]))
        .await?;
    stdb.call_as_ok(DB, &a.token, "fail_task", json!(["f-1", "timeout again"]))
        .await?;
    let r = row(stdb, "f-1").await?;
    assert_eq!(r["status"], "Failed");
    assert_eq!(r["attempts"], 2);
    assert_eq!(status(stdb, "f-2").await?, "Cancelled", "cascade");
    assert_eq!(
        status(stdb, "f-3").await?,
        "Cancelled",
        "transitive cascade"
    );
    // a failed task cannot be a new prerequisite
    stdb.call_err(
        DB,
        &a.token,
        "create_task",
        json!([task("f-4", &["f-1"])]),
        "E_CONFLICT",
    )
    .await?;
    stdb.call_err(
        DB,
        &a.token,
        "fail_task",
        json!(["nope", "x"]),
        "E_NOT_FOUND",
    )
    .await?;
    Ok(())
}

async fn cancel_cascades_and_terminal_states_stay(stdb: &Spacetime) -> anyhow::Result<()> {
    let a = agent(stdb, "agent").await?;
    let b = agent(stdb, "agent").await?;
    stdb.call_as_ok(DB, &a.token, "create_task", json!([task("c-1", &[])]))
        .await?;
    stdb.call_as_ok(DB, &a.token, "create_task", json!([task("c-2", &["c-1"])]))
        .await?;
    stdb.call_as_ok(DB, &a.token, "create_task", json!([task("c-3", &["c-2"])]))
        .await?;
    stdb.call_as_ok(DB, &a.token, "create_task", json!([task("c-other", &[])]))
        .await?;
    stdb.call_err(
        DB,
        &b.token,
        "cancel_task",
        json!(["c-1", "not mine"]),
        "E_FORBIDDEN",
    )
    .await?;
    stdb.call_as_ok(DB, &b.token, "claim_task", json!(["c-1", "bee", []]))
        .await?;
    stdb.call_as_ok(DB, &a.token, "cancel_task", json!(["c-1", "goal dropped"]))
        .await?;
    let r = row(stdb, "c-1").await?;
    assert_eq!(
        r["status"], "Cancelled",
        "an in-progress task may be cancelled"
    );
    assert_eq!(r["error"], "goal dropped");
    assert_eq!(status(stdb, "c-2").await?, "Cancelled");
    assert_eq!(status(stdb, "c-3").await?, "Cancelled");
    assert_eq!(
        status(stdb, "c-other").await?,
        "Open",
        "unrelated task untouched"
    );
    stdb.call_err(
        DB,
        &a.token,
        "cancel_task",
        json!(["c-1", ""]),
        "E_CONFLICT",
    )
    .await?;
    stdb.call_err(
        DB,
        &b.token,
        "complete_task",
        json!(["c-1", ""]),
        "E_CONFLICT",
    )
    .await?;
    // Completed stays Completed
    stdb.call_err(
        DB,
        &stdb.owner_token,
        "cancel_task",
        json!(["t-a", ""]),
        "E_CONFLICT",
    )
    .await?;
    assert_eq!(status(stdb, "t-a").await?, "Completed");
    stdb.call_err(
        DB,
        &a.token,
        "cancel_task",
        json!(["nope", ""]),
        "E_NOT_FOUND",
    )
    .await?;
    Ok(())
}

async fn cycle_and_duplicate_edges_are_refused(stdb: &Spacetime) -> anyhow::Result<()> {
    let a = agent(stdb, "agent").await?;
    stdb.call_as_ok(DB, &a.token, "create_task", json!([task("d-1", &[])]))
        .await?;
    stdb.call_as_ok(DB, &a.token, "create_task", json!([task("d-2", &["d-1"])]))
        .await?;
    stdb.call_as_ok(DB, &a.token, "create_task", json!([task("d-3", &["d-2"])]))
        .await?;
    let e = stdb
        .call_err(
            DB,
            &a.token,
            "add_task_dependency",
            json!(["d-3", "d-1"]),
            "E_CONFLICT",
        )
        .await?;
    assert!(e.contains("cycle"), "{e}");
    stdb.call_err(
        DB,
        &a.token,
        "add_task_dependency",
        json!(["d-1", "d-1"]),
        "E_CONFLICT",
    )
    .await?;
    let e = stdb
        .call_err(
            DB,
            &a.token,
            "add_task_dependency",
            json!(["d-1", "d-2"]),
            "E_CONFLICT",
        )
        .await?;
    assert!(e.contains("already depends"), "{e}");
    stdb.call_err(
        DB,
        &a.token,
        "add_task_dependency",
        json!(["bad id", "d-2"]),
        "E_INVALID",
    )
    .await?;
    stdb.call_err(
        DB,
        &a.token,
        "add_task_dependency",
        json!(["nope", "d-2"]),
        "E_NOT_FOUND",
    )
    .await?;
    let n = stdb
        .sql(
            DB,
            "SELECT COUNT(*) AS n FROM task_edge WHERE dependent_id = 'd-1'",
        )
        .await?;
    assert_eq!(n[0]["n"], 0, "no edge was written");
    // a new unfinished prerequisite blocks an Open task
    stdb.call_as_ok(DB, &a.token, "create_task", json!([task("d-0", &[])]))
        .await?;
    assert_eq!(status(stdb, "d-1").await?, "Open");
    stdb.call_as_ok(DB, &a.token, "add_task_dependency", json!(["d-0", "d-1"]))
        .await?;
    assert_eq!(status(stdb, "d-1").await?, "Blocked");
    // not on a started task, and only by the creator or owner
    let b = agent(stdb, "agent").await?;
    stdb.call_err(
        DB,
        &b.token,
        "add_task_dependency",
        json!(["d-0", "d-2"]),
        "E_FORBIDDEN",
    )
    .await?;
    stdb.call_err(
        DB,
        &a.token,
        "add_task_dependency",
        json!(["d-0", "t-a"]),
        "E_FORBIDDEN",
    )
    .await?;
    stdb.call_err(
        DB,
        &stdb.owner_token,
        "add_task_dependency",
        json!(["d-0", "t-a"]),
        "E_CONFLICT",
    )
    .await?;
    Ok(())
}

async fn swarms_are_all_or_nothing(stdb: &Spacetime) -> anyhow::Result<()> {
    let r = agent(stdb, "relay").await?;
    let seq = json!([
        "sw-1",
        "Ship the report",
        "sequential",
        [
            task("sw1-a", &[]),
            task("sw1-b", &[]),
            task("sw1-c", &["t-a"])
        ]
    ]);
    stdb.call_as_ok(DB, &r.token, "create_swarm", seq).await?;
    let sw = stdb
        .sql(DB, "SELECT * FROM swarm WHERE id = 'sw-1'")
        .await?;
    assert_eq!(sw.len(), 1);
    assert_eq!(sw[0]["strategy"], "sequential");
    assert_eq!(sw[0]["task_count"], 3);
    let tasks = stdb
        .sql(DB, "SELECT id, status FROM task WHERE swarm_id = 'sw-1'")
        .await?;
    assert_eq!(tasks.len(), 3);
    assert_eq!(status(stdb, "sw1-a").await?, "Open");
    assert_eq!(status(stdb, "sw1-b").await?, "Blocked");
    assert_eq!(status(stdb, "sw1-c").await?, "Blocked");
    let edges = stdb
        .sql(
            DB,
            "SELECT prerequisite_id FROM task_edge WHERE dependent_id = 'sw1-c'",
        )
        .await?;
    assert_eq!(
        edges.len(),
        2,
        "previous task + explicit existing prerequisite"
    );

    // dag with a cycle: nothing is written
    let cyc = json!([
        "sw-2",
        "loop",
        "dag",
        [
            task("sw2-a", &["sw2-c"]),
            task("sw2-b", &["sw2-a"]),
            task("sw2-c", &["sw2-b"])
        ]
    ]);
    let e = stdb
        .call_err(DB, &r.token, "create_swarm", cyc, "E_INVALID")
        .await?;
    assert!(e.contains("cycle"), "{e}");
    // one bad task (third) rejects the whole batch
    let bad = json!([
        "sw-3",
        "bad",
        "parallel",
        [
            task("sw3-a", &[]),
            task("sw3-b", &[]),
            with(task("sw3-c", &[]), "priority", json!(0))
        ]
    ]);
    stdb.call_err(DB, &r.token, "create_swarm", bad, "E_INVALID")
        .await?;
    let unknown = json!(["sw-4", "g", "dag", [task("sw4-a", &["ghost"])]]);
    stdb.call_err(DB, &r.token, "create_swarm", unknown, "E_NOT_FOUND")
        .await?;
    let clash = json!(["sw-5", "g", "dag", [task("sw5-a", &[]), task("t-a", &[])]]);
    stdb.call_err(DB, &r.token, "create_swarm", clash, "E_CONFLICT")
        .await?;
    let again = json!(["sw-1", "g", "dag", [task("sw1-z", &[])]]);
    stdb.call_err(DB, &r.token, "create_swarm", again, "E_CONFLICT")
        .await?;
    stdb.call_err(
        DB,
        &r.token,
        "create_swarm",
        json!(["sw-6", "g", "swirl", [task("sw6-a", &[])]]),
        "E_INVALID",
    )
    .await?;
    for sw in ["sw-2", "sw-3", "sw-4", "sw-5", "sw-6"] {
        let q = format!("SELECT COUNT(*) AS n FROM task WHERE swarm_id = '{sw}'");
        assert_eq!(stdb.sql(DB, &q).await?[0]["n"], 0, "{sw} wrote tasks");
    }
    assert!(stdb
        .sql(DB, "SELECT id FROM task WHERE id = 'sw5-a'")
        .await?
        .is_empty());
    let n = stdb.sql(DB, "SELECT COUNT(*) AS n FROM swarm").await?;
    assert_eq!(n[0]["n"], 1);
    let edges = stdb
        .sql(DB, "SELECT id FROM task_edge WHERE dependent_id = 'sw2-a'")
        .await?;
    assert!(edges.is_empty());
    Ok(())
}

async fn gaze_attestations_are_single_use(stdb: &Spacetime) -> anyhow::Result<()> {
    let a = agent(stdb, "agent").await?;
    let oracle = agent(stdb, "gaze_oracle").await?;
    for id in ["g-1", "g-2"] {
        stdb.call_as_ok(
            DB,
            &a.token,
            "create_task",
            json!([with(task(id, &[]), "gaze_required", json!(true))]),
        )
        .await?;
    }
    let e = stdb
        .call_err(
            DB,
            &a.token,
            "claim_task",
            json!(["g-1", "alice", []]),
            "E_FORBIDDEN",
        )
        .await?;
    assert!(e.contains("gaze"), "{e}");
    let now = now_us();
    let att = |session: &str| json!(["alice", session, now - 1_000_000, now + 120_000_000, 9200]);
    // only gaze_oracle identities write attestations: not an agent, not even the owner
    stdb.call_err(
        DB,
        &a.token,
        "record_gaze_attestation",
        att("gs-1"),
        "E_FORBIDDEN",
    )
    .await?;
    stdb.call_err(
        DB,
        &stdb.owner_token,
        "record_gaze_attestation",
        att("gs-1"),
        "E_FORBIDDEN",
    )
    .await?;
    stdb.call_err(
        DB,
        &oracle.token,
        "record_gaze_attestation",
        json!(["alice", "gs-old", now - 20_000_000, now - 10_000_000, 9000]),
        "E_INVALID",
    )
    .await?;
    stdb.call_err(
        DB,
        &oracle.token,
        "record_gaze_attestation",
        json!(["alice", "gs-x", now, now + 1_000_000, 10_001]),
        "E_INVALID",
    )
    .await?;
    stdb.call_as_ok(DB, &oracle.token, "record_gaze_attestation", att("gs-1"))
        .await?;
    stdb.call_err(
        DB,
        &oracle.token,
        "record_gaze_attestation",
        att("gs-1"),
        "E_CONFLICT",
    )
    .await?;
    // another agent's attestation does not help
    stdb.call_err(
        DB,
        &a.token,
        "claim_task",
        json!(["g-1", "bob", []]),
        "E_FORBIDDEN",
    )
    .await?;
    stdb.call_as_ok(DB, &a.token, "claim_task", json!(["g-1", "alice", []]))
        .await?;
    let used = stdb
        .sql(
            DB,
            "SELECT consumed, consumed_for FROM gaze_attestation WHERE gaze_session_id = 'gs-1'",
        )
        .await?;
    assert_eq!(used[0]["consumed"], true);
    assert_eq!(used[0]["consumed_for"], "task:g-1");
    // the same attestation cannot be reused for a second claim
    let e = stdb
        .call_err(
            DB,
            &a.token,
            "claim_task",
            json!(["g-2", "alice", []]),
            "E_FORBIDDEN",
        )
        .await?;
    assert!(e.contains("gaze"), "{e}");
    assert_eq!(status(stdb, "g-2").await?, "Open");
    Ok(())
}

async fn hundred_concurrent_claims_one_winner(stdb: &Spacetime) -> anyhow::Result<()> {
    stdb.call_ok(DB, "create_task", json!([task("race-1", &[])]))
        .await?;
    let mut agents = Vec::new();
    for _ in 0..100 {
        agents.push(agent(stdb, "agent").await?);
    }
    let calls = agents
        .iter()
        .map(|a| stdb.call(DB, &a.token, "claim_task", json!(["race-1", "", []])));
    let results = join_all(calls).await;
    let mut winners = Vec::new();
    for (a, r) in agents.iter().zip(results) {
        let (code, body) = r?;
        match code {
            200 => winners.push(a.identity.clone()),
            530 => assert!(body.starts_with("E_CONFLICT"), "{body}"),
            other => anyhow::bail!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one claim commits");
    let r = row(stdb, "race-1").await?;
    assert_eq!(r["status"], "InProgress");
    assert_eq!(r["claimed_by"], json!(winners[0]));
    assert_eq!(r["attempts"], 1);
    Ok(())
}
