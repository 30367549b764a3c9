//! `clerk-sync resync`: its flags, and the run from settings to the summary table. The work is
//! the `clerk-sync-resync` crate's, the Backend API client `clerk-sync-backend-api`'s.

use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use clerk_sync_backend_api::{BackendApi, ObjectKind, RetryPolicy};
use clerk_sync_resync::{Options, Progress, resync};

pub use clerk_sync_backend_api::{MAX_PAGE_SIZE, SecretKey};

use crate::Settings;

/// Flags of `clerk-sync resync`. Without a kind flag, every kind is resynced.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ResyncArgs {
    /// Resync users (GET /users).
    #[arg(long)]
    pub users: bool,
    /// Resync organizations (GET /organizations).
    #[arg(long)]
    pub organizations: bool,
    /// Resync organization memberships (GET /organization_memberships).
    #[arg(long)]
    pub memberships: bool,
    /// Also remove, and tombstone, what the mirror holds and Clerk no longer has.
    #[arg(long)]
    pub prune: bool,
    /// Prune even when more than half of a kind would go (otherwise refused: that is what a
    /// secret key of another Clerk instance looks like).
    #[arg(long, requires = "prune")]
    pub allow_mass_prune: bool,
    /// Report what would change; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

impl ResyncArgs {
    /// The options these flags and the settings ask for.
    pub fn options(&self, settings: &Settings) -> Options {
        let chosen = [
            (ObjectKind::Users, self.users),
            (ObjectKind::Organizations, self.organizations),
            (ObjectKind::Memberships, self.memberships),
        ];
        let mut kinds: Vec<ObjectKind> = chosen
            .iter()
            .filter(|(_, on)| *on)
            .map(|(kind, _)| *kind)
            .collect();
        if kinds.is_empty() {
            kinds = ObjectKind::ALL.to_vec();
        }
        Options {
            kinds,
            prune: self.prune,
            allow_mass_prune: self.allow_mass_prune,
            dry_run: self.dry_run,
            page_size: settings.resync.page_size,
        }
    }
}

/// Runs `clerk-sync resync`: migrates the database (as `serve` does), resyncs, and prints the
/// summary table.
///
/// # Errors
/// When `CLERK_SECRET_KEY` is not set, Clerk refuses it, the database cannot be opened, a
/// request keeps failing, or listed objects could not be parsed (the others are written).
pub fn run_cli(settings: &Settings, args: &ResyncArgs) -> anyhow::Result<()> {
    let key = settings.secrets.clerk_secret_key.as_ref().ok_or_else(|| {
        anyhow!(
            "CLERK_SECRET_KEY is not set: resync reads Clerk's Backend API with the instance's secret key (sk_live_… or sk_test_…, in Clerk's dashboard under API keys)"
        )
    })?;
    let api = BackendApi::new(
        &settings.resync.api_url,
        key,
        Duration::from_secs(settings.resync.request_timeout_seconds),
        RetryPolicy {
            max_attempts: settings.resync.max_attempts,
            ..RetryPolicy::default()
        },
    )?;
    let database = settings.database.open_for_command()?;
    let options = args.options(settings);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let progress = Progress::for_stdout();
    let summary = runtime.block_on(resync(&database, &api, &options, &progress))?;
    println!("{summary}");
    let failed = summary.failed();
    if failed > 0 {
        bail!(
            "{failed} listed objects could not be parsed and were skipped (logged above with their ids); everything else was {}",
            if options.dry_run {
                "checked"
            } else {
                "written"
            }
        );
    }
    Ok(())
}
