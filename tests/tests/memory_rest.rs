//! One REST suite for `/api/memory*`, run against each backend (spacetimedb, holographic,
//! sqlite): round trip with metadata, hostile queries, delete consistency, upsert by key,
//! filters, pagination, stats, validation that writes nothing, auth. The spacetimedb run also
//! checks the rows with SQL and that rows written by other clients are searchable.

use optx_harness::memory::{MemoryStack, API_KEY, DB};
use optx_harness::LogsOnPanic;
use serde_json::{json, Value};

async fn count(s: &MemoryStack) -> anyhow::Result<u64> {
    let (st, v) = s.get("/api/memory/stats").await?;
    assert_eq!(st, 200, "{v}");
    Ok(v["count"].as_u64().unwrap_or(u64::MAX))
}

fn ids(results: &[Value]) -> Vec<String> {
    results
        .iter()
        .map(|m| m["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn suite(s: &MemoryStack) -> anyhow::Result<()> {
    let b = s.backend.as_str();
    // Round trip (acceptance case 10): metadata and created_at are echoed.
    let m = s
        .store(
            json!({"content": "OPTX gaze tensors are COG EMO ENV", "category": "system",
                      "importance": 0.9, "metadata": {"src": "t"}}),
        )
        .await?;
    assert_eq!(m["category"], "system", "{b}");
    assert_eq!(m["importance"], 0.9, "{b}");
    assert_eq!(m["importance_level"], 9, "{b}");
    assert_eq!(m["metadata"], json!({"src": "t"}), "{b}");
    assert!(m["created_at"].is_string(), "{b}: {m}");
    let gaze_id = m["id"].as_str().unwrap().to_string();
    let (st, v) = s
        .post("/api/memory/search", &json!({"query": "gaze"}))
        .await?;
    assert_eq!(st, 200);
    assert_eq!(v["total"], 1, "{b}: {v}");
    assert_eq!(v["query"], "gaze");
    assert_eq!(v["results"][0]["metadata"], json!({"src": "t"}), "{b}");
    assert!(v["results"][0]["score"].as_f64().unwrap() > 0.0, "{b}");
    let (st, one) = s.get(&format!("/api/memory/{gaze_id}")).await?;
    assert_eq!(
        (st, &one["content"]),
        (200, &json!("OPTX gaze tensors are COG EMO ENV"))
    );

    // Any text is a valid query.
    for q in [
        "what's up-1",
        "\"",
        "*",
        "AND",
        "NEAR(",
        "a:b",
        "()",
        "^gaze",
        "-gaze",
        "🦔 gaze",
        "gaze\" OR \"x",
        "'; DROP TABLE facts; --",
        "",
        "   ",
        "the",
    ] {
        let (st, v) = s.post("/api/memory/search", &json!({"query": q})).await?;
        assert_eq!(st, 200, "{b}: query {q:?} → {v}");
        assert!(v["results"].is_array(), "{b}: {q:?}");
    }
    let (st, _) = s.get("/api/memory/recall?query=what%27s%20up-1").await?;
    assert_eq!(st, 200);

    // Delete consistency (acceptance case 11).
    let (st, v) = s.delete("/api/memory/unknown").await?;
    assert_eq!(
        (st, v["detail"].as_str()),
        (404, Some("Memory not found")),
        "{b}"
    );
    let hog = s
        .store(json!({"content": "second memory about hedgehog"}))
        .await?;
    let hog_id = hog["id"].as_str().unwrap().to_string();
    assert_eq!(
        ids(&s.search("hedgehog", 10).await?),
        vec![hog_id.clone()],
        "{b}"
    );
    let (st, v) = s.delete(&format!("/api/memory/{hog_id}")).await?;
    assert_eq!((st, &v["deleted"]), (200, &json!(true)), "{b}: {v}");
    s.store(json!({"content": "zebra stripes"})).await?;
    let (st, v) = s.get("/api/memory/recall?query=hedgehog").await?;
    assert_eq!((st, &v["results"]), (200, &json!([])), "{b}: {v}");
    assert!(s.search("hedgehog", 10).await?.is_empty(), "{b}");
    let (st, _) = s.get(&format!("/api/memory/{hog_id}")).await?;
    assert_eq!(st, 404, "{b}");
    let (st, _) = s.delete(&format!("/api/memory/{hog_id}")).await?;
    assert_eq!(st, 404, "{b}: second delete");
    // Deleting by key answers with the memory's id.
    let keyed = s
        .store(json!({"key": "del:by-key", "content": "to be deleted by key"}))
        .await?;
    let (st, v) = s.delete("/api/memory/del:by-key").await?;
    assert_eq!((st, &v["memory_id"]), (200, &keyed["id"]), "{b}: {v}");

    // Upsert by key: same id, old words gone from the index, new ones found.
    let a = s
        .store(json!({"key": "pref:editor", "content": "the editor is vim", "importance": 3}))
        .await?;
    let before = count(s).await?;
    let a2 = s
        .store(json!({"key": "pref:editor", "content": "the editor is helix", "importance": 8}))
        .await?;
    assert_eq!(a["id"], a2["id"], "{b}");
    assert_eq!(a2["key"], "pref:editor");
    assert_eq!(a2["importance_level"], 8, "{b}");
    assert_eq!(count(s).await?, before, "{b}: upsert adds nothing");
    assert!(
        s.search("vim", 10).await?.is_empty(),
        "{b}: stale term after update"
    );
    assert_eq!(
        ids(&s.search("helix", 10).await?),
        vec![a2["id"].as_str().unwrap().to_string()]
    );
    let (st, by_key) = s.get("/api/memory/pref:editor").await?;
    assert_eq!(
        (st, &by_key["content"]),
        (200, &json!("the editor is helix")),
        "{b}"
    );

    // Filters on list, search and recall.
    s.store(
        json!({"content": "deploy window is Friday", "category": "ops",
                   "owner": "alice", "session_id": "s1", "importance": 7}),
    )
    .await?;
    s.store(json!({"content": "deploy freeze in December", "category": "ops", "owner": "bob"}))
        .await?;
    s.store(
        json!({"content": "deploy docs live in the wiki", "category": "docs", "owner": "alice"}),
    )
    .await?;
    let (_, v) = s.get("/api/memory?owner=alice").await?;
    assert_eq!(v["total"], 2, "{b}: {v}");
    let (_, v) = s
        .get("/api/memory?owner=alice&category=ops&session_id=s1")
        .await?;
    assert_eq!(v["total"], 1, "{b}: {v}");
    let (_, v) = s
        .post(
            "/api/memory/search",
            &json!({"query": "deploy", "filters": {"category": "ops"}}),
        )
        .await?;
    assert_eq!(v["total"], 2, "{b}: {v}");
    assert!(v["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["category"] == "ops"));
    let (_, v) = s
        .post(
            "/api/memory/search",
            &json!({"query": "deploy", "filters": {"owner": "alice", "category": "docs"}}),
        )
        .await?;
    assert_eq!(v["total"], 1, "{b}: {v}");
    let (_, v) = s.get("/api/memory/recall?query=deploy&owner=bob").await?;
    assert_eq!(v["total"], 1, "{b}: {v}");
    assert_eq!(v["results"][0]["content"], "deploy freeze in December");

    // Listing: newest first, total is the full count, pages are disjoint.
    let total = count(s).await?;
    let (_, p1) = s.get("/api/memory?limit=2&offset=0").await?;
    let (_, p2) = s.get("/api/memory?limit=2&offset=2").await?;
    assert_eq!(p1["total"].as_u64(), Some(total), "{b}");
    assert_eq!(p1["backend"], b);
    assert_eq!(p1["memories"].as_array().unwrap().len(), 2);
    assert_eq!(
        p1["memories"][0]["content"], "deploy docs live in the wiki",
        "{b}"
    );
    let first: Vec<String> = ids(p1["memories"].as_array().unwrap());
    assert!(ids(p2["memories"].as_array().unwrap())
        .iter()
        .all(|i| !first.contains(i)));

    // Stats.
    let (st, v) = s.get("/api/memory/stats").await?;
    assert_eq!(st, 200);
    assert_eq!(v["backend"], b);
    assert_eq!(v["status"], "ok");
    assert_eq!(v["total_memories"].as_u64(), Some(total));
    assert_eq!(v["by_category"]["ops"], 2, "{b}: {v}");
    assert!(v["categories"]
        .as_array()
        .unwrap()
        .contains(&json!("system")));

    // Bad input is a 422 JSON error and writes nothing.
    let before = count(s).await?;
    for bad in [
        json!({}),
        json!({"content": ""}),
        json!({"content": "  "}),
        json!({"content": 7}),
        json!({"content": "x", "importance": 42}),
        json!({"content": "x", "importance": -0.1}),
        json!({"content": "x", "metadata": [1]}),
        json!({"content": "x", "category": "a b"}),
        json!({"content": "x", "key": "task:1"}),
        json!({"content": "x", "owner": "bad\nowner"}),
        json!({"content": "x", "colour": "red"}),
        json!(["content"]),
    ] {
        let (st, v) = s.post("/api/memory", &bad).await?;
        assert_eq!(st, 422, "{b}: {bad} → {v}");
        assert_eq!(v["error"]["code"], "invalid_request", "{b}: {v}");
    }
    let r = s
        .http
        .post(format!("{}/api/memory", s.relay.url))
        .bearer_auth(API_KEY)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await?;
    assert_eq!(r.status(), 422);
    for bad in [
        json!({}),
        json!({"query": 5}),
        json!({"query": "x", "limit": 0}),
        json!({"query": "x", "limit": 1000}),
        json!({"query": "x", "filters": {"importance": 3}}),
    ] {
        let (st, v) = s.post("/api/memory/search", &bad).await?;
        assert_eq!(st, 422, "{b}: {bad} → {v}");
    }
    for path in [
        "/api/memory/recall",
        "/api/memory?limit=abc",
        "/api/memory?limit=0",
    ] {
        let (st, _) = s.get(path).await?;
        assert_eq!(st, 422, "{b}: {path}");
    }
    assert_eq!(
        count(s).await?,
        before,
        "{b}: rejected input wrote something"
    );

    // Auth.
    let r = s
        .http
        .get(format!("{}/api/memory", s.relay.url))
        .send()
        .await?;
    assert_eq!(r.status(), 401);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn memory_rest_on_sqlite() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let _logs = LogsOnPanic(dir.path().to_path_buf());
    let s = MemoryStack::start(dir.path(), "sqlite", None).await?;
    suite(&s).await
}

#[tokio::test(flavor = "multi_thread")]
async fn memory_rest_on_holographic() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let _logs = LogsOnPanic(dir.path().to_path_buf());
    let s = MemoryStack::start(dir.path(), "holographic", None).await?;
    suite(&s).await?;
    assert!(s.hermes_home.join("memory_store.db").exists());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn memory_rest_on_spacetimedb() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let _logs = LogsOnPanic(dir.path().to_path_buf());
    let mut s = MemoryStack::start(dir.path(), "spacetimedb", None).await?;
    suite(&s).await?;
    let stdb = s.stdb.as_ref().expect("spacetimedb stack");

    // The stored memory is a plain row of the module's table.
    let m = s
        .store(
            json!({"content": "relay memories are rows", "category": "sqlcheck", "importance": 6}),
        )
        .await?;
    let rows = stdb
        .sql(DB, "SELECT key, category, value, source, importance, created_at FROM memory_entry WHERE category = 'sqlcheck'")
        .await?;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["key"], m["key"]);
    assert_eq!(rows[0]["value"], "relay memories are rows");
    assert_eq!(rows[0]["source"], "hermes-optx-api");
    assert_eq!(rows[0]["importance"], 6);

    // Rows written by another client reach the index through the subscription; the old
    // bridge's task rows in the same table are not memories.
    stdb.call_ok(
        DB,
        "put_memory",
        json!([
            "cli:1",
            "general",
            "written by the spacetime cli about quokkas",
            "cli",
            "",
            4,
            "",
            "",
            0
        ]),
    )
    .await?;
    stdb.call_ok(
        DB,
        "store_memory",
        json!([
            "task",
            "task:abc123",
            "{\"title\":\"quokka task\"}",
            "hermes-optx-api",
            "unassigned",
            5,
            ""
        ]),
    )
    .await?;
    let hit = optx_harness::eventually(10, || async {
        let r = s.search("quokka", 10).await.ok()?;
        (!r.is_empty()).then_some(r)
    })
    .await
    .expect("a row from another client becomes searchable");
    assert_eq!(ids(&hit).len(), 1, "{hit:?}");
    assert_eq!(hit[0]["key"], "cli:1");
    let (_, v) = s.get("/api/memory?category=task").await?;
    assert_eq!(v["total"], 0, "{v}");
    stdb.call_ok(DB, "delete_memory", json!(["cli:1"])).await?;
    let gone = optx_harness::eventually(10, || async {
        s.search("quokka", 10).await.ok()?.is_empty().then_some(())
    })
    .await;
    assert!(
        gone.is_some(),
        "a delete by another client leaves the index"
    );

    // After a SpacetimeDB restart the relay resubscribes and the index is rebuilt from scratch.
    let before = count(&s).await?;
    s.stdb.as_mut().expect("stdb").restart().await?;
    let resubscribed = optx_harness::eventually(30, || async {
        let (_, h) = s.get("/health").await.ok()?;
        let db = &h["spacetimedb"];
        (db["reconnects"].as_u64() >= Some(1) && db["subscribed"] == true).then_some(())
    })
    .await;
    assert!(resubscribed.is_some(), "relay reconnected to SpacetimeDB");
    let back = optx_harness::eventually(30, || async {
        let hits = s.search("relay memories rows", 5).await.ok()?;
        (!hits.is_empty()).then_some(hits)
    })
    .await
    .expect("search works again after the relay reconnects");
    assert_eq!(back[0]["content"], "relay memories are rows");
    assert_eq!(count(&s).await?, before, "index rebuilt without duplicates");
    assert!(s.search("hedgehog", 10).await?.is_empty());
    Ok(())
}
