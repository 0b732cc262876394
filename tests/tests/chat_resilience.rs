//! Chat streams when the upstream misbehaves, against the project's fake Hermes gateway: client
//! disconnects cancel the upstream, truncation / 5xx / silence / upstream errors end in `error`
//! then `done{status:"error"}`, keep-alives flow before the first token, `choices: []` chunks are
//! harmless, concurrency and body size are bounded.

use optx_harness::fake_hermes::FakeHermes;
use optx_harness::relay::{Relay, RelayOptions};
use optx_harness::sse::{read_all, Transcript};
use optx_harness::{eventually, LogsOnPanic};
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn bin() -> &'static std::path::Path {
    env!("CARGO_BIN_EXE_fake-hermes").as_ref()
}

async fn relay_for(
    dir: &std::path::Path,
    upstream: &str,
    env: &[(&str, &str)],
) -> anyhow::Result<Relay> {
    Relay::start(
        dir,
        &RelayOptions {
            hermes_url: upstream.to_string(),
            hermes_api_key: Some("k".into()),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        },
    )
    .await
}

async fn chat(relay: &Relay, path: &str, message: &str) -> anyhow::Result<Transcript> {
    let r = reqwest::Client::new()
        .post(format!("{}{path}", relay.url))
        .json(&json!({"message": message}))
        .send()
        .await?;
    anyhow::ensure!(r.status() == 200, "status {}", r.status());
    read_all(r, 30).await
}

fn assert_error_then_done(t: &Transcript, needle: &str) {
    let names = t.names();
    let n = names.len();
    assert!(n >= 2, "{names:?}");
    assert_eq!(&names[n - 2..], ["error", "done"], "{names:?}");
    let err = &t.events[n - 2].data;
    let msg = err["message"]
        .as_str()
        .or(err["error"].as_str())
        .unwrap_or_default();
    assert!(
        msg.contains(needle),
        "error '{msg}' should mention '{needle}'"
    );
    assert_eq!(t.events[n - 1].data["status"], "error");
}

#[tokio::test(flavor = "multi_thread")]
async fn chat_streams_survive_a_misbehaving_upstream() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let _logs = LogsOnPanic(dir.path().to_path_buf());
    let fake = FakeHermes::start(bin(), dir.path(), &["--deltas", "3"]).await?;
    let relay = relay_for(
        dir.path(),
        &fake.url,
        &[
            ("OPTX_UPSTREAM_TIMEOUT_SECS", "2"),
            ("OPTX_KEEPALIVE_SECS", "1"),
            ("OPTX_MAX_STREAMS", "2"),
        ],
    )
    .await?;
    let s = "/api/sessions/s1/chat/stream";

    // The happy path through the fake, both vocabularies; `_thinking` never shows as text.
    let t = chat(&relay, s, "hi").await?;
    assert_eq!(t.content(), "tok tok tok ");
    let completed = &t.named("assistant.completed")[0].data;
    assert_eq!(completed["content"], "tok tok tok ");
    assert_eq!(t.names().last(), Some(&"done"));
    assert!(!t.names().contains(&"tool.progress"));

    // Truncation, 5xx, upstream error event, silence.
    assert_error_then_done(
        &chat(&relay, s, "TRUNCATE").await?,
        "ended before completion",
    );
    assert_error_then_done(&chat(&relay, s, "ERROR500").await?, "500");
    assert_error_then_done(&chat(&relay, s, "UPSTREAM_ERROR").await?, "agent exploded");
    let hang = chat(&relay, "/api/sessions/s1/chat/stream?events=optx", "HANG").await?;
    assert_error_then_done(&hang, "timed out");
    assert!(
        !hang.comments.is_empty(),
        "keep-alive comments flow while upstream is silent"
    );
    assert!(hang.comments.iter().all(|c| c == "keepalive"));

    // The passthrough sends the relay's Hermes bearer, never the client's key or Origin.
    let who: Value = reqwest::Client::new()
        .get(format!("{}/v1/whoami", relay.url))
        .header("Authorization", "Bearer client-secret")
        .header("Origin", "https://evil.example")
        .header("X-Hermes-Session-Id", "s1")
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(who["authorization"], "Bearer k");
    assert_eq!(who["origin"], false);
    assert_eq!(
        who["session_id"], "s1",
        "session header forwarded unchanged"
    );

    // `/new` with a caller-chosen id uses that id (never the literal "new").
    let t = chat(&relay, "/api/sessions/new/chat/stream?events=optx", "hi").await?;
    assert_ne!(t.events[0].data["session_id"], "new");
    let r = reqwest::Client::new()
        .post(format!(
            "{}/api/sessions/new/chat/stream?events=optx",
            relay.url
        ))
        .json(&json!({"message": "hi", "session_id": "abc"}))
        .send()
        .await?;
    let t = read_all(r, 30).await?;
    assert_eq!(
        t.events[0].data,
        json!({"session_id": "abc", "status": "created"})
    );
    assert_eq!(
        t.events[1].data,
        json!({"session_id": "abc", "status": "streaming"})
    );

    client_disconnect_cancels_upstream(&relay, &fake).await?;
    concurrency_and_size_limits(&relay).await?;
    Ok(())
}

