//! The walking skeleton end to end, inside a loopback-only network namespace: SpacetimeDB 1.2
//! with the module, the fake LLM, the real Hermes 0.17 gateway, and the relay.
//!
//! Order matters and is part of what is tested: the relay starts while Hermes is still down
//! (disconnected mode, chat gives an `error` event), then Hermes starts on the port the relay was
//! given and the relay must notice without a restart.

use optx_harness::fake_llm::FakeLlm;
use optx_harness::hermes::Hermes;
use optx_harness::relay::{Relay, RelayOptions};
use optx_harness::sse::{read_all, Transcript};
use optx_harness::stdb::Spacetime;
use optx_harness::{eventually, free_port, LogsOnPanic};
use serde_json::{json, Value};

const DB: &str = "optx-cortex";
const API_KEY: &str = "relay-test-key";

struct Stack {
    relay: Relay,
    stdb: Spacetime,
    llm: FakeLlm,
    hermes: Option<Hermes>,
    http: reqwest::Client,
}

impl Stack {
    async fn get(&self, path: &str) -> anyhow::Result<reqwest::Response> {
        Ok(self
            .http
            .get(format!("{}{path}", self.relay.url))
            .bearer_auth(API_KEY)
            .send()
            .await?)
    }

    async fn status(&self) -> anyhow::Result<Value> {
        Ok(self.get("/api/gateway-status").await?.json().await?)
    }

