//! `docs/schema.md` stays true: every table, column and reducer of the live module is documented,
//! and every ```sql block in it runs (as an `analyst`) against the live module with sample data.

use optx_harness::stdb::Spacetime;
use serde_json::{json, Value};

const DB: &str = "optx-cortex";

fn doc() -> String {
    std::fs::read_to_string(optx_harness::workspace_root().join("docs/schema.md"))
        .expect("docs/schema.md exists")
}

/// The contents of every ```sql fenced block, one statement each.
fn sql_blocks(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for line in text.lines() {
        match (&mut cur, line.trim()) {
            (None, "```sql") => cur = Some(String::new()),
            (Some(q), "```") => {
                out.push(q.trim().to_string());
                cur = None;
            }
            (Some(q), _) => {
                q.push_str(line);
                q.push('\n');
            }
            _ => {}
        }
    }
    out
}

/// The text of the `### `name`` section (up to the next heading).
fn section<'a>(text: &'a str, table: &str) -> Option<&'a str> {
    let start = text.find(&format!("### `{table}`"))?;
    let rest = &text[start + 4..];
    let end = rest.find("\n#").unwrap_or(rest.len());
    Some(&rest[..end])
}

fn task(id: &str, deps: &[&str]) -> Value {
    json!({
        "id": id, "title": format!("Task {id}"), "description": "", "priority": 5,
        "reward_amount": 0, "reward_token": "", "capabilities": [], "validation_mode": "",
        "assigned_agent": "", "gaze_required": false, "max_attempts": 0, "parent_task_id": "",
        "deadline_us": 0, "depends_on": deps,
    })
}

#[test]
fn docs_have_enough_sql() {
    let blocks = sql_blocks(&doc());
    assert!(blocks.len() >= 10, "only {} sql blocks", blocks.len());
    for q in &blocks {
        assert!(!q.contains(';'), "one statement per block: {q}");
        assert!(
            !q.to_uppercase().contains("ORDER BY"),
            "1.2 has no ORDER BY: {q}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn schema_doc_matches_the_live_module() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let stdb = Spacetime::start(dir.path()).await?;
    stdb.publish(DB).await?;
    let _logs = optx_harness::LogsOnPanic(dir.path().to_path_buf());
    let text = doc();

    // Every table, column and reducer is named in the doc.
    let schema: Value = reqwest::get(format!("{}/v1/database/{DB}/schema?version=9", stdb.url))
        .await?
        .json()
        .await?;
    let schema = schema.get("V9").unwrap_or(&schema);
    let types = schema["typespace"]["types"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let tables = schema["tables"].as_array().cloned().unwrap_or_default();
    assert!(tables.len() >= 15, "{} tables", tables.len());
    for t in &tables {
        let name = t["name"].as_str().unwrap_or_default();
        let sec = section(&text, name)
            .ok_or_else(|| anyhow::anyhow!("docs/schema.md has no section for table {name}"))?;
        let r = t["product_type_ref"].as_u64().unwrap_or(u64::MAX) as usize;
        let cols = types
            .get(r)
            .and_then(|ty| ty.pointer("/Product/elements"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        assert!(!cols.is_empty(), "no columns for {name}");
        for c in cols {
            let col = c
                .pointer("/name/some")
                .and_then(Value::as_str)
                .unwrap_or("?");
            assert!(
                sec.contains(&format!("`{col}`")),
                "docs/schema.md: column {name}.{col} is not documented"
            );
        }
    }
    for r in schema["reducers"].as_array().cloned().unwrap_or_default() {
        let name = r["name"].as_str().unwrap_or_default();
        assert!(
            text.contains(&format!("`{name}`")),
            "reducer {name} not documented"
        );
    }

    // Sample data for the queries.
    let relay = stdb.new_identity().await?;
    stdb.authorize(DB, &relay.identity, "relay").await?;
    let oracle = stdb.new_identity().await?;
    stdb.authorize(DB, &oracle.identity, "gaze_oracle").await?;
    let analyst = stdb.new_identity().await?;
    stdb.authorize(DB, &analyst.identity, "analyst").await?;
    let r = &relay.token;
    stdb.call_as_ok(DB, r, "create_task", json!([task("t-a", &[])]))
        .await?;
    stdb.call_as_ok(DB, r, "create_task", json!([task("job-1", &[])]))
        .await?;
    stdb.call_as_ok(
        DB,
        r,
        "create_swarm",
        json!([
            "sw-1",
            "Ship it",
            "sequential",
            [
                task("sw1-a", &[]),
                task("sw1-b", &[]),
                task("sw1-c", &["t-a"])
            ]
        ]),
    )
    .await?;
    stdb.call_as_ok(DB, r, "claim_task", json!(["t-a", "bee", []]))
        .await?;
    stdb.call_as_ok(DB, r, "credit_wallet", json!(["alice", "USD", 1_000_000]))
        .await?;
    stdb.call_as_ok(
        DB,
        r,
        "reserve_call",
        json!(["c-1", "alice", "m", 100, 100]),
    )
    .await?;
    stdb.call_as_ok(DB, r, "settle_call", json!(["c-1", 150, 420, 700]))
        .await?;
    stdb.call_as_ok(
        DB,
        r,
        "reserve_call",
        json!(["c-2", "alice", "m", 100, 100]),
    )
    .await?;
    stdb.call_as_ok(
        DB,
        r,
        "create_escrow",
        json!(["e-1", "job-1", "alice", "bob", 1000, "USD", false, 600]),
    )
    .await?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_micros() as i64;
    stdb.call_as_ok(
        DB,
        &oracle.token,
        "record_gaze_attestation",
        json!(["bee", "gs-1", now, now + 60_000_000, 9000]),
    )
    .await?;
    stdb.call_as_ok(
        DB,
        r,
        "use_payment_credential",
        json!([
            "ch-1",
            "challenge",
            "did:example:payer",
            100000,
            "USD",
            "POST /v1/chat"
        ]),
    )
    .await?;

    let blocks = sql_blocks(&text);
    let mut with_rows = 0;
    for q in &blocks {
        let rows = stdb
            .sql_as(DB, &analyst.token, q)
            .await
            .map_err(|e| anyhow::anyhow!("documented query failed: {q}\n{e}"))?;
        if !rows.is_empty() {
            with_rows += 1;
        }
    }
    assert!(
        with_rows >= 10,
        "only {with_rows} of {} queries returned rows",
        blocks.len()
    );
    Ok(())
}
