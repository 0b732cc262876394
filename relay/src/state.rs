//! `AppState`: what every handler can reach (config, upstream client, probe, store, HERMES_HOME,
//! memory backend).

use crate::config::Config;
use crate::hermes_files::HermesHome;
use crate::memory::SharedBackend;
use crate::store::Store;
use crate::upstream::probe::Probe;
use crate::upstream::Upstream;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub upstream: Upstream,
    pub probe: Probe,
    /// `None` when no SpacetimeDB URL is configured.
    pub store: Option<Store>,
    /// One permit per open chat stream (bounded concurrency).
    pub streams: Arc<tokio::sync::Semaphore>,
    /// HERMES_HOME files (skills, config.yaml, .env) and their write lock.
    pub hermes_home: HermesHome,
    /// The configured memory backend (`MEMORY_BACKEND`).
    pub memory: SharedBackend,
}
