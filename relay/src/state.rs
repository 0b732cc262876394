//! `AppState`: what every handler can reach (config, upstream client, probe, store, memory).

use crate::config::Config;
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
    /// The configured memory backend (`MEMORY_BACKEND`).
    pub memory: SharedBackend,
}
