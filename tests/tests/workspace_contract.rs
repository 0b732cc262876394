//! Hermes Workspace's client contract (`client-contracts.md` §7) against the relay in front of the
//! real Hermes 0.17 gateway: probes, sessions REST, stream order and envelope, tools, attachments,
//! non-streaming chat, the OpenAI routes and the `/v1/*` passthrough (runs, responses).

use optx_harness::stack::{Stack, DB};
use optx_harness::{eventually, free_port, LogsOnPanic};
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread")]
async fn workspace_contract_against_real_hermes() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let _logs = LogsOnPanic(dir.path().to_path_buf());
    let key = format!("k{:016x}", rand::random::<u64>());
    let fake_llm = env!("CARGO_BIN_EXE_fake-llm").as_ref();
    let s = Stack::start(dir.path(), fake_llm, true, free_port(), &key).await?;
    eventually(30, || async {
        let st = s.status().await.ok()?;
        (st["mode"] == "enhanced-hermes").then_some(())
    })
    .await
    .expect("enhanced mode");

    probes(&s).await?;
    sessions_rest(&s).await?;
    stream_with_tools_and_attachments(&s).await?;
    non_streaming_and_openai_routes(&s).await?;
    passthrough_runs_and_responses(&s).await?;
    Ok(())
}

/// Cases 1, 3, 4, 5, 24 (and 2 for the routes of this part).
async fn probes(s: &Stack) -> anyhow::Result<()> {
    let anon = |path: &str| s.http.get(s.url(path)).send();
    assert_eq!(anon("/health").await?.status(), 200);
    assert_eq!(anon("/api/gateway-status").await?.status(), 200);
    for path in [
        "/api/sessions",
        "/api/skills",
        "/api/memory",
        "/api/config",
        "/v1/models",
    ] {
        let r = anon(path).await?;
        assert_eq!(r.status(), 401, "{path} without a token");
        assert!(r.headers()["www-authenticate"]
            .to_str()?
            .starts_with("Bearer"));
        assert_eq!(s.get(path).await?.status(), 200, "{path} with the token");
    }
    assert_eq!(
        s.get("/api/sessions/__probe__/chat/stream").await?.status(),
        405
    );
    let before = s.llm.requests().await?.len();
    let (status, body) = s
        .send(
            Method::POST,
            "/api/sessions/__probe__/chat/stream",
            &json!({}),
        )
        .await?;
    assert_eq!(status, 422);
    assert!(body["error"]["message"].is_string());
    let status = s.get("/v1/chat/completions").await?.status();
    assert_ne!(status, 404);
    assert_eq!(s.llm.requests().await?.len(), before, "probes start no run");
    Ok(())
}

fn is_epoch_secs(v: &Value) -> bool {
    v.as_f64().is_some_and(|t| t > 1.5e9 && t < 1e10)
}

