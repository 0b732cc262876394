//! The connection loop: connect with the relay's token, register outcome callbacks, subscribe,
//! drive the connection, and on any disconnect (the 1.2 SDK has no reconnect) start over with
//! backoff. Reducer calls made while disconnected fail fast with `Unavailable`.

use super::pending::{Outcome, Pending};
use super::{Inner, Live};
use optx_client_bindings::*;
use spacetimedb_sdk::{Compression, DbContext, Status, Table, TableWithPrimaryKey};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// Tables the relay reads from its cache.
const SUBSCRIPTIONS: [&str; 3] = [
    "SELECT * FROM chat_session",
    "SELECT * FROM memory_entry",
    "SELECT * FROM access_grant",
];

fn outcome(status: &Status) -> Outcome {
    match status {
        Status::Committed => Ok(()),
        Status::Failed(msg) => Err(msg.to_string()),
        Status::OutOfEnergy => Err("E_UNAVAILABLE: module out of energy".to_string()),
    }
}

fn is_mine(ctx: &ReducerEventContext) -> bool {
    ctx.event.caller_identity == ctx.identity()
        && ctx.event.caller_connection_id == Some(ctx.connection_id())
}

/// Registers, for every reducer the relay calls, a callback that hands our own outcomes to the
/// waiting caller.
macro_rules! correlate {
    ($conn:expr, $pending:expr, $( $on:ident => $name:literal ( $($arg:ident),* ) ),* $(,)?) => {
        $(
            let p = $pending.clone();
            $conn.reducers.$on(move |ctx, $($arg),*| {
                $( let _ = $arg; )*
                if is_mine(ctx) {
                    p.complete($name, outcome(&ctx.event.status));
                }
            });
        )*
    };
}

fn register_outcomes(conn: &DbConnection, pending: &Arc<Pending>) {
    correlate!(conn, pending,
        on_open_session => "open_session"(a, b, c, d, e, f, g),
        on_record_session_turn => "record_session_turn"(a, b, c, d, e, f),
        on_update_session => "update_session"(a, b, c, d),
        on_close_session => "close_session"(a, b),
        on_delete_session => "delete_session"(a),
        on_store_memory => "store_memory"(a, b, c, d, e, f, g),
        on_put_memory => "put_memory"(a, b, c, d, e, f, g, h, i),
        on_delete_memory => "delete_memory"(a),
        on_touch_memory => "touch_memory"(a),
    );
}

/// Keeps every memory observer (the search index) in step with the `memory_entry` cache: reset
/// for the new connection, then every insert, update and delete as the SDK applies it.
fn register_memory_observers(conn: &DbConnection, inner: &Arc<Inner>) {
    let each = |inner: &Inner, f: &dyn Fn(&dyn super::memory::MemoryRowObserver)| {
        if let Ok(obs) = inner.memory_observers.read() {
            for o in obs.iter() {
                f(o.as_ref());
            }
        }
    };
    each(inner, &|o| o.reset());
    let i = inner.clone();
    conn.db
        .memory_entry()
        .on_insert(move |_ctx, row| each(&i, &|o| o.upsert(row)));
    let i = inner.clone();
    conn.db
        .memory_entry()
        .on_update(move |_ctx, _old, row| each(&i, &|o| o.upsert(row)));
    let i = inner.clone();
    conn.db
        .memory_entry()
        .on_delete(move |_ctx, row| each(&i, &|o| o.remove(row)));
}

fn set_status(inner: &Inner, f: impl FnOnce(&mut super::StoreStatus)) {
    if let Ok(mut s) = inner.status.write() {
        f(&mut s);
    }
}

/// One connection's life: returns when it is gone.
async fn connect_once(inner: &Arc<Inner>) -> Result<(), String> {
    let (gone_tx, gone_rx) = oneshot::channel::<Option<String>>();
    let token = inner.token.read().ok().and_then(|t| t.clone());
    let on_connect_inner = inner.clone();
    let conn = DbConnection::builder()
        .with_uri(inner.url.as_str())
        .with_module_name(inner.database.clone())
        .with_token(token)
        .with_compression(Compression::None)
        .on_connect(move |_conn, identity, token| {
            if let Ok(mut t) = on_connect_inner.token.write() {
                if t.is_none() {
                    tracing::warn!(
                        %identity,
                        "no SPACETIMEDB_TOKEN given; the server minted an identity that must be authorized"
                    );
                }
                *t = Some(token.to_string());
            }
            set_status(&on_connect_inner, |s| s.identity = Some(identity.to_hex().to_string()));
        })
        .on_disconnect(move |_ctx, err| {
            let _ = gone_tx.send(err.map(|e| e.to_string()));
        })
        .build()
        .map_err(|e| format!("connect failed: {e}"))?;

    let pending = Arc::new(Pending::default());
    register_outcomes(&conn, &pending);
    register_memory_observers(&conn, inner);
    let sub_inner = inner.clone();
    let err_inner = inner.clone();
    conn.subscription_builder()
        .on_applied(move |_ctx| {
            set_status(&sub_inner, |s| s.subscribed = true);
            tracing::info!("SpacetimeDB subscription applied");
        })
        .on_error(move |_ctx, err| {
            tracing::error!(error = %err, "SpacetimeDB subscription failed");
            set_status(&err_inner, |s| {
                s.last_error = Some(format!("subscription: {err}"))
            });
        })
        .subscribe(SUBSCRIPTIONS);

    let conn = Arc::new(conn);
    let live = Arc::new(Live {
        conn: conn.clone(),
        pending: pending.clone(),
    });
    if let Ok(mut l) = inner.live.write() {
        *l = Some(live);
    }
    set_status(inner, |s| {
        s.connected = true;
        s.last_error = None;
    });
    tracing::info!(url = %inner.url, database = %inner.database, "connected to SpacetimeDB");

    let runner = conn.clone();
    let mut run = tokio::spawn(async move { runner.run_async().await });
    let reason = tokio::select! {
        r = gone_rx => r.ok().flatten(),
        r = &mut run => match r {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(e) => Some(format!("connection task ended: {e}")),
        },
    };
    run.abort();
    pending.close();
    if let Ok(mut l) = inner.live.write() {
        *l = None;
    }
    set_status(inner, |s| {
        s.connected = false;
        s.subscribed = false;
    });
    Err(reason.unwrap_or_else(|| "connection closed".to_string()))
}

/// Forever: connect, serve, and reconnect with capped exponential backoff.
pub(super) async fn run(inner: Arc<Inner>) {
    let mut backoff = Duration::from_millis(250);
    loop {
        let started = std::time::Instant::now();
        if let Err(reason) = connect_once(&inner).await {
            tracing::warn!(%reason, "SpacetimeDB connection lost; reconnecting");
            set_status(&inner, |s| {
                s.last_error = Some(reason);
                s.reconnects += 1;
            });
        }
        if started.elapsed() > Duration::from_secs(30) {
            backoff = Duration::from_millis(250);
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}
