//! `restrouter-devbackend`: offline stand-ins for the router's back-end services.

use std::net::SocketAddr;

use clap::Parser;
use restrouter_devbackend::{serve, Config, DEFAULT_EVENTS_KEPT, DEFAULT_LISTEN};

/// Development back-end: Parsoid, mobileapps, wikifeeds, AQS and EventGate on one port.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "RESTROUTER_DEVBACKEND_LISTEN", default_value = DEFAULT_LISTEN)]
    listen: SocketAddr,

    /// Number of recent events kept for `GET /v1/events`.
    #[arg(long, env = "RESTROUTER_DEVBACKEND_EVENTS_KEPT", default_value_t = DEFAULT_EVENTS_KEPT)]
    events_kept: usize,

    /// Log every request (off by default so benchmarks measure the router, not logging).
    #[arg(long, env = "RESTROUTER_DEVBACKEND_LOG_REQUESTS")]
    log_requests: bool,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    restrouter_service::init_tracing();
    let args = Args::parse();
    let config = Config {
        events_kept: args.events_kept,
        log_requests: args.log_requests,
    };
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(listener) => listener,
        Err(err) => {
            tracing::error!(listen = %args.listen, %err, "cannot listen");
            return std::process::ExitCode::FAILURE;
        }
    };
    tracing::info!(listen = %args.listen, "development back-end listening");
    match serve(listener, &config, restrouter_service::shutdown_signal()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(%err, "server failed");
            std::process::ExitCode::FAILURE
        }
    }
}
