//! The module against a real SpacetimeDB 1.2 server: memory upsert by key, validation, access
//! control (owner, authorized roles, identities without a role), and session metadata reducers.
//! Every assertion reads the database back with SQL.

use optx_harness::stdb::Spacetime;
use serde_json::json;

const DB: &str = "optx-cortex";

#[tokio::test(flavor = "multi_thread")]
async fn module_rules_hold_against_the_real_server() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let stdb = Spacetime::start(dir.path()).await?;
    stdb.publish(DB).await?;
    let _logs = optx_harness::LogsOnPanic(dir.path().to_path_buf());

    // The publisher is the owner; the default permission table is written.
    let owners = stdb
        .sql(
            DB,
            "SELECT identity, role FROM access_grant WHERE role = 'owner'",
        )
        .await?;
    assert_eq!(owners.len(), 1);
    assert_eq!(
        owners[0]["identity"],
        json!([format!("0x{}", stdb.owner_identity)])
    );
    let perms = stdb
        .sql(
            DB,
            "SELECT role FROM reducer_permission WHERE reducer = 'store_memory'",
        )
        .await?;
    let roles: Vec<&str> = perms.iter().filter_map(|r| r["role"].as_str()).collect();
    assert!(
        roles.contains(&"relay") && roles.contains(&"agent"),
        "{roles:?}"
    );

    memory_upserts_by_key(&stdb).await?;
    memory_validation_writes_nothing(&stdb).await?;
    identities_without_a_role_are_refused(&stdb).await?;
    sessions_open_record_close(&stdb).await?;
    Ok(())
}

async fn memory_upserts_by_key(stdb: &Spacetime) -> anyhow::Result<()> {
    let args = |value: &str, importance: u8| {
        json!(["project", "mem:k1", value, "test", "astrojoe", importance, "sess-1"])
    };
    stdb.call_ok(DB, "store_memory", args("first text", 5))
        .await?;
    let q = "SELECT id, key, category, value, source, owner, importance, session_id, revision FROM memory_entry WHERE key = 'mem:k1'";
    let first = stdb.sql(DB, q).await?;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0]["value"], "first text");
    assert_eq!(first[0]["category"], "project");
    assert_eq!(first[0]["owner"], "astrojoe");
    assert_eq!(first[0]["importance"], 5);
    assert_eq!(first[0]["session_id"], "sess-1");
    assert_eq!(first[0]["revision"], 1);

    stdb.call_ok(DB, "store_memory", args("second text", 9))
        .await?;
    let second = stdb.sql(DB, q).await?;
    assert_eq!(second.len(), 1, "upsert must not add a row");
    assert_eq!(second[0]["id"], first[0]["id"], "upsert keeps the id");
    assert_eq!(second[0]["value"], "second text");
    assert_eq!(second[0]["importance"], 9);
    assert_eq!(second[0]["revision"], 2);

    // put_memory carries metadata; store_memory afterwards keeps it.
    stdb.call_ok(
        DB,
        "put_memory",
        json!([
            "mem:k2",
            "general",
            "with meta",
            "test",
            "astrojoe",
            3,
            "",
            "{\"src\":\"t\"}",
            0
        ]),
    )
    .await?;
    stdb.call_ok(
        DB,
        "store_memory",
        json!([
            "general",
            "mem:k2",
            "with meta v2",
            "test",
            "astrojoe",
            3,
            ""
        ]),
    )
    .await?;
    let k2 = stdb
        .sql(
            DB,
            "SELECT value, metadata FROM memory_entry WHERE key = 'mem:k2'",
        )
        .await?;
    assert_eq!(k2[0]["value"], "with meta v2");
    assert_eq!(k2[0]["metadata"], "{\"src\":\"t\"}");

    // delete by key, then a second delete is E_NOT_FOUND.
    stdb.call_ok(DB, "delete_memory", json!(["mem:k2"])).await?;
    assert!(stdb
        .sql(DB, "SELECT key FROM memory_entry WHERE key = 'mem:k2'")
        .await?
        .is_empty());
    let (status, body) = stdb
        .call(DB, &stdb.owner_token, "delete_memory", json!(["mem:k2"]))
        .await?;
    assert_eq!(status, 530);
    assert!(body.starts_with("E_NOT_FOUND"), "{body}");
    Ok(())
}

async fn memory_validation_writes_nothing(stdb: &Spacetime) -> anyhow::Result<()> {
    let cases = [
        json!(["project", "mem:bad1", "text", "t", "o", 11, ""]),
        json!(["project", "mem:bad2", "text", "t", "o", 0, ""]),
        json!(["project", "", "text", "t", "o", 5, ""]),
        json!(["bad category", "mem:bad3", "text", "t", "o", 5, ""]),
        json!(["project", "mem:bad4", "   ", "t", "o", 5, ""]),
    ];
    for args in cases {
        let (status, body) = stdb
            .call(DB, &stdb.owner_token, "store_memory", args.clone())
            .await?;
        assert_eq!(status, 530, "{args}");
        assert!(body.starts_with("E_INVALID: "), "{args}: {body}");
    }
    let bad = stdb
        .sql(
            DB,
            "SELECT key FROM memory_entry WHERE category = 'project'",
        )
        .await?;
    assert_eq!(bad.len(), 1, "only mem:k1 exists: {bad:?}");
    Ok(())
}

