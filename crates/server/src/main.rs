//! The `clerk-sync` command.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use clerk_sync_persistence::WriteMode;
use clerk_sync_persistence::replay::ReplaySelection;
use clerk_sync_server::commands::dev::send::{self, SendRequest};
use clerk_sync_server::commands::dev::{self, token::TokenRequest};
use clerk_sync_server::commands::duration::parse_duration;
use clerk_sync_server::commands::{check_config, events, healthcheck, staff};
use clerk_sync_server::config::{DOTENV_FILE, DotEnvFile};
use clerk_sync_server::{Application, Settings, telemetry};

/// clerk-sync: a local mirror of your Clerk users, organizations and memberships, fed by
/// Clerk's webhooks, and Clerk session authentication for your API.
///
/// Settings come from config/default.toml (built in), the overlay config/$CLERK_SYNC_ENV.toml,
/// then the environment and ./.env (the working directory's only), read when a command
/// starts; `clerk-sync check-config` shows the result and its sources.
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
    /// Import or repair the mirror from Clerk's Backend API (CLERK_SECRET_KEY).
    Resync(clerk_sync_server::resync::ResyncArgs),
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
    /// Print the effective configuration (secrets redacted) and every source read, then exit;
    /// fails on invalid settings.
    CheckConfig,
    /// The webhook log.
    #[command(subcommand)]
    Events(EventsCommand),
    /// Exit 0 when the server on this host (PORT) answers its health check; for containers.
    Healthcheck,
    /// Local development without a Clerk account: secrets, tokens and events.
    #[command(subcommand)]
    Dev(DevCommand),
}

#[derive(Subcommand)]
enum EventsCommand {
    /// Delete log entries first received longer ago than --older-than (at least 3 days).
    Purge {
        /// e.g. 30d, 72h.
        #[arg(long, value_parser = parse_duration)]
        older_than: std::time::Duration,
    },
    /// Process deliveries kept as rejected again (all of them, by --id or by --type), after
    /// an upgrade made them applicable; exit status 1 when some stay rejected.
    Replay {
        /// Only this Svix message id (msg_…); repeat for several.
        #[arg(long = "id", value_name = "SVIX_ID", conflicts_with = "event_type")]
        ids: Vec<String>,
        /// Only the rejected deliveries of this event type, e.g. user.created.
        #[arg(long = "type", value_name = "TYPE")]
        event_type: Option<String>,
        /// Report what each would become, and write nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
enum DevCommand {
    /// Write a development webhook signing secret and RSA key pair into ./.env.
    Init {
        /// Replace the values .env already has.
        #[arg(long)]
        force: bool,
    },
    /// Print a session token for a user, signed with the development key.
    Token {
        /// The user (`sub`), e.g. user_2VpUG6M2aNvZUuqG2SgEAZ5kNKE.
        #[arg(long)]
        user: String,
        /// The active organization, e.g. org_2Tti8BTY5E6lxc3WqMO5R0U0ILB.
        #[arg(long)]
        org: Option<String>,
        /// The role in that organization (default org:member).
        #[arg(long)]
        role: Option<String>,
        /// The organization's slug (default: the mirror's, when it has the organization).
        #[arg(long)]
        org_slug: Option<String>,
        /// How long the token is valid, e.g. 10m, 1h.
        #[arg(long, default_value = "1h", value_parser = parse_duration)]
        expires_in: std::time::Duration,
    },
    /// Sign a realistic Clerk event and post it to a running server.
    Send(SendArgs),
}

#[derive(Args)]
struct SendArgs {
    #[arg(help = send::event_type_help())]
    event_type: String,
    /// Send a type clerk-sync does not handle (the server answers 200 and records it as ignored).
    #[arg(long)]
    raw_type: bool,
    /// Print only the id of the event's object (user_…, org_… or orgmem_…; the message id for
    /// other types); a refused event is reported on stderr, with exit status 1.
    #[arg(long)]
    print_id: bool,
    /// The user id (generated when left out).
    #[arg(long)]
    user: Option<String>,
    /// The user's primary email (generated for user events when left out).
    #[arg(long)]
    email: Option<String>,
    /// The user's first name (sent empty when left out).
    #[arg(long)]
    first_name: Option<String>,
    /// The user's last name (sent empty when left out).
    #[arg(long)]
    last_name: Option<String>,
    /// The organization id (generated when left out).
    #[arg(long)]
    org: Option<String>,
    /// The organization's name (default Acme Development); give every event of one
    /// organization the same, as membership events carry the organization too.
    #[arg(long)]
    org_name: Option<String>,
    /// The membership id (generated when left out).
    #[arg(long)]
    membership: Option<String>,
    /// The membership's role (default org:member).
    #[arg(long)]
    role: Option<String>,
    /// The webhook URL (default: this configuration's HOST and PORT).
    #[arg(long)]
    url: Option<String>,
}

fn main() -> ExitCode {
    let working_dir = std::env::current_dir().unwrap_or_else(|_| ".".into());
    let dotenv = match DotEnvFile::load(&working_dir) {
        Ok(dotenv) => dotenv,
        Err(err) => {
            eprintln!("clerk-sync: cannot read .env: {err}");
            return ExitCode::from(2);
        }
    };
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Dev(DevCommand::Init { force }) = command {
        return report(dev_init(force));
    }
    let settings = match Settings::from_env_and(dotenv.as_ref()) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("clerk-sync: configuration error: {err}");
            return ExitCode::from(2);
        }
    };
    let logs = telemetry::init(&settings.log);
    let result = match command {
        Command::Serve => serve(&settings),
        Command::Migrate => run_migrations(&settings),
        Command::Resync(args) => clerk_sync_server::resync::run_cli(&settings, &args),
        Command::PromoteStaff { email } => staff::set_staff(&settings, &email, true),
        Command::DemoteStaff { email } => staff::set_staff(&settings, &email, false),
        Command::CheckConfig => {
            print!("{}", check_config::render(&settings));
            Ok(())
        }
        Command::Events(EventsCommand::Purge { older_than }) => purge_events(&settings, older_than),
        Command::Events(EventsCommand::Replay {
            ids,
            event_type,
            dry_run,
        }) => replay_events(&settings, ids, event_type, dry_run),
        Command::Healthcheck => healthcheck::run(settings.server.port),
        Command::Dev(DevCommand::Init { .. }) => Ok(()),
        Command::Dev(DevCommand::Token {
            user,
            org,
            role,
            org_slug,
            expires_in,
        }) => {
            let org_slug = match (&org, org_slug) {
                (Some(org), None) => dev::token::mirrored_slug(&settings, org),
                (_, org_slug) => org_slug,
            };
            let request = TokenRequest {
                user: &user,
                organization: org.as_deref(),
                role: role.as_deref(),
                organization_slug: org_slug.as_deref(),
                expires_in,
            };
            dev_token(&request)
        }
        Command::Dev(DevCommand::Send(args)) => dev_send(&settings, args),
    };
    // The log's last lines before the command's own report of how it ended.
    drop(logs);
    report(result)
}

