//! Measures reducer throughput through the Rust SDK: `create_task` and `settle_call`, pipelined
//! (N calls in flight, then wait for all outcomes) and one at a time (wait for each outcome).
//!
//! `bench-reducers [--n N] [--url URL --db NAME --token TOKEN]`. Without `--url` it starts its own
//! SpacetimeDB 1.2 (needs `OPTX_STDB_BIN_DIR`, `OPTX_MODULE_WASM`), publishes the module and uses
//! an identity authorized as `relay`. With `--url`, the token must be an owner's or a relay's.

use optx_client_bindings::spacetimedb_sdk::{Compression, DbContext, Status};
use optx_client_bindings::*;
use optx_harness::stdb::Spacetime;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const DB: &str = "optx-cortex";

struct Args {
    n: usize,
    url: Option<String>,
    db: String,
    token: Option<String>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut a = Args {
        n: 2000,
        url: None,
        db: DB.to_string(),
        token: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || {
            it.next()
                .ok_or_else(|| anyhow::anyhow!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--n" => a.n = val()?.parse()?,
            "--url" => a.url = Some(val()?),
            "--db" => a.db = val()?,
            "--token" => a.token = Some(val()?),
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    Ok(a)
}

fn new_task(id: String) -> NewTask {
    NewTask {
        id,
        title: "bench task".into(),
        description: String::new(),
        priority: 5,
        reward_amount: 0,
        reward_token: String::new(),
        capabilities: vec![],
        validation_mode: String::new(),
        assigned_agent: String::new(),
        gaze_required: false,
        max_attempts: 0,
        parent_task_id: String::new(),
        deadline_us: 0,
        depends_on: vec![],
    }
}

/// Outcomes of our own calls, in completion order: `Ok(())` or the failure text.
type Outcomes = mpsc::UnboundedReceiver<Result<(), String>>;

fn outcome(status: &Status) -> Result<(), String> {
    match status {
        Status::Committed => Ok(()),
        Status::Failed(m) => Err(m.to_string()),
        Status::OutOfEnergy => Err("out of energy".into()),
    }
}

async fn wait(rx: &mut Outcomes, n: usize) -> anyhow::Result<()> {
    for _ in 0..n {
        match tokio::time::timeout(Duration::from_secs(60), rx.recv()).await {
            Ok(Some(Ok(()))) => {}
            Ok(Some(Err(e))) => anyhow::bail!("reducer failed: {e}"),
            Ok(None) => anyhow::bail!("connection closed"),
            Err(_) => anyhow::bail!("no outcome within 60 s"),
        }
    }
    Ok(())
}

fn report(what: &str, n: usize, t: Duration) {
    let secs = t.as_secs_f64();
    println!(
        "{what:<34} n={n:<6} {:>8.0} calls/s   {:>7.3} ms/call",
        n as f64 / secs,
        secs * 1000.0 / n as f64
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let dir = tempfile::tempdir()?;
    let (_server, url, token) = match (&args.url, &args.token) {
        (Some(url), Some(token)) => (None, url.clone(), token.clone()),
        (Some(_), None) => anyhow::bail!("--url needs --token"),
        _ => {
            let stdb = Spacetime::start(dir.path()).await?;
            stdb.publish(&args.db).await?;
            let relay = stdb.new_identity().await?;
            stdb.authorize(&args.db, &relay.identity, "relay").await?;
            let url = stdb.url.clone();
            (Some(stdb), url, relay.token)
        }
    };

    let conn = DbConnection::builder()
        .with_uri(url.as_str())
        .with_module_name(args.db.clone())
        .with_token(Some(token))
        .with_compression(Compression::None)
        .build()?;
    let (create_tx, mut creates) = mpsc::unbounded_channel();
    let (settle_tx, mut settles) = mpsc::unbounded_channel();
    let (reserve_tx, mut reserves) = mpsc::unbounded_channel();
    let (credit_tx, mut credits) = mpsc::unbounded_channel();
    conn.reducers.on_create_task(move |ctx, _| {
        let _ = create_tx.send(outcome(&ctx.event.status));
    });
    conn.reducers.on_settle_call(move |ctx, _, _, _, _| {
        let _ = settle_tx.send(outcome(&ctx.event.status));
    });
    conn.reducers.on_reserve_call(move |ctx, _, _, _, _, _| {
        let _ = reserve_tx.send(outcome(&ctx.event.status));
    });
    conn.reducers.on_credit_wallet(move |ctx, _, _, _| {
        let _ = credit_tx.send(outcome(&ctx.event.status));
    });
    let conn = std::sync::Arc::new(conn);
    let runner = conn.clone();
    let run = tokio::spawn(async move { runner.run_async().await });

    let n = args.n;
    let run_id = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();
    println!("bench-reducers against {url} db {} (n = {n})", args.db);

    // create_task
    let t = Instant::now();
    for i in 0..n {
        conn.reducers
            .create_task(new_task(format!("bench-{run_id}-p{i}")))?;
    }
    wait(&mut creates, n).await?;
    report("create_task pipelined", n, t.elapsed());
    let t = Instant::now();
    for i in 0..n {
        conn.reducers
            .create_task(new_task(format!("bench-{run_id}-s{i}")))?;
        wait(&mut creates, 1).await?;
    }
    report("create_task one at a time", n, t.elapsed());

    // settle_call: fund one account, reserve 2n calls (untimed), settle them
    let account = format!("bench-{run_id}");
    conn.reducers
        .credit_wallet(account.clone(), "USD".into(), 1_000_000_000_000)?;
    wait(&mut credits, 1).await?;
    let t = Instant::now();
    for i in 0..2 * n {
        conn.reducers.reserve_call(
            format!("bench-{run_id}-c{i}"),
            account.clone(),
            "bench-model".into(),
            2000,
            1000,
        )?;
    }
    wait(&mut reserves, 2 * n).await?;
    report("reserve_call pipelined", 2 * n, t.elapsed());
    let t = Instant::now();
    for i in 0..n {
        conn.reducers
            .settle_call(format!("bench-{run_id}-c{i}"), 150, 420, 800)?;
    }
    wait(&mut settles, n).await?;
    report("settle_call pipelined", n, t.elapsed());
    let t = Instant::now();
    for i in n..2 * n {
        conn.reducers
            .settle_call(format!("bench-{run_id}-c{i}"), 150, 420, 800)?;
        wait(&mut settles, 1).await?;
    }
    report("settle_call one at a time", n, t.elapsed());

    conn.disconnect()?;
    let _ = tokio::time::timeout(Duration::from_secs(5), run).await;
    Ok(())
}
