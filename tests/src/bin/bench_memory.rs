//! `bench-memory`: store and search latency of `/api/memory` per backend at growing sizes.
//!
//! `bench-memory [--backends spacetimedb,holographic,sqlite] [--sizes 1000,10000,100000]
//!               [--samples 200]`
//!
//! For each backend it starts a fresh stack (the relay from `OPTX_RELAY_BIN`, plus SpacetimeDB
//! for `spacetimedb`; same env vars as the tests), grows the store to each size with synthetic
//! memories (16 concurrent writers), then times `samples` single stores and `samples` searches
//! one at a time and prints p50/p99 in milliseconds. Figures only; nothing is asserted.

use futures::StreamExt;
use optx_harness::memory::MemoryStack;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::time::Instant;

const SYLLABLES: [&str; 24] = [
    "ka", "lo", "mi", "ren", "tor", "ux", "pa", "sel", "vin", "dra", "qu", "est", "no", "bri",
    "fal", "gor", "hu", "jin", "ket", "lum", "mor", "nix", "ol", "zed",
];

/// A deterministic vocabulary of `n` pseudo-words.
fn vocabulary(n: usize) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(7);
    let mut words = std::collections::BTreeSet::new();
    while words.len() < n {
        let k = rng.gen_range(2..=4);
        let w: String = (0..k)
            .map(|_| SYLLABLES[rng.gen_range(0..SYLLABLES.len())])
            .collect();
        words.insert(w);
    }
    words.into_iter().collect()
}

/// A word index with a Zipf-like skew (common words are common).
fn zipf(rng: &mut StdRng, n: usize) -> usize {
    let u: f64 = rng.gen_range(0.0..1.0);
    ((n as f64).powf(u) as usize).saturating_sub(1).min(n - 1)
}

fn sentence(rng: &mut StdRng, vocab: &[String], words: usize) -> String {
    (0..words)
        .map(|_| vocab[zipf(rng, vocab.len())].as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_string())
}

async fn grow(
    s: &MemoryStack,
    from: usize,
    to: usize,
    rng: &mut StdRng,
    vocab: &[String],
) -> anyhow::Result<()> {
    let bodies: Vec<serde_json::Value> = (from..to)
        .map(|i| {
            let category = ["general", "project", "ops", "user_pref"][i % 4];
            json!({
                "content": format!("{} {i}", sentence(rng, vocab, 12)),
                "category": category,
                "importance": 1 + (i % 10),
            })
        })
        .collect();
    let mut stream = futures::stream::iter(bodies)
        .map(|b| async move { s.store(b).await })
        .buffer_unordered(16);
    while let Some(r) = stream.next().await {
        r?;
    }
    Ok(())
}

async fn bench_backend(backend: &str, sizes: &[usize], samples: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let s = MemoryStack::start(dir.path(), backend, None).await?;
    let vocab = vocabulary(5000);
    let mut rng = StdRng::seed_from_u64(42);
    let mut have = 0usize;
    for &n in sizes {
        let t = Instant::now();
        grow(&s, have, n, &mut rng, &vocab).await?;
        let fill_s = t.elapsed().as_secs_f64();
        let filled = n - have;
        have = n;
        let mut store_ms = Vec::with_capacity(samples);
        for i in 0..samples {
            let body = json!({"content": format!("{} sample {i}", sentence(&mut rng, &vocab, 12))});
            let t = Instant::now();
            s.store(body).await?;
            store_ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
        have += samples;
        let mut search_ms = Vec::with_capacity(samples);
        let mut hits = 0usize;
        for _ in 0..samples {
            let q = sentence(&mut rng, &vocab, 2);
            let t = Instant::now();
            let r = s.search(&q, 10).await?;
            search_ms.push(t.elapsed().as_secs_f64() * 1e3);
            hits += usize::from(!r.is_empty());
        }
        store_ms.sort_by(f64::total_cmp);
        search_ms.sort_by(f64::total_cmp);
        println!(
            "{backend:<12} n={n:<7} store p50={:>7.2}ms p99={:>7.2}ms | search p50={:>7.2}ms p99={:>7.2}ms \
             | queries with hits {hits}/{samples} | fill {filled} in {fill_s:.1}s ({:.0}/s, 16 writers)",
            pct(&store_ms, 0.5),
            pct(&store_ms, 0.99),
            pct(&search_ms, 0.5),
            pct(&search_ms, 0.99),
            filled as f64 / fill_s.max(1e-9),
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let backends = arg("--backends", "spacetimedb,holographic,sqlite");
    let sizes: Vec<usize> = arg("--sizes", "1000,10000,100000")
        .split(',')
        .map(|s| s.trim().parse())
        .collect::<Result<_, _>>()?;
    let samples: usize = arg("--samples", "200").parse()?;
    for b in backends.split(',') {
        bench_backend(b.trim(), &sizes, samples).await?;
    }
    Ok(())
}