fn report(result: anyhow::Result<()>) -> ExitCode {
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
    drop(settings.database.open_connection()?);
    let schema = match &settings.database.pool.postgres.schema {
        Some(schema) => format!(", schema {}", schema.quoted()),
        None => String::new(),
    };
    println!(
        "migrations applied to {}{schema}",
        settings.database.url.redacted()
    );
    Ok(())
}

fn purge_events(settings: &Settings, older_than: std::time::Duration) -> anyhow::Result<()> {
    let purged = events::purge(&settings.database.open_for_command()?, older_than)?;
    println!("purged {purged} webhook log entries");
    Ok(())
}

fn replay_events(
    settings: &Settings,
    ids: Vec<String>,
    event_type: Option<String>,
    dry_run: bool,
) -> anyhow::Result<()> {
    let selection = match (ids.is_empty(), event_type) {
        (false, _) => ReplaySelection::SvixIds(ids),
        (true, Some(event_type)) => ReplaySelection::EventType(event_type),
        (true, None) => ReplaySelection::AllRejected,
    };
    let mode = if dry_run {
        WriteMode::DryRun
    } else {
        WriteMode::Commit
    };
    // One connection and no pool: a pool's background thread still opening a PostgreSQL
    // connection when the process exits makes the exit crash (SIGSEGV), after the work is done.
    let mut conn = settings.database.open_connection()?;
    events::replay(&mut conn, &selection, mode, &mut std::io::stdout().lock())
}

fn dev_init(force: bool) -> anyhow::Result<()> {
    let written = dev::init::run(Path::new(DOTENV_FILE), force)?;
    println!(
        "wrote {} to .env (development only: never use these values in production)",
        written.join(", ")
    );
    Ok(())
}

fn dev_token(request: &TokenRequest<'_>) -> anyhow::Result<()> {
    let key = std::env::var(dev::PRIVATE_KEY_VARIABLE).with_context(|| {
        format!(
            "{} is not set: run `clerk-sync dev init` first",
            dev::PRIVATE_KEY_VARIABLE
        )
    })?;
    let token = dev::token::mint(&key, request)?;
    println!("{token}");
    Ok(())
}

fn dev_send(settings: &Settings, args: SendArgs) -> anyhow::Result<()> {
    send::check_event_type(&args.event_type, args.raw_type)?;
    let secret = settings
        .secrets
        .webhook_secret
        .as_ref()
        .context("CLERK_WEBHOOK_SIGNING_SECRET is not set: run `clerk-sync dev init` first")?;
    let url = args.url.unwrap_or_else(|| {
        let host = match settings.server.host.as_str() {
            "0.0.0.0" | "::" => "127.0.0.1",
            host => host,
        };
        format!(
            "http://{host}:{}/api/v1/auth/clerk_webhook/",
            settings.server.port
        )
    });
    let request = SendRequest {
        event_type: args.event_type,
        raw_type: args.raw_type,
        user: args.user,
        email: args.email,
        first_name: args.first_name,
        last_name: args.last_name,
        organization: args.org,
        organization_name: args.org_name,
        membership: args.membership,
        role: args.role,
    };
    let sent = actix_web::rt::System::new().block_on(send::run(secret, &url, request))?;
    match (args.print_id, sent.accepted()) {
        (true, true) => println!("{}", sent.object_id()),
        (true, false) => eprint!("{}", sent.report(&url)),
        (false, _) => print!("{}", sent.report(&url)),
    }
    if sent.accepted() {
        Ok(())
    } else {
        anyhow::bail!(
            "the server refused the event (HTTP {}): its answer above says why",
            sent.status
        )
    }
}
