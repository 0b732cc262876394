//! Relevance of `/api/memory/search` per backend on the project's own set
//! (`tests/data/memory_relevance.json`: 220 memories, 50 queries with their expected hit).
//! Prints recall@5 and MRR@10 for each backend and asserts a floor, so a ranking regression
//! fails the build.

use optx_harness::memory::MemoryStack;
use optx_harness::LogsOnPanic;
use serde_json::{json, Value};

/// Floors (the figures at the time of writing are printed by the test and in the README).
const MIN_RECALL_AT_5: f64 = 0.8;
const MIN_MRR: f64 = 0.65;

struct Scores {
    recall_at_5: f64,
    mrr: f64,
}

async fn score(backend: &str) -> anyhow::Result<Scores> {
    let data: Value = serde_json::from_str(&std::fs::read_to_string(
        optx_harness::workspace_root().join("tests/data/memory_relevance.json"),
    )?)?;
    let dir = tempfile::tempdir()?;
    let _logs = LogsOnPanic(dir.path().to_path_buf());
    let s = MemoryStack::start(dir.path(), backend, None).await?;
    for m in data["memories"].as_array().unwrap() {
        s.store(json!({
            "key": format!("rel:{}", m["id"].as_str().unwrap()),
            "content": m["content"],
            "category": m["category"],
        }))
        .await?;
    }
    let queries = data["queries"].as_array().unwrap();
    let (mut hits5, mut rr) = (0.0, 0.0);
    for q in queries {
        let relevant: Vec<String> = q["relevant"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| format!("rel:{}", r.as_str().unwrap()))
            .collect();
        let results = s.search(q["query"].as_str().unwrap(), 10).await?;
        let keys: Vec<&str> = results.iter().filter_map(|r| r["key"].as_str()).collect();
        let found_in_5 = keys
            .iter()
            .take(5)
            .filter(|k| relevant.iter().any(|r| r == *k))
            .count();
        hits5 += found_in_5 as f64 / relevant.len() as f64;
        if let Some(rank) = keys.iter().position(|k| relevant.iter().any(|r| r == k)) {
            rr += 1.0 / (rank as f64 + 1.0);
        }
    }
    let n = queries.len() as f64;
    let sc = Scores {
        recall_at_5: hits5 / n,
        mrr: rr / n,
    };
    println!(
        "relevance {backend:<12} memories={} queries={} recall@5={:.3} MRR@10={:.3}",
        data["memories"].as_array().unwrap().len(),
        queries.len(),
        sc.recall_at_5,
        sc.mrr
    );
    Ok(sc)
}

async fn check(backend: &str) -> anyhow::Result<()> {
    let sc = score(backend).await?;
    assert!(
        sc.recall_at_5 >= MIN_RECALL_AT_5,
        "{backend}: recall@5 {:.3} < {MIN_RECALL_AT_5}",
        sc.recall_at_5
    );
    assert!(
        sc.mrr >= MIN_MRR,
        "{backend}: MRR {:.3} < {MIN_MRR}",
        sc.mrr
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn relevance_spacetimedb() -> anyhow::Result<()> {
    check("spacetimedb").await
}

#[tokio::test(flavor = "multi_thread")]
async fn relevance_holographic() -> anyhow::Result<()> {
    check("holographic").await
}

#[tokio::test(flavor = "multi_thread")]
async fn relevance_sqlite() -> anyhow::Result<()> {
    check("sqlite").await
}