async fn identities_without_a_role_are_refused(stdb: &Spacetime) -> anyhow::Result<()> {
    let stranger = stdb.new_identity().await?;
    let (status, body) = stdb
        .call(
            DB,
            &stranger.token,
            "store_memory",
            json!(["general", "mem:stranger", "x", "t", "o", 5, ""]),
        )
        .await?;
    assert_eq!(status, 530);
    assert!(body.starts_with("E_FORBIDDEN: "), "{body}");
    assert!(stdb
        .sql(
            DB,
            "SELECT key FROM memory_entry WHERE key = 'mem:stranger'"
        )
        .await?
        .is_empty());

    // A stranger cannot grant itself a role either.
    let me = json!({"__identity__": format!("0x{}", stranger.identity)});
    let (status, body) = stdb
        .call(DB, &stranger.token, "authorize", json!([me, "owner"]))
        .await?;
    assert_eq!(status, 530);
    assert!(body.starts_with("E_FORBIDDEN"), "{body}");

    // Unknown role names are invalid.
    let (status, body) = stdb
        .call(DB, &stdb.owner_token, "authorize", json!([me, "root"]))
        .await?;
    assert_eq!(status, 530);
    assert!(body.starts_with("E_INVALID"), "{body}");

    // An analyst may read but not write memory; an agent may write.
    stdb.authorize(DB, &stranger.identity, "analyst").await?;
    let (status, body) = stdb
        .call(
            DB,
            &stranger.token,
            "store_memory",
            json!(["general", "mem:stranger", "x", "t", "o", 5, ""]),
        )
        .await?;
    assert_eq!(status, 530);
    assert!(body.starts_with("E_FORBIDDEN: role(s) analyst"), "{body}");
    stdb.authorize(DB, &stranger.identity, "agent").await?;
    let (status, body) = stdb
        .call(
            DB,
            &stranger.token,
            "store_memory",
            json!(["general", "mem:stranger", "x", "t", "o", 5, ""]),
        )
        .await?;
    assert_eq!(status, 200, "{body}");

    // Revoking works; the last owner cannot be revoked.
    let owner = json!({"__identity__": format!("0x{}", stdb.owner_identity)});
    let (status, body) = stdb
        .call(DB, &stdb.owner_token, "revoke", json!([owner, "owner"]))
        .await?;
    assert_eq!(status, 530);
    assert!(body.starts_with("E_CONFLICT"), "{body}");
    stdb.call_ok(DB, "revoke", json!([me, "agent"])).await?;
    let (status, _) = stdb
        .call(
            DB,
            &stranger.token,
            "delete_memory",
            json!(["mem:stranger"]),
        )
        .await?;
    assert_eq!(status, 530);
    Ok(())
}

async fn sessions_open_record_close(stdb: &Spacetime) -> anyhow::Result<()> {
    let relay = stdb.new_identity().await?;
    let open = json!(["s-1", "First chat", "m1", "optx-relay", "u1", "", ""]);
    let (status, body) = stdb
        .call(DB, &relay.token, "open_session", open.clone())
        .await?;
    assert_eq!(status, 530, "a relay without a role is refused");
    assert!(body.starts_with("E_FORBIDDEN"), "{body}");

    stdb.authorize(DB, &relay.identity, "relay").await?;
    let call = |reducer: &'static str, args: serde_json::Value| {
        let token = relay.token.clone();
        async move {
            let (status, body) = stdb.call(DB, &token, reducer, args).await?;
            anyhow::ensure!(status == 200, "{reducer}: {status} {body}");
            anyhow::Ok(())
        }
    };
    call("open_session", open.clone()).await?;
    call("record_session_turn", json!(["s-1", 2, 1, 30, 12, ""])).await?;
    call(
        "record_session_turn",
        json!(["s-1", 2, 0, 10, 5, "upstream timed out"]),
    )
    .await?;
    // open again = resume: idempotent, keeps counters, empty args keep fields
    call(
        "open_session",
        json!(["s-1", "", "", "optx-relay", "", "", ""]),
    )
    .await?;
    let q = "SELECT * FROM chat_session WHERE id = 's-1'";
    let row = &stdb.sql(DB, q).await?[0];
    assert_eq!(row["title"], "First chat");
    assert_eq!(row["model"], "m1");
    assert_eq!(row["upstream_session_id"], "s-1");
    assert_eq!(row["message_count"], 4);
    assert_eq!(row["tool_call_count"], 1);
    assert_eq!(row["input_tokens"], 40);
    assert_eq!(row["output_tokens"], 17);
    assert_eq!(row["turn_count"], 2);
    assert_eq!(row["error_count"], 1);
    assert_eq!(row["last_error"], "upstream timed out");
    assert_eq!(row["status"], "active");

    call(
        "update_session",
        json!(["s-1", {"some": "Renamed"}, null, null]),
    )
    .await?;
    call("close_session", json!(["s-1", "user_closed"])).await?;
    let row = &stdb.sql(DB, q).await?[0];
    assert_eq!(row["title"], "Renamed");
    assert_eq!(row["status"], "closed");
    assert_eq!(row["end_reason"], "user_closed");
    let (status, body) = stdb
        .call(DB, &relay.token, "close_session", json!(["s-1", "again"]))
        .await?;
    assert_eq!(status, 530);
    assert!(body.starts_with("E_CONFLICT"), "{body}");
    let (status, body) = stdb
        .call(
            DB,
            &relay.token,
            "record_session_turn",
            json!(["nope", 2, 0, 1, 1, ""]),
        )
        .await?;
    assert_eq!(status, 530);
    assert!(body.starts_with("E_NOT_FOUND"), "{body}");
    let (status, body) = stdb
        .call(
            DB,
            &relay.token,
            "open_session",
            json!(["bad id!", "", "", "", "", "", ""]),
        )
        .await?;
    assert_eq!(status, 530);
    assert!(body.starts_with("E_INVALID"), "{body}");
    call("delete_session", json!(["s-1"])).await?;
    assert!(stdb.sql(DB, q).await?.is_empty());
    Ok(())
}
