//! Interop of the holographic backend with the real Hermes 0.17 gateway (holographic memory
//! provider, numpy in its venv) sharing one HERMES_HOME: a fact stored through the relay is
//! returned by the agent's own `fact_store` search, a fact the agent adds is returned by the
//! relay's search, a relay delete hides it from Hermes, and the HRR vector the relay wrote is
//! byte-identical to Hermes's own `encode_fact` (numpy's portable loops).

use optx_harness::fake_llm::FakeLlm;
use optx_harness::hermes::{config_yaml_holographic, Hermes};
use optx_harness::memory::MemoryStack;
use optx_harness::{free_port, LogsOnPanic};
use serde_json::{json, Value};

/// Makes the agent call `fact_store` with `args` (through the fake model) and returns the tool
/// result Hermes handed back to the model, parsed.
async fn fact_store(hermes: &Hermes, llm: &FakeLlm, args: Value) -> anyhow::Result<Value> {
    let before = llm.requests().await?.len();
    let r = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", hermes.url))
        .bearer_auth(&hermes.key)
        .json(&json!({"model": "hermes-agent",
                      "messages": [{"role": "user", "content": format!("CALL_TOOL:fact_store {args}")}]}))
        .send()
        .await?;
    anyhow::ensure!(r.status() == 200, "hermes chat: {}", r.text().await?);
    let reqs = llm.requests().await?;
    let offered: Vec<Value> = reqs
        .get(before)
        .and_then(|q| q.pointer("/body/tools"))
        .and_then(Value::as_array)
        .map(|t| t.iter().map(|t| t["function"]["name"].clone()).collect())
        .unwrap_or_default();
    let tool_msg = reqs[before..]
        .iter()
        .filter_map(|q| q.pointer("/body/messages").and_then(Value::as_array))
        .flat_map(|m| m.iter())
        .find(|m| m["role"] == "tool")
        .cloned()
        .ok_or_else(|| {
            anyhow::anyhow!("no tool result reached the model; tools offered: {offered:?}")
        })?;
    let text = tool_msg["content"].as_str().unwrap_or_default();
    Ok(serde_json::from_str(text).unwrap_or(Value::String(text.to_string())))
}

/// Runs Hermes's own `encode_fact` (in its venv's Python, numpy's portable loops) for every fact
/// and reports, per fact id, whether the stored vector is byte-identical and the largest
/// difference.
fn hermes_recompute(db: &std::path::Path) -> anyhow::Result<Value> {
    let python = optx_harness::env_path("OPTX_HERMES_BIN").with_file_name("python");
    let script = r#"
import json, sqlite3, sys
from plugins.memory.holographic import holographic as hrr
db = sqlite3.connect(sys.argv[1])
out = {}
for fid, content, blob in db.execute("SELECT fact_id, content, hrr_vector FROM facts"):
    ents = [r[0] for r in db.execute("SELECT e.name FROM entities e JOIN fact_entities fe ON fe.entity_id = e.entity_id WHERE fe.fact_id = ?", (fid,))]
    v = hrr.encode_fact(content, ents, 1024)
    if blob is None:
        out[str(fid)] = {"equal": False, "max_diff": None}
        continue
    mine = hrr.bytes_to_phases(blob)
    out[str(fid)] = {"equal": v.tobytes() == blob, "max_diff": float(abs(v - mine).max()), "entities": ents}
print(json.dumps(out))
"#;
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(db)
        // numpy's AVX-512 arctan2 (SVML) differs from libm by ≤ 1 ulp; compare with the portable
        // loops, which Hermes uses on machines without AVX-512.
        .env("NPY_DISABLE_CPU_FEATURES", "X86_V4")
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "python: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(serde_json::from_slice(&out.stdout)?)
}

#[tokio::test(flavor = "multi_thread")]
async fn holographic_facts_cross_between_relay_and_hermes() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let _logs = LogsOnPanic(dir.path().to_path_buf());
    let llm = FakeLlm::start(env!("CARGO_BIN_EXE_fake-llm").as_ref(), dir.path()).await?;
    let key = format!("k{:016x}", rand::random::<u64>());
    let hermes = Hermes::start_with_config(
        dir.path(),
        &config_yaml_holographic(&llm.url),
        free_port(),
        &key,
    )
    .await?;
    let s = MemoryStack::start(
        dir.path(),
        "holographic",
        Some((&hermes.url, &hermes.key, &hermes.home)),
    )
    .await?;

    // Relay → Hermes.
    let content = "The Zanzibar cluster keeps deploy keys in \"Vaultwarden\" for Alice Smith";
    let m = s
        .store(json!({"content": content, "category": "project", "importance": 0.8}))
        .await?;
    let fact_id: i64 = m["id"].as_str().unwrap().parse()?;
    let found = fact_store(
        &hermes,
        &llm,
        json!({"action": "search", "query": "Zanzibar deploy keys"}),
    )
    .await?;
    let hits = found["results"].as_array().cloned().unwrap_or_default();
    assert!(
        hits.iter()
            .any(|h| h["fact_id"] == fact_id && h["content"] == content),
        "Hermes's fact_store search misses the relay's fact: {found}"
    );
    let probe = fact_store(
        &hermes,
        &llm,
        json!({"action": "probe", "entity": "Alice Smith"}),
    )
    .await?;
    assert_eq!(
        probe["results"][0]["fact_id"], fact_id,
        "probe by entity: {probe}"
    );

    // Hermes → relay.
    let added = fact_store(
        &hermes,
        &llm,
        json!({"action": "add", "content": "Quokka pipelines run nightly at 03:00 UTC", "category": "project"}),
    )
    .await?;
    let hermes_id = added["fact_id"].as_i64().expect("fact_id from Hermes");
    let results = s.search("when do the quokka pipelines run", 5).await?;
    assert_eq!(
        results.first().map(|r| r["id"].clone()),
        Some(json!(hermes_id.to_string())),
        "{results:?}"
    );
    assert_eq!(
        results[0]["content"],
        "Quokka pipelines run nightly at 03:00 UTC"
    );
    assert_eq!(results[0]["trust"], 0.5);
    let (st, one) = s.get(&format!("/api/memory/{hermes_id}")).await?;
    assert_eq!(
        (st, &one["key"]),
        (200, &json!(format!("fact:{hermes_id}")))
    );

    // HRR vectors: the relay's is byte-identical to Hermes's encode_fact; Hermes's own (written by
    // the gateway, maybe through AVX-512) agrees to within a few ulp.
    let check = hermes_recompute(&s.hermes_home.join("memory_store.db"))?;
    let mine = &check[fact_id.to_string()];
    assert_eq!(
        mine["equal"], true,
        "relay HRR vector differs from Hermes: {check}"
    );
    assert_eq!(
        mine["entities"],
        json!(["The Zanzibar", "Alice Smith", "Vaultwarden"])
    );
    let theirs = &check[hermes_id.to_string()];
    assert!(
        theirs["max_diff"].as_f64().is_some_and(|d| d < 1e-12),
        "Hermes wrote no HRR vector (numpy missing in its venv?): {check}"
    );

    // A relay delete is seen by Hermes.
    let (st, _) = s.delete(&format!("/api/memory/{fact_id}")).await?;
    assert_eq!(st, 200);
    let after = fact_store(
        &hermes,
        &llm,
        json!({"action": "search", "query": "Zanzibar deploy keys"}),
    )
    .await?;
    assert_eq!(after["count"], 0, "{after}");
    Ok(())
}
