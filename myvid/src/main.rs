//! The `myvid` command line: parses flags and config, then calls the library.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use myvid::config::Config;
use myvid_core::Clock;
use tracing_subscriber::EnvFilter;

/// MyVid: live streaming and video on demand, self-hosted.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// A TOML config file (see infra/myvid.example.toml).
    #[arg(long, global = true, env = "MYVID_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

/// The flags every serving command takes.
#[derive(Args)]
struct ServeFlags {
    /// Address to listen on (overrides `listen`); port 0 picks a free port.
    #[arg(long)]
    listen: Option<String>,
    /// Data directory (overrides `data_dir`; default ./myvid-data).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Public base URL (overrides `public_url`).
    #[arg(long)]
    public_url: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run everything in one process on 127.0.0.1 with embedded storage.
    Dev(ServeFlags),
    /// Run only the API (search, accounts, publish, live set-up); it hands out the
    /// endpoints in the registry. Needs `live.stream_secret`.
    Api(ServeFlags),
    /// Run only the endpoint role (signalling relay, WHIP/WHEP, uploads) against the
    /// same data directory as the API (`myvid api`, or a `myvid dev` whose `live.relay`
    /// is false); several may run. Needs `live.sfu_secret` and `turn.secret`.
    Endpoint(ServeFlags),
    /// Run only an SFU: it registers and links to every live endpoint; `listen` serves
    /// `/healthz` and `/metrics`. Needs `live.sfu_secret` and `live.stream_secret`.
    Sfu(ServeFlags),
    /// Run only a transcode worker: it claims jobs from the metadata store and makes
    /// each published video into adaptive HLS; `listen` serves `/healthz` and `/metrics`.
    /// With the embedded object store it must share the API's data directory.
    Worker(ServeFlags),
    /// Import a JSON catalogue of external videos into the metadata store.
    Import {
        /// The catalogue file (see infra/sample-catalogue.json).
        file: PathBuf,
        /// Data directory (overrides `data_dir`).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

fn init_logging(config: &Config) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.log.filter));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    if config.log.format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn absolute(path: PathBuf) -> anyhow::Result<PathBuf> {
    Ok(if path.is_absolute() { path } else { std::env::current_dir().context("no working directory")?.join(path) })
}

/// The config with a serving command's flags applied and checked, logging started, and
/// the listener bound.
async fn serving(mut config: Config, flags: ServeFlags) -> anyhow::Result<(Config, tokio::net::TcpListener)> {
    config.listen = flags.listen.unwrap_or(config.listen);
    config.data_dir = absolute(flags.data_dir.unwrap_or(config.data_dir))?;
    config.public_url = flags.public_url.or(config.public_url);
    config.validate()?;
    init_logging(&config);
    let addr = config.listen_addr()?;
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
    Ok((config, listener))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut config = Config::load(cli.config.as_deref(), std::env::vars())?;
    match cli.command {
        Command::Dev(flags) => {
            let (config, listener) = serving(config, flags).await?;
            myvid::roles::dev::run(config, listener, Clock::system(), myvid::shutdown::signal()).await
        }
        Command::Api(flags) => {
            let (config, listener) = serving(config, flags).await?;
            myvid::roles::api::run(config, listener, Clock::system(), myvid::shutdown::signal()).await
        }
        Command::Endpoint(flags) => {
            let (config, listener) = serving(config, flags).await?;
            myvid::roles::endpoint::run(config, listener, Clock::system(), myvid::shutdown::signal()).await
        }
        Command::Sfu(flags) => {
            let (config, listener) = serving(config, flags).await?;
            myvid::roles::sfu::run(config, listener, Clock::system(), myvid::shutdown::signal()).await
        }
        Command::Worker(flags) => {
            let (config, listener) = serving(config, flags).await?;
            myvid::roles::worker::run(config, listener, Clock::system(), myvid::shutdown::signal()).await
        }
        Command::Import { file, data_dir } => {
            config.data_dir = absolute(data_dir.unwrap_or(config.data_dir))?;
            init_logging(&config);
            std::fs::create_dir_all(&config.data_dir)?;
            let meta = myvid::roles::common::open_meta(&config).await?;
            let (added, total) = myvid::import::import_file(meta.as_ref(), &file, Clock::system().now()).await?;
            println!("imported {added} new of {total} entries");
            Ok(())
        }
    }
}