/// Cases 6–10 plus search and fork, and the module rows that follow them.
async fn sessions_rest(s: &Stack) -> anyhow::Result<()> {
    let (st, v) = s.send(Method::POST, "/api/sessions", &json!({})).await?;
    assert_eq!(st, 201, "{v}");
    let fresh = v["session"]["id"].as_str().unwrap().to_string();
    assert!(!fresh.is_empty());

    let (st, v) = s
        .send(
            Method::POST,
            "/api/sessions",
            &json!({"id": "abc", "title": "T", "model": "m"}),
        )
        .await?;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["session"]["id"], "abc");
    let (st, _) = s
        .send(Method::POST, "/api/sessions", &json!({"id": "abc"}))
        .await?;
    assert_eq!(st, 409);
    let (st, _) = s
        .send(Method::POST, "/api/sessions", &json!({"id": "bad id"}))
        .await?;
    assert_eq!(st, 422);
    let got = s.get_json("/api/sessions/abc").await?;
    assert_eq!(got["session"]["id"], "abc");
    assert_eq!(got["session"]["title"], "T");
    assert_eq!(s.get("/api/sessions/nope").await?.status(), 404);
    let row = s
        .stdb
        .sql(
            DB,
            "SELECT id, title, source FROM chat_session WHERE id = 'abc'",
        )
        .await?;
    assert_eq!(row.len(), 1, "the module knows the session");

    let list = s.get_json("/api/sessions?limit=50&offset=0").await?;
    let items = list["items"].as_array().unwrap();
    assert!(list["total"].as_u64().unwrap() >= 2);
    assert_eq!(list["sessions"], list["items"]);
    let abc = items.iter().find(|i| i["id"] == "abc").expect("abc listed");
    assert!(is_epoch_secs(&abc["started_at"]), "{abc}");
    assert!(abc["message_count"].is_u64() && abc["input_tokens"].is_u64());
    assert_eq!(s.get("/api/sessions?limit=0").await?.status(), 422);
    let r = s.get("/api/sessions?limit=abc").await?;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await?;
    assert_eq!(
        body["error"]["code"], "invalid_request",
        "query rejections are JSON too"
    );

    let (st, v) = s
        .send(Method::PATCH, "/api/sessions/abc", &json!({"title": "New"}))
        .await?;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["session"]["title"], "New");
    let (st, _) = s
        .send(Method::PATCH, "/api/sessions/abc", &json!({"model": "x"}))
        .await?;
    assert_eq!(st, 422, "only title/end_reason can change");
    let row = &s
        .stdb
        .sql(DB, "SELECT title FROM chat_session WHERE id = 'abc'")
        .await?[0];
    assert_eq!(row["title"], "New");

    let t = s
        .chat(
            "/api/sessions/abc/chat/stream?events=hermes",
            json!({"message": "hi"}),
        )
        .await?;
    assert_eq!(t.names().last(), Some(&"done"));
    let msgs = s.get_json("/api/sessions/abc/messages").await?;
    let items = msgs["items"].as_array().unwrap();
    assert_eq!(msgs["total"], 2);
    assert!(items[0]["id"].is_i64() || items[0]["id"].is_u64());
    assert_eq!(items[0]["role"], "user");
    assert_eq!(items[0]["content"], "hi");
    assert_eq!(items[1]["role"], "assistant");
    assert!(is_epoch_secs(&items[1]["timestamp"]));

    let found = s.get_json("/api/sessions/search?q=new").await?;
    assert!(
        found["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == "abc"),
        "{found}"
    );
    assert_eq!(s.get("/api/sessions/search").await?.status(), 422);

    let (st, v) = s
        .send(
            Method::POST,
            "/api/sessions/abc/fork",
            &json!({"id": "abc-2"}),
        )
        .await?;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["session"]["id"], "abc-2");
    assert_eq!(v["forked_from"], "abc");
    let row = &s
        .stdb
        .sql(
            DB,
            "SELECT parent_session_id FROM chat_session WHERE id = 'abc-2'",
        )
        .await?[0];
    assert_eq!(row["parent_session_id"], "abc");

    let (st, v) = s
        .send(Method::DELETE, "/api/sessions/abc", &json!({}))
        .await?;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["deleted"], true);
    assert_eq!(s.get("/api/sessions/abc").await?.status(), 404);
    assert!(s
        .stdb
        .sql(DB, "SELECT id FROM chat_session WHERE id = 'abc'")
        .await?
        .is_empty());
    let (st, _) = s
        .send(Method::DELETE, "/api/sessions/abc", &json!({}))
        .await?;
    assert_eq!(st, 404);
    Ok(())
}

/// Cases 11–13 and 15 with a tool turn: tool events precede the completion, the tool-result
/// text shows once, image attachments reach the model as `image_url` parts.
async fn stream_with_tools_and_attachments(s: &Stack) -> anyhow::Result<()> {
    let t = s
        .chat(
            "/api/sessions/tools1/chat/stream",
            json!({"message": "USE_TOOL now"}),
        )
        .await?;
    let names = t.names();
    let started = names
        .iter()
        .position(|n| *n == "tool.started")
        .expect("tool.started");
    let completed = names
        .iter()
        .position(|n| *n == "tool.completed")
        .expect("tool.completed");
    let done_text = names
        .iter()
        .position(|n| *n == "assistant.completed")
        .unwrap();
    assert!(started < completed && completed < done_text, "{names:?}");
    assert_eq!(t.named("tool.started")[0].data["tool_name"], "todo");
    let text = t.content();
    assert_eq!(
        text.matches("Tool finished; final answer from fake LLM.")
            .count(),
        1,
        "{text:?}"
    );
    for raw in String::from_utf8_lossy(&t.bytes)
        .split("\n\n")
        .filter(|f| !f.is_empty())
    {
        let lines: Vec<&str> = raw.lines().collect();
        if lines[0].starts_with(':') {
            continue;
        }
        assert!(
            lines.len() == 2 && lines[0].starts_with("event: ") && lines[1].starts_with("data: "),
            "{raw:?}"
        );
    }

    let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
    let t = s
        .chat(
            "/api/sessions/img1/chat/stream",
            json!({"message": "what is this", "model": "fake-model", "system_message": "be brief",
                   "attachments": [{"contentType": "image/png", "content": png}]}),
        )
        .await?;
    assert_eq!(t.names().last(), Some(&"done"));
    // Hermes hands the image to its vision step (a model call with an `image_url` part) and
    // gives the agent the description; both calls reach the fake model.
    let reqs = s.llm.requests().await?;
    let has_image = |r: &Value| {
        r["body"]["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|m| {
                m["content"].as_array().into_iter().flatten().any(|p| {
                    p["type"] == "image_url"
                        && p["image_url"]["url"]
                            .as_str()
                            .is_some_and(|u| u.starts_with("data:image/png;base64,"))
                })
            })
    };
    assert!(
        reqs.iter().any(has_image),
        "an image_url part reached the model"
    );
    let last = &reqs.last().unwrap()["body"]["messages"];
    let user = last
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .unwrap();
    assert!(
        user["content"]
            .as_str()
            .unwrap_or_default()
            .contains("what is this"),
        "{user}"
    );
    let system = last
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "system")
        .unwrap();
    assert!(system["content"].as_str().unwrap().contains("be brief"));
    let (st, _) = s
        .send(
            Method::POST,
            "/api/sessions/img1/chat/stream",
            &json!({"message": "x", "attachments": [{"contentType": "application/pdf", "content": "AA=="}]}),
        )
        .await?;
    assert_eq!(st, 422);
    Ok(())
}

