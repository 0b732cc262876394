//! The walking skeleton end to end, inside a loopback-only network namespace: SpacetimeDB 1.2
//! with the module, the fake LLM, the real Hermes 0.17 gateway, and the relay.
//!
//! Order matters and is part of what is tested: the relay starts while Hermes is still down
//! (disconnected mode, chat gives an `error` event), then Hermes starts on the port the relay was
//! given and the relay must notice without a restart.

use optx_harness::hermes::Hermes;
use optx_harness::sse::Transcript;
use optx_harness::stack::{Stack, DB};
use optx_harness::{eventually, free_port, LogsOnPanic};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread")]
async fn chat_through_the_relay_to_real_hermes() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let _logs = LogsOnPanic(dir.path().to_path_buf());
    let hermes_port = free_port();
    let hermes_key = format!("k{:016x}", rand::random::<u64>());
    let fake_llm = env!("CARGO_BIN_EXE_fake-llm").as_ref();
    let mut stack = Stack::start(dir.path(), fake_llm, false, hermes_port, &hermes_key).await?;

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

    // Both vocabularies (default): the error carries message and error.message.
    let t = s
        .chat(
            "/api/sessions/new/chat/stream",
            json!({"message": "anyone there?"}),
        )
        .await?;
    assert_eq!(
        t.names(),
        vec!["session", "run.started", "error", "done"],
        "{:?}",
        t.events
    );
    assert!(t.events[2].data["error"]["message"]
        .as_str()
        .unwrap()
        .contains("unreachable"));
    assert_eq!(
        t.events[2].data["message"],
        t.events[2].data["error"]["message"]
    );
    assert_eq!(t.events[3].data["status"], "error");

    // The OPTX envelope alone, exactly as JettChat clients read it.
    let t = s
        .chat(
            "/api/sessions/new/chat/stream?events=optx",
            json!({"message": "anyone there?"}),
        )
        .await?;
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
    let url = s.url("/api/sessions/new/chat/stream");
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
        .header("Authorization", format!("bearer {}", s.api_key))
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
            .post(s.url(path))
            .bearer_auth(&s.api_key)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await?;
        assert_eq!(r.status(), 422, "{path} {body}");
    }
    let r = s.get("/api/sessions/new/chat/stream").await?;
    assert_eq!(r.status(), 405);
    // Open routes stay open.
    let r = s.http.get(s.url("/health")).send().await?;
    assert_eq!(r.status(), 200);
    let r = s.http.get(s.url("/api/gateway-status")).send().await?;
    assert_eq!(r.status(), 200);
    Ok(())
}

async fn chat_two_turns(s: &Stack) -> anyhow::Result<String> {
    let t = s
        .chat(
            "/api/sessions/new/chat/stream?events=optx",
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

    // Second turn in the same session, both vocabularies: Hermes keeps the history upstream.
    let t2 = s
        .chat(
            &format!("/api/sessions/{sid}/chat/stream"),
            json!({"message": "RECALL please"}),
        )
        .await?;
    assert_eq!(t2.content(), "Earlier you said: hello relay");
    hermes_vocabulary_is_complete(&t2, &sid, "RECALL please");
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
    let models: Value = s.get_json("/v1/models").await?;
    assert_eq!(models["object"], "list", "{models}");
    assert!(models["data"][0]["id"].is_string());
    let r = s
        .http
        .post(s.url("/v1/chat/completions"))
        .bearer_auth(&s.api_key)
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
    let r = s.http.get(s.url("/v1/models")).send().await?;
    assert_eq!(r.status(), 401);
    Ok(())
}

async fn health_reports_everything(s: &Stack) -> anyhow::Result<()> {
    let h: Value = s.http.get(s.url("/health")).send().await?.json().await?;
    assert_eq!(h["status"], "ok", "{h}");
    assert_eq!(h["upstream"]["connected"], true);
    assert_eq!(h["spacetimedb"]["connected"], true);
    assert_eq!(h["spacetimedb"]["subscribed"], true);
    assert_eq!(h["memory_backend"], "spacetimedb");
    let text = h.to_string();
    assert!(!text.contains(&s.api_key), "no secrets in /health");
    Ok(())
}

/// Workspace's reading of a stream: order, envelope, and text equal to the completed content.
pub fn hermes_vocabulary_is_complete(t: &Transcript, sid: &str, message: &str) {
    let hermes: Vec<&str> = t
        .names()
        .into_iter()
        .filter(|n| !matches!(*n, "session" | "content"))
        .collect();
    assert_eq!(hermes[0], "run.started", "{hermes:?}");
    assert_eq!(hermes[1], "message.started", "{hermes:?}");
    assert!(
        hermes[2..hermes.len() - 3]
            .iter()
            .all(|n| *n == "assistant.delta" || n.starts_with("tool.")),
        "{hermes:?}"
    );
    assert_eq!(
        &hermes[hermes.len() - 3..],
        ["assistant.completed", "run.completed", "done"]
    );
    let run_id = t.events[0].data["run_id"].as_str().unwrap().to_string();
    assert!(run_id.starts_with("run_"));
    for (i, e) in t.events.iter().enumerate() {
        assert_eq!(e.data["session_id"], sid, "{e:?}");
        assert_eq!(e.data["run_id"], run_id.as_str(), "{e:?}");
        assert_eq!(
            e.data["seq"],
            (i + 1) as u64,
            "seq is gap-free across both vocabularies"
        );
        assert!(e.data["ts"].is_number());
        assert!(!e.raw.contains('\n'));
    }
    let started = &t.named("run.started")[0].data;
    assert_eq!(started["user_message"]["content"], message);
    let msg = &t.named("message.started")[0].data;
    assert_eq!(msg["message"]["role"], "assistant");
    let deltas: String = t
        .named("assistant.delta")
        .iter()
        .map(|e| e.data["delta"].as_str().unwrap())
        .collect();
    assert_eq!(
        t.named("assistant.completed")[0].data["content"],
        deltas.as_str()
    );
    assert_eq!(deltas, t.content(), "both vocabularies carry the same text");
    let done = &t.events.last().unwrap().data;
    assert_eq!(done["status"], "complete");
    assert!(
        done["usage"]["total_tokens"].as_u64().unwrap() > 0,
        "final event carries usage"
    );
}
