//! `bench chat`: what the relay costs a chat stream, measured in one run on this machine.
//!
//! Starts the fake Hermes gateway and a relay (`OPTX_RELAY_BIN`, default the release build),
//! then measures, direct vs through the relay: time to first token (p50/p99 over sequential
//! requests), chunk throughput of one long stream, and N concurrent streams through the relay
//! (all must complete; relay RSS sampled while they are open). Prints a Markdown table.
//!
//! `cargo build --release -p hermes-optx-api -p optx-tests --bins &&
//!  target/release/bench chat [--requests 300] [--chunks 20000] [--streams 1000]`

use futures::StreamExt;
use optx_harness::fake_hermes::FakeHermes;
use optx_harness::relay::{Relay, RelayOptions};
use serde_json::json;
use std::time::{Duration, Instant};

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Sends one chat and returns (time to the first delta, number of deltas, total time).
async fn one(
    http: &reqwest::Client,
    url: &str,
    message: &str,
) -> anyhow::Result<(Duration, usize, Duration)> {
    let t0 = Instant::now();
    let resp = http
        .post(url)
        .header("Authorization", "Bearer k")
        .json(&json!({"message": message}))
        .send()
        .await?;
    anyhow::ensure!(resp.status() == 200, "status {}", resp.status());
    let mut body = resp.bytes_stream();
    let mut first = None;
    let mut deltas = 0;
    let mut carry = String::new();
    while let Some(chunk) = body.next().await {
        carry.push_str(&String::from_utf8_lossy(&chunk?));
        let n = carry.matches("event: assistant.delta\n").count();
        if n > 0 && first.is_none() {
            first = Some(t0.elapsed());
        }
        deltas += n;
        // keep a tail so a marker split across chunks is still counted once
        if let Some(i) = carry.rfind('\n') {
            carry = carry[i + 1..].to_string();
        }
    }
    Ok((first.unwrap_or_default(), deltas, t0.elapsed()))
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) != Some("chat") {
        eprintln!("usage: bench chat [--requests N] [--chunks N] [--streams N]");
        std::process::exit(2);
    }
    let requests = arg(&args, "--requests", 300);
    let chunks = arg(&args, "--chunks", 20_000);
    let streams = arg(&args, "--streams", 1000);
    if std::env::var_os("OPTX_RELAY_BIN").is_none() {
        let bin = optx_harness::workspace_root().join("target/release/hermes-optx-api");
        std::env::set_var("OPTX_RELAY_BIN", bin);
    }
    let dir = tempfile::tempdir()?;
    let fake_bin = std::env::current_exe()?.with_file_name("fake-hermes");
    let fake = FakeHermes::start(&fake_bin, dir.path(), &["--deltas", "5"]).await?;
    let relay = Relay::start(
        dir.path(),
        &RelayOptions {
            hermes_url: fake.url.clone(),
            hermes_api_key: Some("k".into()),
            env: vec![
                ("OPTX_MAX_STREAMS".into(), (streams * 2).to_string()),
                ("RUST_LOG".into(), "warn".into()),
            ],
            ..Default::default()
        },
    )
    .await?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(streams)
        .build()?;
    let direct = |sid: &str| format!("{}/api/sessions/{sid}/chat/stream", fake.url);
    let via = |sid: &str| format!("{}/api/sessions/{sid}/chat/stream?events=hermes", relay.url);

    // Warm both paths.
    for i in 0..20 {
        one(&http, &direct(&format!("w{i}")), "hi").await?;
        one(&http, &via(&format!("w{i}")), "hi").await?;
    }

    // 1. Time to first token, sequential.
    let (mut d, mut r) = (Vec::new(), Vec::new());
    for i in 0..requests {
        d.push(one(&http, &direct(&format!("d{i}")), "hi").await?.0);
        r.push(one(&http, &via(&format!("r{i}")), "hi").await?.0);
    }
    d.sort();
    r.sort();

    // 2. Throughput of one long stream.
    let msg = format!("DELTAS={chunks}");
    let (_, dn, dt) = one(&http, &direct("td"), &msg).await?;
    let (_, rn, rt) = one(&http, &via("tr"), &msg).await?;
    anyhow::ensure!(
        dn == chunks && rn == chunks,
        "lost chunks: direct {dn}, relay {rn}"
    );

    // 3. Concurrent streams through the relay: each 20 deltas 100 ms apart (~2 s open).
    let rss_idle = rss_kib(relay.proc.pid());
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..streams {
        let http = http.clone();
        let url = via(&format!("c{i}"));
        tasks.push(tokio::spawn(async move {
            one(&http, &url, "DELTAS=20 DELAY_MS=100").await
        }));
    }
    let pid = relay.proc.pid();
    let sampler = tokio::spawn(async move {
        let mut peak = 0;
        for _ in 0..40 {
            peak = peak.max(rss_kib(pid));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        peak
    });
    let mut ok = 0;
    for t in tasks {
        if let Ok(Ok((_, 20, _))) = t.await {
            ok += 1;
        }
    }
    let wall = t0.elapsed();
    let rss_peak = sampler.await?;

    let ms = |x: Duration| format!("{:.3}", x.as_secs_f64() * 1000.0);
    println!("| measure | direct | through relay |");
    println!("|---|---|---|");
    println!(
        "| time to first token p50 (ms, {requests} sequential) | {} | {} |",
        ms(pct(&d, 0.5)),
        ms(pct(&r, 0.5))
    );
    println!(
        "| time to first token p99 (ms) | {} | {} |",
        ms(pct(&d, 0.99)),
        ms(pct(&r, 0.99))
    );
    println!(
        "| one stream of {chunks} chunks (chunks/s) | {:.0} | {:.0} |",
        chunks as f64 / dt.as_secs_f64(),
        chunks as f64 / rt.as_secs_f64()
    );
    println!(
        "| {streams} concurrent streams completed | - | {ok}/{streams} in {:.1} s |",
        wall.as_secs_f64()
    );
    println!(
        "| relay RSS idle / peak during them (MiB) | - | {:.1} / {:.1} |",
        rss_idle as f64 / 1024.0,
        rss_peak as f64 / 1024.0
    );
    anyhow::ensure!(
        ok == streams,
        "only {ok} of {streams} concurrent streams completed"
    );
    Ok(())
}
