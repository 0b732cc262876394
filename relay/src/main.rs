//! `hermes-optx-api`: the relay binary. Builds the configuration, the upstream client and probe,
//! the SpacetimeDB store, and serves the HTTP surface until Ctrl-C / SIGTERM.

mod auth;
mod config;
mod error;
mod hermes_files;
mod memory;
mod routes;
mod services;
mod state;
mod store;
mod stream;
mod upstream;

use axum::serve::ListenerExt;
use clap::Parser;
use config::Config;
use state::AppState;
use std::sync::Arc;

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,spacetimedb_sdk=warn".into()),
        )
        .init();
    let config = Arc::new(Config::parse());
    tracing::info!(?config, "starting hermes-optx-api {}", routes_version());

    let upstream = upstream::Upstream::new(
        config.hermes_url(),
        config.hermes_api_key.clone(),
        config.upstream_timeout(),
    )?;
    let probe = upstream::probe::Probe::new(upstream.clone());
    let caps = probe.refresh().await;
    tracing::info!(mode = ?caps.mode, version = %caps.version, "upstream probed");
    probe.spawn_refresh_loop(config.probe_interval());

    let store = config.spacetimedb_url.clone().map(|url| {
        store::Store::start(
            url,
            config.spacetimedb_db.clone(),
            config.spacetimedb_token.clone(),
        )
    });

    let memory = memory::build(&config, store.as_ref())?;
    tracing::info!(backend = memory.name(), "memory backend ready");

    let state = AppState {
        config: config.clone(),
        upstream,
        probe,
        store,
        streams: Arc::new(tokio::sync::Semaphore::new(config.max_streams.max(1))),
        hermes_home: hermes_files::HermesHome::new(config.hermes_home_dir()),
        memory,
    };
    let app = routes::router(state);
    let listener = tokio::net::TcpListener::bind((config.host.as_str(), config.port)).await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    // Streams are many small writes: without TCP_NODELAY, Nagle + delayed ACK add ~40 ms.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "could not set TCP_NODELAY");
        }
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

fn routes_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