/// `POST /api/sessions/{id}/chat`, `POST /api/chat/completions/stream`, cases 17–19.
async fn non_streaming_and_openai_routes(s: &Stack) -> anyhow::Result<()> {
    let (st, v) = s
        .send(
            Method::POST,
            "/api/sessions/once1/chat",
            &json!({"message": "one shot"}),
        )
        .await?;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        v["message"]["content"],
        "Hello from fake LLM. You said: one shot"
    );
    assert!(v["run_id"].is_string());
    let (st, v) = s
        .send(
            Method::POST,
            "/api/sessions/new/chat",
            &json!({"message": "fresh"}),
        )
        .await?;
    assert_eq!(st, 200, "{v}");
    assert!(
        v["session_id"].as_str().unwrap().starts_with("optx_"),
        "{v}"
    );
    assert!(v["usage"]["total_tokens"].as_u64().unwrap() > 0);
    let row = eventually(10, || async {
        let r = s
            .stdb
            .sql(DB, "SELECT turn_count FROM chat_session WHERE id = 'once1'")
            .await
            .ok()?;
        r.into_iter().next()
    })
    .await
    .expect("non-streamed turns are recorded too");
    assert_eq!(row["turn_count"], 1);

    let r = s
        .http
        .post(s.url("/api/chat/completions/stream"))
        .bearer_auth(&s.api_key)
        .header("X-Hermes-Session-Id", "oa1")
        .json(&json!({"model": "m", "messages": [{"role": "user", "content": "openai style"}]}))
        .send()
        .await?;
    assert_eq!(r.status(), 200);
    let body = r.text().await?;
    assert!(body.ends_with("data: [DONE]\n\n"), "{body}");
    assert!(!body.contains('\r'));
    let text: String = body
        .split("\n\n")
        .filter_map(|f| f.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    assert_eq!(text, "Hello from fake LLM. You said: openai style");

    let (st, v) = s
        .send(
            Method::POST,
            "/v1/chat/completions",
            &json!({"model": "m", "stream": false, "user": "u1", "max_tokens": 200,
                    "messages": [{"role": "user", "content": "plain"}]}),
        )
        .await?;
    assert_eq!(st, 200);
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "Hello from fake LLM. You said: plain"
    );
    assert!(v["usage"].is_object());
    let models = s.get_json("/v1/models").await?;
    assert_eq!(models["object"], "list");
    assert!(!models["data"].as_array().unwrap().is_empty());
    Ok(())
}

/// `/v1/runs` (+ events stream) and `/v1/responses` through the passthrough.
async fn passthrough_runs_and_responses(s: &Stack) -> anyhow::Result<()> {
    let (st, v) = s
        .send(Method::POST, "/v1/runs", &json!({"input": "run this"}))
        .await?;
    assert_eq!(st, 202, "{v}");
    let run_id = v["run_id"].as_str().unwrap().to_string();
    let r = s.get(&format!("/v1/runs/{run_id}/events")).await?;
    assert!(r.headers()["content-type"]
        .to_str()?
        .starts_with("text/event-stream"));
    let body = r.text().await?;
    assert!(body.contains("\"event\": \"run.completed\""), "{body}");
    assert!(body.trim_end().ends_with(": stream closed"), "{body}");
    let status = s.get_json(&format!("/v1/runs/{run_id}")).await?;
    assert_eq!(status["status"], "completed");

    let (st, v) = s
        .send(Method::POST, "/v1/responses", &json!({"input": "respond"}))
        .await?;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["object"], "response");
    Ok(())
}