    async fn chat(&self, session: &str, body: Value) -> anyhow::Result<Transcript> {
        let resp = self
            .http
            .post(format!(
                "{}/api/sessions/{session}/chat/stream",
                self.relay.url
            ))
            .bearer_auth(API_KEY)
            .json(&body)
            .send()
            .await?;
        anyhow::ensure!(resp.status() == 200, "chat status {}", resp.status());
        assert_eq!(
            resp.headers()["content-type"].to_str()?,
            "text/event-stream"
        );
        assert_eq!(resp.headers()["cache-control"].to_str()?, "no-cache");
        assert_eq!(resp.headers()["x-accel-buffering"].to_str()?, "no");
        read_all(resp, 120).await
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn chat_through_the_relay_to_real_hermes() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let stdb = Spacetime::start(dir.path()).await?;
    stdb.publish(DB).await?;
    let relay_ident = stdb.new_identity().await?;
    stdb.authorize(DB, &relay_ident.identity, "relay").await?;
    let llm = FakeLlm::start(env!("CARGO_BIN_EXE_fake-llm").as_ref(), dir.path()).await?;

    let hermes_port = free_port();
    let hermes_key = format!("k{:016x}", rand::random::<u64>());
    let opts = RelayOptions {
        hermes_url: format!("http://127.0.0.1:{hermes_port}"),
        hermes_api_key: Some(hermes_key.clone()),
        api_key: Some(API_KEY.into()),
        spacetimedb_url: Some(stdb.url.clone()),
        spacetimedb_token: Some(relay_ident.token.clone()),
        env: vec![("OPTX_PROBE_INTERVAL_SECS".into(), "1".into())],
        ..Default::default()
    };
    let relay = Relay::start(dir.path(), &opts).await?;
    let _logs = LogsOnPanic(dir.path().to_path_buf());
    let mut stack = Stack {
        relay,
        stdb,
        llm,
        hermes: None,
        http: reqwest::Client::new(),
    };

    upstream_down_is_visible(&stack).await?;
    auth_and_validation(&stack).await?;

    // Hermes comes up on the port the relay already points at, with the key it already has.
    let hermes =
        Hermes::start_with_key(dir.path(), &stack.llm.url, hermes_port, &hermes_key).await?;
    stack.hermes = Some(hermes);
    let status = eventually(30, || async {
        let s = stack.status().await.ok()?;
        (s["mode"] == "enhanced-hermes").then_some(s)
    })
    .await
    .expect("relay notices the upstream came back (re-probe without restart)");
    assert_eq!(status["status"], "connected");
    assert_eq!(status["upstream_version"], "0.17.0");
    assert_eq!(status["upstream_target"], "0.17.0");
    assert_eq!(status["features"]["sessions_api_upstream"], true);

    let session_id = chat_two_turns(&stack).await?;
    session_row_is_in_the_module(&stack, &session_id).await?;
    passthrough(&stack).await?;
    health_reports_everything(&stack).await?;
    Ok(())
}

async fn upstream_down_is_visible(s: &Stack) -> anyhow::Result<()> {
    let status = s.status().await?;
    assert_eq!(status["status"], "disconnected", "{status}");
    assert_eq!(status["mode"], "disconnected");
    assert_eq!(status["upstream_target"], "0.17.0");

    let t = s.chat("new", json!({"message": "anyone there?"})).await?;
    assert_eq!(
        t.names(),
        vec!["session", "error", "done"],
        "{:?}",
        t.events
    );
    assert_eq!(t.events[0].data["status"], "created");
    let sid = t.events[0].data["session_id"].as_str().unwrap().to_string();
    assert!(sid.starts_with("optx_"), "{sid}");
    assert!(
        t.events[1].data["error"]
            .as_str()
            .unwrap()
            .contains("unreachable"),
        "{}",
        t.events[1].data
    );
    assert_eq!(t.events[1].data["session_id"], sid.as_str());
    assert_eq!(t.events[2].data["status"], "error");
    Ok(())
}

async fn auth_and_validation(s: &Stack) -> anyhow::Result<()> {
    let url = format!("{}/api/sessions/new/chat/stream", s.relay.url);
    // No key → 401 with WWW-Authenticate and a JSON body; wrong key too.
    for auth in [None, Some("Bearer wrong"), Some("Basic x")] {
        let mut rb = s.http.post(&url).json(&json!({"message": "hi"}));
        if let Some(a) = auth {
            rb = rb.header("Authorization", a);
        }
        let r = rb.send().await?;
        assert_eq!(r.status(), 401, "{auth:?}");
        assert_eq!(
            r.headers()["www-authenticate"],
            "Bearer realm=\"hermes-optx-api\""
        );
        let body: Value = r.json().await?;
        assert_eq!(body["error"]["code"], "unauthorized");
    }
    // Case-insensitive scheme is accepted (the request then fails validation, not auth).
    let r = s
        .http
        .post(&url)
        .header("Authorization", format!("bearer {API_KEY}"))
        .json(&json!({}))
        .send()
        .await?;
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await?;
    assert_eq!(body["error"]["code"], "invalid_request");
    assert!(body["detail"].as_str().unwrap().contains("message"));
    // Not JSON, empty message, bad session id → 422; GET on a POST-only route → 405.
    for (path, body) in [
        ("/api/sessions/new/chat/stream", "nope".to_string()),
        (
            "/api/sessions/new/chat/stream",
            json!({"message": ""}).to_string(),
        ),
        (
            "/api/sessions/bad%20id/chat/stream",
            json!({"message": "x"}).to_string(),
        ),
    ] {
        let r = s
            .http
            .post(format!("{}{path}", s.relay.url))
            .bearer_auth(API_KEY)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await?;
        assert_eq!(r.status(), 422, "{path} {body}");
    }
    let r = s.get("/api/sessions/new/chat/stream").await?;
    assert_eq!(r.status(), 405);
    // Open routes stay open.
    let r = s.http.get(format!("{}/health", s.relay.url)).send().await?;
    assert_eq!(r.status(), 200);
    let r = s
        .http
        .get(format!("{}/api/gateway-status", s.relay.url))
        .send()
        .await?;
    assert_eq!(r.status(), 200);
    Ok(())
}

async fn chat_two_turns(s: &Stack) -> anyhow::Result<String> {
    let t = s
        .chat(
            "new",
            json!({"message": "hello relay", "model": "fake-model"}),
        )
        .await?;
    let names = t.names();
    assert_eq!(names.first(), Some(&"session"));
    assert_eq!(names.last(), Some(&"done"));
    assert_eq!(t.events[0].data["status"], "created");
    assert_eq!(t.events[1].name, "session");
    assert_eq!(t.events[1].data["status"], "streaming");
    assert!(
        names[2..names.len() - 1].iter().all(|n| *n == "content"),
        "only content between session and done: {names:?}"
    );
    assert_eq!(t.content(), "Hello from fake LLM. You said: hello relay");
    let sid = t.events[0].data["session_id"].as_str().unwrap().to_string();
    for e in &t.events {
        assert_eq!(e.data["session_id"], sid.as_str(), "{e:?}");
        assert!(!e.raw.contains('\n'), "one-line JSON per data line");
    }
    let done = &t.events.last().unwrap().data;
    assert_eq!(done["status"], "complete");
    assert!(
        done["usage"]["output_tokens"].as_u64().unwrap() > 0,
        "{done}"
    );
    assert!(
        !String::from_utf8_lossy(&t.bytes).contains('\r'),
        "LF framing"
    );

    // Second turn in the same session: Hermes keeps the history upstream.
    let t2 = s.chat(&sid, json!({"message": "RECALL please"})).await?;
    assert_eq!(t2.names()[0], "session");
    assert_eq!(t2.events[0].data["status"], "streaming");
    assert_eq!(t2.names().last(), Some(&"done"));
    assert_eq!(t2.content(), "Earlier you said: hello relay");
    // The relay sent the upstream bearer and only the new message.
    let reqs = s.llm.requests().await?;
    let last = reqs.last().unwrap();
    let msgs = last["body"]["messages"].as_array().unwrap();
    assert_eq!(
        msgs.iter().filter(|m| m["role"] == "user").count(),
        2,
        "history comes from Hermes"
    );
    Ok(sid)
}

async fn session_row_is_in_the_module(s: &Stack, sid: &str) -> anyhow::Result<()> {
    let q = format!("SELECT * FROM chat_session WHERE id = '{sid}'");
    let row = eventually(10, || async {
        let rows = s.stdb.sql(DB, &q).await.ok()?;
        rows.into_iter().find(|r| r["turn_count"] == 2)
    })
    .await
    .expect("session row with two turns");
    assert_eq!(row["message_count"], 4);
    assert_eq!(row["status"], "active");
    assert_eq!(row["source"], "optx-relay");
    assert_eq!(row["title"], "hello relay");
    assert_eq!(row["model"], "fake-model");
    assert_eq!(row["error_count"], 0);
    assert!(row["input_tokens"].as_u64().unwrap() > 0);
    assert!(row["output_tokens"].as_u64().unwrap() > 0);
    Ok(())
}

async fn passthrough(s: &Stack) -> anyhow::Result<()> {
    let models: Value = s.get("/v1/models").await?.json().await?;
    assert_eq!(models["object"], "list", "{models}");
    assert!(models["data"][0]["id"].is_string());
    let r = s
        .http
        .post(format!("{}/v1/chat/completions", s.relay.url))
        .bearer_auth(API_KEY)
        .json(&json!({"model": "hermes-agent", "stream": true,
                      "messages": [{"role": "user", "content": "via proxy"}]}))
        .send()
        .await?;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()?
        .starts_with("text/event-stream"));
    let body = r.text().await?;
    assert!(body.contains("data: [DONE]"), "{body}");
    assert!(body.contains("via"), "{body}");
    // Without the relay key the proxy is closed.
    let r = s
        .http
        .get(format!("{}/v1/models", s.relay.url))
        .send()
        .await?;
    assert_eq!(r.status(), 401);
    Ok(())
}

async fn health_reports_everything(s: &Stack) -> anyhow::Result<()> {
    let h: Value = s
        .http
        .get(format!("{}/health", s.relay.url))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(h["status"], "ok", "{h}");
    assert_eq!(h["upstream"]["connected"], true);
    assert_eq!(h["spacetimedb"]["connected"], true);
    assert_eq!(h["spacetimedb"]["subscribed"], true);
    assert_eq!(h["memory_backend"], "spacetimedb");
    let text = h.to_string();
    assert!(
        !text.contains(API_KEY) && !text.contains("test-key"),
        "no secrets in /health"
    );
    Ok(())
}
