//! Tempo prices, wallets and the call ledger, escrow, and single-use payment credentials against
//! a real SpacetimeDB 1.2 server: reserve → settle / refund with the reference pricing, an
//! overdraft, a gap-free sequence, a double release, expiry by the scheduler, gaze-gated release,
//! and credential reuse. Every assertion reads the database back with SQL.

use futures::future::join_all;
use optx_harness::stdb::{Ident, Spacetime};
use serde_json::{json, Map, Value};

const DB: &str = "optx-cortex";

async fn one(stdb: &Spacetime, q: &str) -> anyhow::Result<Map<String, Value>> {
    stdb.sql(DB, q)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("no row for {q}"))
}

async fn wallet(stdb: &Spacetime, account: &str) -> anyhow::Result<(u64, u64)> {
    let w = one(
        stdb,
        &format!("SELECT balance, reserved FROM wallet WHERE account = '{account}'"),
    )
    .await?;
    Ok((
        w["balance"].as_u64().unwrap_or(u64::MAX),
        w["reserved"].as_u64().unwrap_or(u64::MAX),
    ))
}

async fn with_role(stdb: &Spacetime, role: &str) -> anyhow::Result<Ident> {
    let a = stdb.new_identity().await?;
    stdb.authorize(DB, &a.identity, role).await?;
    Ok(a)
}

fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_micros() as i64
}

#[tokio::test(flavor = "multi_thread")]
async fn ledger_and_escrow_rules_hold_against_the_real_server() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let stdb = Spacetime::start(dir.path()).await?;
    stdb.publish(DB).await?;
    let _logs = optx_harness::LogsOnPanic(dir.path().to_path_buf());
    let relay = with_role(&stdb, "relay").await?;
    identity_without_role_is_refused(&stdb).await?;

    prices(&stdb, &relay).await?;
    wallets_and_calls(&stdb, &relay).await?;
    escrow_lifecycle(&stdb, &relay).await?;
    escrow_expires_by_the_scheduler(&stdb, &relay).await?;
    payment_credentials_are_single_use(&stdb, &relay).await?;
    Ok(())
}

