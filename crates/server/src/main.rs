//! The `clerk-sync` command.

mod staff;

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use clerk_sync_persistence::Database;
use clerk_sync_server::{Application, Settings, telemetry};

/// clerk-sync: a local mirror of your Clerk users, organizations and memberships, fed by
/// Clerk's webhooks, and Clerk session authentication for your API.
///
/// Settings come from config/default.toml (built in), then the environment and a `.env` file.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Apply pending database migrations, then exit.
    Migrate,
    /// Make the user with this email staff (and active): they may open the admin pages.
    PromoteStaff {
        /// The user's primary email address, as synced from Clerk.
        email: String,
    },
    /// Take staff away from the user with this email.
    DemoteStaff {
        /// The user's primary email address, as synced from Clerk.
        email: String,
    },
}

fn main() -> ExitCode {
    if let Err(err) = dotenvy::dotenv()
        && !err.not_found()
    {
        eprintln!("clerk-sync: cannot read .env: {err}");
        return ExitCode::from(2);
    }
    let cli = Cli::parse();
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("clerk-sync: configuration error: {err}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&settings.log);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&settings),
        Command::Migrate => run_migrations(&settings),
        Command::PromoteStaff { email } => staff::set_staff(&settings, &email, true),
        Command::DemoteStaff { email } => staff::set_staff(&settings, &email, false),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("clerk-sync: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(settings: &Settings) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async {
        let application = Application::build(settings)?;
        application
            .run_until_stopped()
            .await
            .context("the server stopped with an error")
    })
}

fn run_migrations(settings: &Settings) -> anyhow::Result<()> {
    let url = &settings.database.url;
    Database::connect(url, &settings.database.pool)
        .with_context(|| format!("cannot migrate the database at {}", url.redacted()))?;
    println!("migrations applied to {}", url.redacted());
    Ok(())
}
