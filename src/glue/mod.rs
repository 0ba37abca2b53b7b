//! The proxy-wasm layer: one root context type that is either the HTTP filter (plugin
//! configuration with a `spec`) or the singleton service (bootstrap `envoy.bootstrap.wasm`,
//! configuration without one), plus the per-request context.

mod host;
mod metrics;
mod ratelimit;
mod request;
mod service;

use crate::config::{self, PluginConfig};
use crate::spec::Api;
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{BufferType, ContextType, LogLevel};
use std::cell::Cell;
use std::rc::Rc;

/// Shared queue the workers hand changed-content notices to; the singleton owns it.
pub const EVENTS_QUEUE: &str = "restrouter.events";

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root::default()) });
}}

/// What every request context of a filter root reads: built once per VM, never changed.
pub struct Filter {
    pub api: Api,
    pub config: PluginConfig,
    pub trust: crate::client::Trust,
    pub metrics: metrics::Metrics,
    pub vm_id: String,
    /// Resolved on first use: the singleton may start after the workers.
    pub events_queue: Cell<Option<u32>>,
    pub ratelimit: request::RateLimitState,
}

#[derive(Default)]
enum Role {
    #[default]
    Unconfigured,
    Filter(Rc<Filter>),
    Service(Box<service::Service>),
}

#[derive(Default)]
struct Root {
    role: Role,
}

impl Context for Root {
    fn on_http_call_response(&mut self, token: u32, num_headers: usize, body_size: usize, _num_trailers: usize) {
        if let Role::Service(s) = &mut self.role {
            s.on_http_call_response(token, num_headers, body_size);
        }
    }
}

impl RootContext for Root {
    fn on_configure(&mut self, size: usize) -> bool {
        let bytes = hostcalls::get_buffer(BufferType::PluginConfiguration, 0, size).ok().flatten().unwrap_or_default();
        match configure(&bytes) {
            Ok(role) => {
                self.role = role;
                match &mut self.role {
                    Role::Service(s) => s.start(),
                    Role::Filter(f) if f.config.settings.ratelimit.enabled && f.api.ops.iter().any(|o| o.rate_limit.is_some()) => {
                        // Workers ship their counts and pick up verdicts on this tick.
                        let _ = hostcalls::set_tick_period(std::time::Duration::from_millis(200));
                    }
                    _ => {}
                }
                true
            }
            Err(e) => {
                // Envoy rejects the configuration (and keeps serving the previous one).
                log::error!("restrouter: {e}");
                false
            }
        }
    }

    fn on_tick(&mut self) {
        match &mut self.role {
            Role::Service(s) => s.on_tick(),
            Role::Filter(f) => f.ratelimit.on_tick(&f.vm_id),
            Role::Unconfigured => {}
        }
    }

    fn on_queue_ready(&mut self, queue_id: u32) {
        if let Role::Service(s) = &mut self.role {
            s.on_queue_ready(queue_id);
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        // The SDK panics on None, so an unconfigured root hands out a context that does nothing.
        Some(match &self.role {
            Role::Filter(f) => Box::new(request::Request::new(f.clone())),
            _ => Box::new(request::Inert),
        })
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

fn configure(bytes: &[u8]) -> Result<Role, String> {
    let config = config::parse(bytes)?;
    let vm_id = host::property(&["plugin_vm_id"]).unwrap_or_default();
    match &config.spec {
        Some(spec) => {
            let api = Api::compile(spec)?;
            let metrics = metrics::Metrics::define(Some(&api));
            let trust = config.settings.trust();
            let ratelimit = request::RateLimitState::new(&config.settings);
            Ok(Role::Filter(Rc::new(Filter { api, config, trust, metrics, vm_id, events_queue: Cell::new(None), ratelimit })))
        }
        None => Ok(Role::Service(Box::new(service::Service::new(config.settings, vm_id)))),
    }
}
