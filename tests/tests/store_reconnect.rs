//! The relay's SpacetimeDB connection survives a server restart: while the server is down
//! `/health` says so and chat still answers (with the upstream's error); when it is back the relay
//! reconnects, resubscribes and records sessions again — without being restarted.

use optx_harness::relay::{Relay, RelayOptions};
use optx_harness::sse::read_all;
use optx_harness::stdb::Spacetime;
use optx_harness::{eventually, free_port, LogsOnPanic};
use serde_json::{json, Value};

const DB: &str = "optx-cortex";

async fn health(http: &reqwest::Client, relay: &Relay) -> Option<Value> {
    http.get(format!("{}/health", relay.url))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()
}

async fn chat(http: &reqwest::Client, relay: &Relay, session: &str) -> anyhow::Result<Vec<String>> {
    let r = http
        .post(format!(
            "{}/api/sessions/{session}/chat/stream?events=optx",
            relay.url
        ))
        .json(&json!({"message": "hi"}))
        .send()
        .await?;
    let t = read_all(r, 60).await?;
    Ok(t.names().iter().map(|s| s.to_string()).collect())
}

#[tokio::test(flavor = "multi_thread")]
async fn relay_reconnects_after_spacetimedb_restarts() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut stdb = Spacetime::start(dir.path()).await?;
    stdb.publish(DB).await?;
    let ident = stdb.new_identity().await?;
    stdb.authorize(DB, &ident.identity, "relay").await?;
    let dead_upstream = format!("http://127.0.0.1:{}", free_port());
    let relay = Relay::start(
        dir.path(),
        &RelayOptions {
            hermes_url: dead_upstream,
            spacetimedb_url: Some(stdb.url.clone()),
            spacetimedb_token: Some(ident.token.clone()),
            ..Default::default()
        },
    )
    .await?;
    let _logs = LogsOnPanic(dir.path().to_path_buf());
    let http = reqwest::Client::new();

    eventually(20, || async {
        let h = health(&http, &relay).await?;
        (h["spacetimedb"]["subscribed"] == true).then_some(())
    })
    .await
    .expect("relay connects and subscribes");
    assert_eq!(
        chat(&http, &relay, "before-restart").await?,
        ["error", "done"]
    );
    let q = "SELECT id, turn_count, error_count FROM chat_session WHERE id = 'before-restart'";
    let row = eventually(10, || async {
        stdb.sql(DB, q).await.ok()?.into_iter().next()
    })
    .await
    .expect("session recorded");
    assert_eq!(row["error_count"], 1);

    stdb.stop();
    let h = eventually(20, || async {
        let h = health(&http, &relay).await?;
        (h["spacetimedb"]["connected"] == false).then_some(h)
    })
    .await
    .expect("relay notices the database is gone");
    assert_eq!(h["status"], "degraded");
    // Chat still answers while the database is down (metadata is skipped, not fatal).
    assert_eq!(
        chat(&http, &relay, "during-outage").await?,
        ["error", "done"]
    );

    stdb.restart().await?;
    eventually(30, || async {
        let h = health(&http, &relay).await?;
        (h["spacetimedb"]["subscribed"] == true).then_some(())
    })
    .await
    .expect("relay reconnects and resubscribes without a restart");
    assert_eq!(
        chat(&http, &relay, "after-restart").await?,
        ["error", "done"]
    );
    let q = "SELECT id FROM chat_session WHERE id = 'after-restart'";
    eventually(10, || async {
        stdb.sql(DB, q).await.ok()?.into_iter().next()
    })
    .await
    .expect("sessions are recorded again after the reconnect");
    // The data from before the restart is still there.
    assert_eq!(
        stdb.sql(
            DB,
            "SELECT id FROM chat_session WHERE id = 'before-restart'"
        )
        .await?
        .len(),
        1
    );
    Ok(())
}