async fn identity_without_role_is_refused(stdb: &Spacetime) -> anyhow::Result<()> {
    let stranger = stdb.new_identity().await?;
    for (reducer, args) in [
        ("set_tempo_price", json!(["m", 1, 1, 1, "USD"])),
        ("credit_wallet", json!(["x", "USD", 1])),
        ("reserve_call", json!(["c", "x", "m", 1, 1])),
        ("settle_call", json!(["c", 1, 1, 1])),
        ("refund_call", json!(["c", ""])),
        (
            "create_escrow",
            json!(["e", "t", "x", "y", 1, "USD", false, 60]),
        ),
        ("release_escrow", json!(["e"])),
        ("refund_escrow", json!(["e"])),
        (
            "use_payment_credential",
            json!(["ch", "proof", "", 0, "", ""]),
        ),
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
    Ok(())
}

async fn prices(stdb: &Spacetime, relay: &Ident) -> anyhow::Result<()> {
    let p = one(stdb, "SELECT * FROM tempo_price WHERE model = 'default'").await?;
    assert_eq!(p["input_per_1k"], 3000);
    assert_eq!(p["output_per_1k"], 3000);
    assert_eq!(p["margin_per_call"], 80000);
    assert_eq!(p["currency"], "USD");
    let args = json!(["grok-cheap", 1000, 2000, 10000, "USD"]);
    stdb.call_err(
        DB,
        &relay.token,
        "set_tempo_price",
        args.clone(),
        "E_FORBIDDEN",
    )
    .await?;
    stdb.call_ok(DB, "set_tempo_price", args).await?;
    stdb.call_err(
        DB,
        &stdb.owner_token,
        "set_tempo_price",
        json!(["m", 1, 1, 1, "usd"]),
        "E_INVALID",
    )
    .await?;
    stdb.call_err(
        DB,
        &stdb.owner_token,
        "set_tempo_price",
        json!(["m", u64::MAX, 1, 1, "USD"]),
        "E_INVALID",
    )
    .await?;
    let p = one(stdb, "SELECT * FROM tempo_price WHERE model = 'grok-cheap'").await?;
    assert_eq!(p["output_per_1k"], 2000);
    // the owner edits the default row
    stdb.call_ok(
        DB,
        "set_tempo_price",
        json!(["default", 3000, 3000, 80000, "USD"]),
    )
    .await?;
    Ok(())
}

async fn wallets_and_calls(stdb: &Spacetime, relay: &Ident) -> anyhow::Result<()> {
    let r = &relay.token;
    let agent = with_role(stdb, "agent").await?;
    stdb.call_err(
        DB,
        &agent.token,
        "credit_wallet",
        json!(["alice", "USD", 1]),
        "E_FORBIDDEN",
    )
    .await?;
    stdb.call_err(
        DB,
        r,
        "credit_wallet",
        json!(["alice", "USD", 0]),
        "E_INVALID",
    )
    .await?;
    stdb.call_err(
        DB,
        r,
        "credit_wallet",
        json!(["bad account!", "USD", 1]),
        "E_INVALID",
    )
    .await?;
    stdb.call_as_ok(DB, r, "credit_wallet", json!(["alice", "USD", 600_000]))
        .await?;
    stdb.call_as_ok(DB, r, "credit_wallet", json!(["alice", "USD", 400_000]))
        .await?;
    stdb.call_err(
        DB,
        r,
        "credit_wallet",
        json!(["alice", "OPTX", 1]),
        "E_INVALID",
    )
    .await?;
    assert_eq!(wallet(stdb, "alice").await?, (1_000_000, 0));

    // reserve → settle with the reference usage (150 in, 420 out → 0.081710)
    stdb.call_as_ok(
        DB,
        r,
        "reserve_call",
        json!(["c-1", "alice", "grok-x", 1000, 1000]),
    )
    .await?;
    assert_eq!(wallet(stdb, "alice").await?, (1_000_000, 86_000));
    let c = one(stdb, "SELECT * FROM tempo_call WHERE call_id = 'c-1'").await?;
    assert_eq!(c["seq"], 1);
    assert_eq!(c["state"], "reserved");
    assert_eq!(c["reserved_amount"], 86_000);
    stdb.call_err(
        DB,
        r,
        "reserve_call",
        json!(["c-1", "alice", "grok-x", 1, 1]),
        "E_CONFLICT",
    )
    .await?;
    stdb.call_as_ok(DB, r, "settle_call", json!(["c-1", 150, 420, 812]))
        .await?;
    let c = one(stdb, "SELECT * FROM tempo_call WHERE call_id = 'c-1'").await?;
    assert_eq!(c["state"], "settled");
    assert_eq!(c["cost"], 1_710);
    assert_eq!(c["margin"], 80_000);
    assert_eq!(c["total"], 81_710);
    assert_eq!(c["charged"], 81_710);
    assert_eq!(c["unbilled"], 0);
    assert_eq!(c["total_tokens"], 570);
    assert_eq!(c["latency_ms"], 812);
    assert_eq!(wallet(stdb, "alice").await?, (918_290, 0));
    stdb.call_err(DB, r, "settle_call", json!(["c-1", 1, 1, 1]), "E_CONFLICT")
        .await?;
    stdb.call_err(DB, r, "refund_call", json!(["c-1", ""]), "E_CONFLICT")
        .await?;
    stdb.call_err(
        DB,
        r,
        "settle_call",
        json!(["nope", 1, 1, 1]),
        "E_NOT_FOUND",
    )
    .await?;
    stdb.call_err(DB, r, "refund_call", json!(["nope", ""]), "E_NOT_FOUND")
        .await?;

    // a model with its own price; refund returns the whole hold
    stdb.call_as_ok(
        DB,
        r,
        "reserve_call",
        json!(["c-2", "alice", "grok-cheap", 1000, 1000]),
    )
    .await?;
    let c = one(
        stdb,
        "SELECT seq, reserved_amount FROM tempo_call WHERE call_id = 'c-2'",
    )
    .await?;
    assert_eq!(c["seq"], 2);
    assert_eq!(c["reserved_amount"], 13_000);
    stdb.call_as_ok(DB, r, "refund_call", json!(["c-2", "upstream 502"]))
        .await?;
    assert_eq!(wallet(stdb, "alice").await?, (918_290, 0));
    let c = one(
        stdb,
        "SELECT state, note FROM tempo_call WHERE call_id = 'c-2'",
    )
    .await?;
    assert_eq!(c["state"], "refunded");
    assert_eq!(c["note"], "upstream 502");

    // overdraft: the hold does not fit; nothing is written and no sequence number is used
    let e = stdb
        .call_err(
            DB,
            r,
            "reserve_call",
            json!(["c-3", "alice", "grok-x", 1_000_000, 0]),
            "E_INSUFFICIENT_FUNDS",
        )
        .await?;
    assert!(e.contains("available"), "{e}");
    stdb.call_err(
        DB,
        r,
        "reserve_call",
        json!(["c-3", "nobody", "grok-x", 1, 1]),
        "E_NOT_FOUND",
    )
    .await?;
    assert!(stdb
        .sql(DB, "SELECT call_id FROM tempo_call WHERE call_id = 'c-3'")
        .await?
        .is_empty());
    // usage beyond the hold is recorded as unbilled, never taken from the rest of the wallet
    stdb.call_as_ok(
        DB,
        r,
        "reserve_call",
        json!(["c-4", "alice", "grok-x", 0, 0]),
    )
    .await?;
    stdb.call_as_ok(DB, r, "settle_call", json!(["c-4", 1000, 0, 5]))
        .await?;
    let c = one(stdb, "SELECT * FROM tempo_call WHERE call_id = 'c-4'").await?;
    assert_eq!(c["seq"], 3, "gap-free after the refused reservation");
    assert_eq!(c["charged"], 80_000);
    assert_eq!(c["unbilled"], 3_000);
    assert_eq!(wallet(stdb, "alice").await?, (838_290, 0));
    let seqs = stdb.sql(DB, "SELECT seq FROM tempo_call").await?;
    let mut seqs: Vec<u64> = seqs.iter().filter_map(|s| s["seq"].as_u64()).collect();
    seqs.sort();
    assert_eq!(seqs, vec![1, 2, 3]);
    let counter = one(
        stdb,
        "SELECT next FROM ledger_counter WHERE name = 'tempo_call'",
    )
    .await?;
    assert_eq!(counter["next"], 4);
    Ok(())
}

fn escrow_args(id: &str, task: &str, amount: u64, gaze: bool, ttl: u32) -> Value {
    json!([id, task, "alice", "bob", amount, "USD", gaze, ttl])
}

async fn escrow_lifecycle(stdb: &Spacetime, relay: &Ident) -> anyhow::Result<()> {
    let r = &relay.token;
    let other = with_role(stdb, "agent").await?;
    let oracle = with_role(stdb, "gaze_oracle").await?;
    let task = json!({"id": "job-1", "title": "Job", "description": "", "priority": 5,
        "reward_amount": 100000, "reward_token": "USD", "capabilities": [], "validation_mode": "",
        "assigned_agent": "bob", "gaze_required": false, "max_attempts": 0, "parent_task_id": "",
        "deadline_us": 0, "depends_on": []});
    stdb.call_as_ok(DB, r, "create_task", json!([task])).await?;
    let (bal, _) = wallet(stdb, "alice").await?;

    stdb.call_err(
        DB,
        r,
        "create_escrow",
        escrow_args("e-0", "ghost", 1, false, 600),
        "E_NOT_FOUND",
    )
    .await?;
    stdb.call_err(
        DB,
        r,
        "create_escrow",
        escrow_args("e-0", "job-1", 0, false, 600),
        "E_INVALID",
    )
    .await?;
    stdb.call_err(
        DB,
        r,
        "create_escrow",
        escrow_args("e-0", "job-1", 1, false, 0),
        "E_INVALID",
    )
    .await?;
    stdb.call_err(
        DB,
        r,
        "create_escrow",
        escrow_args("e-0", "job-1", bal + 1, false, 600),
        "E_INSUFFICIENT_FUNDS",
    )
    .await?;
    stdb.call_err(
        DB,
        r,
        "create_escrow",
        json!(["e-0", "job-1", "alice", "alice", 1, "USD", false, 600]),
        "E_INVALID",
    )
    .await?;
    stdb.call_err(
        DB,
        r,
        "create_escrow",
        json!(["e-0", "job-1", "alice", "bob", 1, "OPTX", false, 600]),
        "E_INVALID",
    )
    .await?;
    stdb.call_as_ok(DB, r, "credit_wallet", json!(["carol", "OPTX", 5]))
        .await?;
    stdb.call_err(
        DB,
        r,
        "create_escrow",
        json!(["e-0", "job-1", "alice", "carol", 1, "USD", false, 600]),
        "E_INVALID",
    )
    .await?;
    assert!(stdb.sql(DB, "SELECT id FROM escrow").await?.is_empty());
    assert_eq!(
        wallet(stdb, "alice").await?,
        (bal, 0),
        "refused escrows hold nothing"
    );

    // an agent cannot move a wallet's funds (accounts are names, not identities)
    let e = stdb
        .call_err(
            DB,
            &other.token,
            "create_escrow",
            escrow_args("e-0", "job-1", 1, false, 600),
            "E_FORBIDDEN",
        )
        .await?;
    assert!(e.contains("agent"), "{e}");

    // create → release once to the recorded recipient
    stdb.call_as_ok(
        DB,
        r,
        "create_escrow",
        escrow_args("e-1", "job-1", 100_000, false, 600),
    )
    .await?;
    stdb.call_err(
        DB,
        r,
        "create_escrow",
        escrow_args("e-1", "job-1", 1, false, 600),
        "E_CONFLICT",
    )
    .await?;
    assert_eq!(wallet(stdb, "alice").await?, (bal, 100_000));
    let e = one(stdb, "SELECT * FROM escrow WHERE id = 'e-1'").await?;
    assert_eq!(e["status"], "locked");
    assert_eq!(e["recipient"], "bob");
    stdb.call_err(
        DB,
        &other.token,
        "release_escrow",
        json!(["e-1"]),
        "E_FORBIDDEN",
    )
    .await?;
    stdb.call_as_ok(DB, r, "release_escrow", json!(["e-1"]))
        .await?;
    assert_eq!(wallet(stdb, "alice").await?, (bal - 100_000, 0));
    assert_eq!(wallet(stdb, "bob").await?, (100_000, 0));
    assert_eq!(
        one(stdb, "SELECT status FROM escrow WHERE id = 'e-1'").await?["status"],
        "released"
    );
    // double release, refund after release
    stdb.call_err(DB, r, "release_escrow", json!(["e-1"]), "E_CONFLICT")
        .await?;
    stdb.call_err(DB, r, "refund_escrow", json!(["e-1"]), "E_CONFLICT")
        .await?;
    assert_eq!(wallet(stdb, "bob").await?, (100_000, 0));
    stdb.call_err(DB, r, "release_escrow", json!(["nope"]), "E_NOT_FOUND")
        .await?;
    stdb.call_err(DB, r, "refund_escrow", json!(["nope"]), "E_NOT_FOUND")
        .await?;

    // refund: payer identity or owner only
    stdb.call_as_ok(
        DB,
        r,
        "create_escrow",
        escrow_args("e-2", "job-1", 50_000, false, 600),
    )
    .await?;
    stdb.call_err(
        DB,
        &other.token,
        "refund_escrow",
        json!(["e-2"]),
        "E_FORBIDDEN",
    )
    .await?;
    stdb.call_as_ok(DB, r, "refund_escrow", json!(["e-2"]))
        .await?;
    assert_eq!(wallet(stdb, "alice").await?, (bal - 100_000, 0));
    stdb.call_as_ok(
        DB,
        r,
        "create_escrow",
        escrow_args("e-2b", "job-1", 1_000, false, 600),
    )
    .await?;
    stdb.call_ok(DB, "refund_escrow", json!(["e-2b"])).await?;
    assert_eq!(
        one(stdb, "SELECT status FROM escrow WHERE id = 'e-2b'").await?["status"],
        "refunded"
    );
    stdb.call_err(DB, r, "release_escrow", json!(["e-2b"]), "E_CONFLICT")
        .await?;

    // gaze-gated release: needs a fresh attestation for the recipient, consumed on use
    stdb.call_as_ok(
        DB,
        r,
        "create_escrow",
        escrow_args("e-3", "job-1", 10_000, true, 600),
    )
    .await?;
    stdb.call_err(DB, r, "release_escrow", json!(["e-3"]), "E_FORBIDDEN")
        .await?;
    let now = now_us();
    stdb.call_as_ok(
        DB,
        &oracle.token,
        "record_gaze_attestation",
        json!(["bob", "gs-bob-1", now - 1_000_000, now + 120_000_000, 8800]),
    )
    .await?;
    stdb.call_as_ok(DB, r, "release_escrow", json!(["e-3"]))
        .await?;
    let a = one(
        stdb,
        "SELECT consumed, consumed_for FROM gaze_attestation WHERE gaze_session_id = 'gs-bob-1'",
    )
    .await?;
    assert_eq!(a["consumed"], true);
    assert_eq!(a["consumed_for"], "escrow:e-3");
    stdb.call_as_ok(
        DB,
        r,
        "create_escrow",
        escrow_args("e-4", "job-1", 10_000, true, 600),
    )
    .await?;
    stdb.call_err(DB, r, "release_escrow", json!(["e-4"]), "E_FORBIDDEN")
        .await?;
    stdb.call_as_ok(DB, r, "refund_escrow", json!(["e-4"]))
        .await?;
    assert_eq!(wallet(stdb, "bob").await?, (110_000, 0));
    Ok(())
}

async fn escrow_expires_by_the_scheduler(stdb: &Spacetime, relay: &Ident) -> anyhow::Result<()> {
    let r = &relay.token;
    let (bal, reserved) = wallet(stdb, "alice").await?;
    assert_eq!(reserved, 0);
    stdb.call_as_ok(
        DB,
        r,
        "create_escrow",
        escrow_args("e-exp", "job-1", 7_000, false, 1),
    )
    .await?;
    assert_eq!(wallet(stdb, "alice").await?, (bal, 7_000));
    // nobody but the scheduler may run the expiry reducer
    let job = json!([{"scheduled_id": 1, "scheduled_at": {"Time": {"__timestamp_micros_since_unix_epoch__": 0}}, "escrow_id": "e-exp"}]);
    stdb.call_err(DB, &stdb.owner_token, "expire_escrow", job, "E_FORBIDDEN")
        .await?;
    let expired = optx_harness::eventually(10, || async {
        let row = one(stdb, "SELECT status FROM escrow WHERE id = 'e-exp'")
            .await
            .ok()?;
        (row["status"] == "expired").then_some(())
    })
    .await;
    assert!(expired.is_some(), "the scheduler expired the escrow");
    let e = one(stdb, "SELECT * FROM escrow WHERE id = 'e-exp'").await?;
    assert!(
        e["finished_at_us"].as_i64().unwrap_or(0)
            >= e["expires_at_us"].as_i64().unwrap_or(i64::MAX)
    );
    assert_eq!(wallet(stdb, "alice").await?, (bal, 0), "the hold went back");
    stdb.call_err(DB, r, "release_escrow", json!(["e-exp"]), "E_CONFLICT")
        .await?;
    stdb.call_err(DB, r, "refund_escrow", json!(["e-exp"]), "E_CONFLICT")
        .await?;
    Ok(())
}

async fn payment_credentials_are_single_use(stdb: &Spacetime, relay: &Ident) -> anyhow::Result<()> {
    let r = &relay.token;
    let args = |id: &str| {
        json!([
            id,
            "challenge",
            "did:pkh:eip155:4217:0xabc",
            100_000,
            "USD",
            "POST /v1/chat"
        ])
    };
    stdb.call_as_ok(DB, r, "use_payment_credential", args("ch-1"))
        .await?;
    stdb.call_err(DB, r, "use_payment_credential", args("ch-1"), "E_CONFLICT")
        .await?;
    stdb.call_err(
        DB,
        r,
        "use_payment_credential",
        json!(["ch-2", "coupon", "", 0, "", ""]),
        "E_INVALID",
    )
    .await?;
    stdb.call_err(
        DB,
        r,
        "use_payment_credential",
        json!(["", "proof", "", 0, "", ""]),
        "E_INVALID",
    )
    .await?;
    let agent = with_role(stdb, "agent").await?;
    stdb.call_err(
        DB,
        &agent.token,
        "use_payment_credential",
        args("ch-3"),
        "E_FORBIDDEN",
    )
    .await?;
    // 20 concurrent uses of one fresh credential: exactly one succeeds
    let calls = (0..20).map(|_| stdb.call(DB, r, "use_payment_credential", args("ch-race")));
    let ok = join_all(calls)
        .await
        .into_iter()
        .filter(|res| matches!(res, Ok((200, _))))
        .count();
    assert_eq!(ok, 1);
    let n = one(stdb, "SELECT COUNT(*) AS n FROM payment_credential_use").await?;
    assert_eq!(n["n"], 2);
    Ok(())
}
