use std::process::ExitCode;

use clap::Parser;
use restrouter_ratelimit::config::{Args, Config};

fn main() -> ExitCode {
    restrouter_service::init_tracing();
    let args = Args::parse();
    let config = match Config::from_args(args, std::env::var("POD_IP").ok()) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("starting runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(restrouter_ratelimit::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}