async fn client_disconnect_cancels_upstream(
    relay: &Relay,
    fake: &FakeHermes,
) -> anyhow::Result<()> {
    let resp = reqwest::Client::new()
        .post(format!("{}/api/sessions/s2/chat/stream", relay.url))
        .json(&json!({"message": "SLOW please"}))
        .send()
        .await?;
    let mut body = resp.bytes_stream();
    use futures::StreamExt;
    let mut seen = String::new();
    while !seen.contains("assistant.delta") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), body.next())
            .await?
            .expect("stream open")?;
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let dropped_at = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as u64;
    drop(body); // the client goes away mid-stream
    let closed = eventually(1, || async {
        let c = fake.closed().await.ok()?;
        c.into_iter().find(|e| e["message"] == "SLOW please")
    })
    .await
    .expect("the fake upstream saw its stream closed within 1 s of the client leaving");
    let at = closed["at_ms"].as_u64().unwrap();
    assert!(
        at >= dropped_at.saturating_sub(50),
        "closed after the client left"
    );
    Ok(())
}

async fn concurrency_and_size_limits(relay: &Relay) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    // Two slow streams take both slots; a third gets 429 with Retry-After.
    let mut open = Vec::new();
    for i in 0..2 {
        let r = http
            .post(format!("{}/api/sessions/busy{i}/chat/stream", relay.url))
            .json(&json!({"message": "SLOW"}))
            .send()
            .await?;
        assert_eq!(r.status(), 200);
        open.push(r);
    }
    let r = http
        .post(format!("{}/api/sessions/busy3/chat/stream", relay.url))
        .json(&json!({"message": "hi"}))
        .send()
        .await?;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "1");
    let body: Value = r.json().await?;
    assert_eq!(body["error"]["code"], "too_many_streams");
    drop(open);
    // Slots come back when those clients leave.
    let ok = eventually(5, || async {
        let r = http
            .post(format!(
                "{}/api/sessions/busy4/chat/stream?events=optx",
                relay.url
            ))
            .json(&json!({"message": "hi"}))
            .send()
            .await
            .ok()?;
        (r.status() == 200).then_some(r)
    })
    .await
    .expect("a slot frees up after the streams close");
    let t = read_all(ok, 30).await?;
    assert_eq!(t.names().last(), Some(&"done"));

    // Bodies over the chat limit are refused before anything happens.
    let huge = "x".repeat(11 * 1024 * 1024);
    let r = http
        .post(format!("{}/api/sessions/s3/chat/stream", relay.url))
        .header("content-type", "application/json")
        .body(format!("{{\"message\":\"{huge}\"}}"))
        .send()
        .await?;
    assert_eq!(r.status(), 413);
    let body: Value = r.json().await?;
    assert_eq!(body["error"]["code"], "payload_too_large");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn completions_fallback_and_openai_stream() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let _logs = LogsOnPanic(dir.path().to_path_buf());
    let fake = FakeHermes::start(bin(), dir.path(), &["--deltas", "3", "--no-sessions"]).await?;
    let relay = relay_for(
        dir.path(),
        &fake.url,
        &[("OPTX_UPSTREAM_TIMEOUT_SECS", "2")],
    )
    .await?;

    // No sessions API upstream: the relay streams through /v1/chat/completions and says so.
    let t = chat(
        &relay,
        "/api/sessions/s1/chat/stream?events=optx",
        "hi EMPTY_CHOICES",
    )
    .await?;
    assert_eq!(t.names()[0], "session");
    assert_eq!(t.events[0].data["fallback"], "v1_completions");
    assert_eq!(t.content(), "tok tok tok ");
    assert_eq!(t.events.last().unwrap().data["status"], "complete");
    assert_eq!(t.events.last().unwrap().data["usage"]["total_tokens"], 8);
    assert_error_then_done(
        &chat(&relay, "/api/sessions/s1/chat/stream", "TRUNCATE").await?,
        "ended before completion",
    );

    // The OpenAI-style stream route: LF frames, chunks untouched, always [DONE].
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/api/chat/completions/stream", relay.url))
        .json(&json!({"messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await?;
    assert_eq!(r.status(), 200);
    let body = r.text().await?;
    assert!(!body.contains('\r'));
    let frames: Vec<&str> = body.split("\n\n").filter(|f| !f.is_empty()).collect();
    assert!(frames.iter().all(|f| f.starts_with("data: ")), "{frames:?}");
    assert_eq!(frames.last(), Some(&"data: [DONE]"));
    assert_eq!(
        frames.len(),
        1 + 3 + 1 + 1,
        "role, 3 deltas, finish, [DONE]: {frames:?}"
    );
    let r = http
        .post(format!("{}/api/chat/completions/stream", relay.url))
        .json(&json!({"messages": [{"role": "user", "content": "TRUNCATE"}]}))
        .send()
        .await?;
    let body = r.text().await?;
    assert!(body.contains("\"error\""), "{body}");
    assert!(body.ends_with("data: [DONE]\n\n"), "{body}");
    let r = http
        .post(format!("{}/api/chat/completions/stream", relay.url))
        .json(&json!({"messages": []}))
        .send()
        .await?;
    assert_eq!(r.status(), 422);

    // Non-streaming session chat falls back to completions too.
    let v: Value = http
        .post(format!("{}/api/sessions/s9/chat", relay.url))
        .json(&json!({"message": "hi"}))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(v["message"]["content"], "tok tok");
    assert!(v["run_id"].as_str().unwrap().starts_with("run_"));
    Ok(())
}
