//! The proxy-wasm binding: [`Host`](crate::host::Host) over host calls (`host`), and the
//! contexts that forward proxy-wasm's callbacks to the pipeline (`crate::pipeline`) or the
//! singleton service (`crate::service`). No logic of its own beyond choosing the root.
//!
//! The root is chosen by the `root_id` Envoy's configuration gives it, never by what the
//! configuration happens to contain: `restrouter` is the HTTP filter, `restrouter_service` the
//! singleton service. A filter configuration the filter cannot serve is refused (fail closed).

mod host;

use crate::config;
use crate::pipeline::{self, Action, Filter};
use crate::problem::Problem;
use crate::reply::Reply;
use crate::service::Service;
use host::Hostcalls;
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{BufferType, ContextType, LogLevel};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};

/// `root_id` of the HTTP filter.
pub const FILTER_ROOT: &str = "restrouter";
/// `root_id` of the singleton service (`envoy.bootstrap.wasm`, same `vm_id`).
pub const SERVICE_ROOT: &str = "restrouter_service";

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root::default()) });
}}

#[derive(Default)]
enum Role {
    #[default]
    Unconfigured,
    Filter(Rc<Filter>),
    Service(Box<Service>),
}

#[derive(Default)]
struct Root {
    role: Role,
    parked: Rc<RefCell<Parked>>,
}

/// A request's pipeline, shared by its HTTP context and its worker's root.
type Shared = Rc<RefCell<pipeline::Request>>;

/// Requests of this VM waiting for another's render (`pipeline::coalesce`), which the root
/// wakes on its tick. A callout a request makes while the root acts for it is the root's in
/// the SDK's eyes, so its answer comes to the root, which hands it on (`calls`).
#[derive(Default)]
struct Parked {
    waiting: Vec<(u32, Weak<RefCell<pipeline::Request>>)>,
    calls: HashMap<u32, (u32, Weak<RefCell<pipeline::Request>>)>,
}

impl Parked {
    /// Notes what a request needs from the root after a call into it: a tick while it waits,
    /// and the answer to a callout made while the root acted for it (`by_root`).
    fn after(&mut self, context_id: u32, request: &Shared, by_root: bool) {
        let r = request.borrow();
        if r.is_waiting() && !self.waiting.iter().any(|(id, _)| *id == context_id) {
            self.waiting.push((context_id, Rc::downgrade(request)));
        }
        if let (true, Some(token)) = (by_root, r.pending_callout()) {
            self.calls.insert(token, (context_id, Rc::downgrade(request)));
        }
    }
}

/// Runs `f` on a parked request with its HTTP context as the one host calls act on.
fn act_for(context_id: u32, request: &Weak<RefCell<pipeline::Request>>, f: impl FnOnce(&mut pipeline::Request)) -> Option<Shared> {
    let request = request.upgrade()?;
    hostcalls::set_effective_context(context_id).ok()?;
    let Ok(mut r) = request.try_borrow_mut() else { return None };
    f(&mut r);
    drop(r);
    Some(request)
}

fn action(a: Action) -> proxy_wasm::types::Action {
    match a {
        Action::Continue => proxy_wasm::types::Action::Continue,
        Action::Pause => proxy_wasm::types::Action::Pause,
    }
}

impl Context for Root {
    fn on_http_call_response(&mut self, token: u32, num_headers: usize, body_size: usize, _num_trailers: usize) {
        match &mut self.role {
            Role::Service(s) => s.on_callout(&Hostcalls, token, host::callout_response(num_headers, body_size)),
            Role::Filter(_) => {
                let Some((context_id, weak)) = self.parked.borrow_mut().calls.remove(&token) else { return };
                // The answer's buffers belong to the request's context: read them as it.
                let acted = act_for(context_id, &weak, |r| r.on_callout(&Hostcalls, token, host::callout_response(num_headers, body_size)));
                if let Some(request) = acted {
                    self.parked.borrow_mut().after(context_id, &request, true);
                }
            }
            Role::Unconfigured => {}
        }
    }
}

impl Root {
    /// Lets every waiting request look at its lease.
    fn wake(&self) {
        let waiting = std::mem::take(&mut self.parked.borrow_mut().waiting);
        for (context_id, weak) in waiting {
            if let Some(request) = act_for(context_id, &weak, |r| r.on_wake(&Hostcalls)) {
                self.parked.borrow_mut().after(context_id, &request, true);
            }
        }
        // Answers that will never come (the request is gone) are forgotten.
        self.parked.borrow_mut().calls.retain(|_, (_, weak)| weak.strong_count() > 0);
    }
}

