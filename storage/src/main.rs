//! `restrouter-storage`: the storage service binary.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use tracing::{error, info};

/// RESTBase storage service (key_value API) on an embedded SQLite file.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Address to listen on.
    #[arg(
        long,
        env = "RESTROUTER_STORAGE_LISTEN",
        default_value = "127.0.0.1:7233"
    )]
    listen: SocketAddr,
    /// SQLite database file; `:memory:` keeps everything in memory.
    #[arg(
        long,
        env = "RESTROUTER_STORAGE_DB",
        default_value = "restrouter-storage.sqlite3"
    )]
    db: String,
    /// Largest request body accepted; larger ones get 413.
    #[arg(long, env = "RESTROUTER_STORAGE_MAX_BODY_BYTES", default_value_t = restrouter_storage::DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    restrouter_service::init_tracing();

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            error!(error = %e, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!(error = %e, "storage service stopped");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let db = cli.db.clone();
    let store = tokio::task::spawn_blocking(move || restrouter_storage::Store::open(&db)).await??;
    let listener = tokio::net::TcpListener::bind(cli.listen).await?;
    info!(db = %cli.db, max_body_bytes = cli.max_body_bytes, "listening on {}", listener.local_addr()?);
    restrouter_storage::serve(
        listener,
        store,
        cli.max_body_bytes,
        restrouter_service::shutdown_signal(),
    )
    .await?;
    info!("stopped");
    Ok(())
}
