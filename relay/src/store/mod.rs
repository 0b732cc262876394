//! The only code that talks to SpacetimeDB: one SDK connection kept alive by a reconnect loop,
//! reads from its subscription cache, and reducer calls awaited to their outcome.

mod connection;
pub mod memory;
mod pending;
pub mod sessions;

use crate::error::ApiError;
use optx_client_bindings::DbConnection;
use pending::Pending;
use serde::Serialize;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// How long a reducer call may take before the caller gets a timeout.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not connected to SpacetimeDB")]
    Unavailable,
    #[error("SpacetimeDB did not answer in time")]
    Timeout,
    /// The reducer returned `Err` (text carries the module's `E_*` prefix).
    #[error("{0}")]
    Rejected(String),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable => ApiError::StoreUnavailable("not connected".into()),
            StoreError::Timeout => ApiError::StoreUnavailable("call timed out".into()),
            StoreError::Rejected(msg) => ApiError::from_module(&msg),
        }
    }
}

/// What `/health` reports about the database connection.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StoreStatus {
    pub url: String,
    pub database: String,
    pub connected: bool,
    pub subscribed: bool,
    pub identity: Option<String>,
    pub reconnects: u64,
    pub last_error: Option<String>,
}

pub(crate) struct Live {
    pub conn: Arc<DbConnection>,
    pub pending: Arc<Pending>,
}

#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub url: String,
    pub database: String,
    pub token: RwLock<Option<String>>,
    pub live: RwLock<Option<Arc<Live>>>,
    pub status: RwLock<StoreStatus>,
    pub memory_observers: RwLock<Vec<Arc<dyn memory::MemoryRowObserver>>>,
}

impl Store {
    /// Starts the connection loop in the background and returns at once.
    pub fn start(url: String, database: String, token: Option<String>) -> Store {
        let inner = Arc::new(Inner {
            status: RwLock::new(StoreStatus {
                url: url.clone(),
                database: database.clone(),
                ..Default::default()
            }),
            url,
            database,
            token: RwLock::new(token.filter(|t| !t.is_empty())),
            live: RwLock::new(None),
            memory_observers: RwLock::new(Vec::new()),
        });
        tokio::spawn(connection::run(inner.clone()));
        Store { inner }
    }

    pub fn status(&self) -> StoreStatus {
        self.inner
            .status
            .read()
            .map(|s| s.clone())
            .unwrap_or_default()
    }

    /// The live connection, if any (for cache reads).
    pub(crate) fn live(&self) -> Option<Arc<Live>> {
        self.inner.live.read().ok().and_then(|l| l.clone())
    }

    /// Calls a reducer through `send` and waits for its outcome.
    pub(crate) async fn call(
        &self,
        reducer: &'static str,
        send: impl FnOnce(&DbConnection) -> bool,
    ) -> Result<(), StoreError> {
        let live = self.live().ok_or(StoreError::Unavailable)?;
        let rx = live
            .pending
            .enqueue(reducer, || send(&live.conn))
            .ok_or(StoreError::Unavailable)?;
        match tokio::time::timeout(CALL_TIMEOUT, rx).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(msg))) => Err(StoreError::Rejected(msg)),
            Ok(Err(_)) => Err(StoreError::Unavailable),
            Err(_) => Err(StoreError::Timeout),
        }
    }
}