impl RootContext for Root {
    fn on_configure(&mut self, size: usize) -> bool {
        let bytes = hostcalls::get_buffer(BufferType::PluginConfiguration, 0, size).ok().flatten().unwrap_or_default();
        let root_id = host::property(&["plugin_root_id"]).unwrap_or_default();
        let vm_id = host::property(&["plugin_vm_id"]).unwrap_or_default();
        let role = match root_id.as_str() {
            FILTER_ROOT => {
                let parsed = config::parse(&bytes);
                drop(bytes);
                parsed.and_then(|c| Filter::from_config(&Hostcalls, c, vm_id)).map(|f| Role::Filter(Rc::new(f)))
            }
            SERVICE_ROOT => config::parse(&bytes).map(|c| Role::Service(Box::new(Service::new(&Hostcalls, c.settings, vm_id)))),
            other => Err(format!("unknown root_id '{other}': '{FILTER_ROOT}' is the HTTP filter, '{SERVICE_ROOT}' the singleton service")),
        };
        match role {
            Ok(role) => {
                self.role = role;
                match &mut self.role {
                    Role::Service(s) => s.start(&Hostcalls),
                    Role::Filter(f) => {
                        if let Some(ms) = f.tick_ms() {
                            hostcalls::set_tick_period(std::time::Duration::from_millis(ms)).unwrap_or_default();
                        }
                    }
                    _ => {}
                }
                true
            }
            Err(e) => {
                // Envoy refuses the configuration: it keeps serving the previous one, or does
                // not start.
                log::error!("restrouter: {root_id}: configuration refused: {e}");
                false
            }
        }
    }

    fn on_tick(&mut self) {
        match &mut self.role {
            Role::Service(s) => s.on_tick(&Hostcalls),
            Role::Filter(f) => {
                f.on_tick(&Hostcalls);
                self.wake();
            }
            Role::Unconfigured => {}
        }
    }

    fn on_queue_ready(&mut self, queue_id: u32) {
        if let Role::Service(s) = &mut self.role {
            s.on_queue_ready(&Hostcalls, queue_id);
        }
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        // The SDK panics on None; a root that is no filter refuses every request (fail closed).
        Some(match &self.role {
            Role::Filter(f) => Box::new(Request { context_id, request: Rc::new(RefCell::new(pipeline::Request::new(f.clone()))), parked: self.parked.clone() }),
            _ => Box::new(Refuse),
        })
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Request {
    context_id: u32,
    request: Shared,
    parked: Rc<RefCell<Parked>>,
}

impl Request {
    /// Forwards a callback; a request that now waits is parked for the root's tick.
    fn with<T>(&mut self, f: impl FnOnce(&mut pipeline::Request) -> T, otherwise: T) -> T {
        let out = match self.request.try_borrow_mut() {
            Ok(mut r) => f(&mut r),
            // Not reachable (one thread, and the host defers what would re-enter).
            Err(_) => return otherwise,
        };
        if let Ok(mut parked) = self.parked.try_borrow_mut() {
            parked.after(self.context_id, &self.request, false);
        }
        out
    }
}

impl Context for Request {
    fn on_http_call_response(&mut self, token: u32, num_headers: usize, body_size: usize, _num_trailers: usize) {
        self.with(|r| r.on_callout(&Hostcalls, token, host::callout_response(num_headers, body_size)), ());
    }

    fn on_done(&mut self) -> bool {
        self.with(|r| r.on_done(&Hostcalls), ());
        true
    }
}

impl HttpContext for Request {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> proxy_wasm::types::Action {
        // Test builds only (tests/vm_reload.rs): a request that traps the worker's VM.
        #[cfg(feature = "test-trap")]
        if hostcalls::get_map_value_bytes(proxy_wasm::types::MapType::HttpRequestHeaders, "x-restrouter-test-trap").ok().flatten().is_some() {
            core::arch::wasm32::unreachable();
        }
        action(self.with(|r| r.on_request_headers(&Hostcalls, end_of_stream), Action::Pause))
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> proxy_wasm::types::Action {
        action(self.with(|r| r.on_request_body(&Hostcalls, body_size, end_of_stream), Action::Pause))
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> proxy_wasm::types::Action {
        action(self.with(|r| r.on_response_headers(&Hostcalls), Action::Pause))
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> proxy_wasm::types::Action {
        action(self.with(|r| r.on_response_body(&Hostcalls, body_size, end_of_stream), Action::Pause))
    }

    fn on_log(&mut self) {
        self.with(|r| r.on_log(&Hostcalls), ());
    }
}

/// The HTTP context of a root that is not a configured filter: no request passes unchecked.
struct Refuse;
impl Context for Refuse {}
impl HttpContext for Refuse {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> proxy_wasm::types::Action {
        use crate::host::Host;
        let reply = Reply::problem(&Problem::internal("The router is not configured as a filter"), "", "", "");
        Hostcalls.send_reply(reply.status, &reply.headers, &reply.body);
        proxy_wasm::types::Action::Pause
    }
}
