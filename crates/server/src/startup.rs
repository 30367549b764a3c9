//! Wiring: database, verifiers and routes into a running actix-web server.

use std::net::TcpListener;
use std::time::Duration;

use crate::commands::events::spawn_daily_purge;
use crate::config::Settings;
use actix_web::dev::Server;
use actix_web::middleware::{NormalizePath, TrailingSlash, from_fn};
use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::Context;
use clerk_sync_http::AppState;
use clerk_sync_http::admin::CsrfKey;
use clerk_sync_http::auth::{KeySource, TokenVerifier};
use clerk_sync_http::body_budget::BodyBudget;
use clerk_sync_http::group_commit::GroupCommit;
use clerk_sync_http::metrics::{self, MetricsAccess, MetricsToken};
use clerk_sync_http::pass_through::PassThrough;
use clerk_sync_http::read_through::{ReadThrough, ReadThroughOptions};
use clerk_sync_http::request_body::{BodyLimits, bound_request_body};
use clerk_sync_http::request_log::request_context;
use clerk_sync_http::security_headers::security_headers;
use clerk_sync_http::user_reads::UserReads;
use clerk_sync_persistence::{Database, PostgresSchema};
use clerk_sync_svix::Verifier;

/// Says once, at start, where session token keys come from.
fn log_token_keys(settings: &Settings, tokens: Option<&TokenVerifier>) {
    let jwks = match tokens.map(TokenVerifier::keys) {
        Some(KeySource::Jwks(cache)) => Some(cache.options()),
        _ => None,
    };
    match (tokens.is_some(), jwks) {
        (true, Some(options)) => {
            let url = options.shown_url();
            if options.url.scheme() == "http" {
                tracing::warn!(url, "CLERK_JWKS_URL is plain http: use https outside tests");
            }
            tracing::info!(
                url,
                "session tokens are verified with the keys of CLERK_JWKS_URL"
            );
        }
        (true, None) if settings.auth.jwks_url.is_some() => tracing::info!(
            "session tokens are verified with CLERK_JWT_PUBLIC_KEY; CLERK_JWKS_URL is not used"
        ),
        (true, None) => {}
        (false, _) => tracing::warn!(
            "neither CLERK_JWT_PUBLIC_KEY nor CLERK_JWKS_URL is set: authenticated endpoints answer 503"
        ),
    }
}

/// The server of `GET /metrics` alone, on the address `[metrics] listen` names, and its port.
fn metrics_server(address: &str, state: &web::Data<AppState>) -> anyhow::Result<(Server, u16)> {
    let listener = TcpListener::bind(address).with_context(|| {
        format!("cannot listen on {address} for metrics (METRICS_LISTEN, [metrics] listen)")
    })?;
    let port = listener.local_addr()?.port();
    let state = state.clone();
    let server = HttpServer::new(move || {
        App::new()
            .wrap(from_fn(security_headers))
            .app_data(state.clone())
            .route(
                "/metrics",
                web::get().to(metrics::get_metrics_on_metrics_listener),
            )
            .default_service(web::to(|| async {
                HttpResponse::NotFound().json(serde_json::json!({"detail": "Not Found"}))
            }))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    tracing::info!(%address, port, "metrics are served on their own listener");
    Ok((server, port))
}

/// The read-through, when `CLERK_SECRET_KEY` is set and `[read_through]` is enabled; says
/// once, at start, which.
fn read_through(settings: &Settings) -> anyhow::Result<Option<ReadThrough>> {
    let Some(key) = &settings.secrets.clerk_secret_key else {
        return Ok(None);
    };
    let config = &settings.read_through;
    if !config.enabled {
        tracing::info!("read-through is off ([read_through] enabled = false, CLERK_READ_THROUGH)");
        return Ok(None);
    }
    let options = ReadThroughOptions {
        wait: Duration::from_millis(config.wait_ms),
        fetches_per_window: config.fetches_per_10_seconds,
        not_found_ttl: Duration::from_secs(config.not_found_ttl_seconds),
        not_found_capacity: config.not_found_capacity,
    };
    let read_through = ReadThrough::new(&settings.resync.api_url, key, options)
        .context("cannot set up the read-through (CLERK_SECRET_KEY, CLERK_API_URL)")?;
    tracing::info!(
        fetches_per_10_seconds = config.fetches_per_10_seconds,
        wait_ms = config.wait_ms,
        "callers the mirror lacks are read through from Clerk's Backend API (CLERK_SECRET_KEY)"
    );
    Ok(Some(read_through))
}

/// Reader threads for callers' users: one per core. Each read answers every lookup queued
/// when it starts, so more readers than cores add waits, not reads (measured on 2 cores: 1, 2,
/// 3 and 4 readers gave about 21,500, 20,500, 17,000 and 14,500 `/me`/s at 32 connections).
fn user_readers() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// What every handler can reach, from the settings and the opened database.
fn app_state(settings: &Settings, database: Database) -> anyhow::Result<AppState> {
    let metrics = metrics::Metrics::new().context("cannot register the metrics")?;
    let deliveries = GroupCommit::start(
        &database,
        &settings.webhooks.group_commit(),
        metrics.batch_sizes(),
    )
    .context("cannot start the threads that write webhook deliveries")?;
    let user_reads = UserReads::start(&database, user_readers(), metrics.user_read_sizes())
        .context("cannot start the threads that read callers' users")?;
    Ok(AppState {
        database,
        deliveries,
        user_reads,
        webhooks: settings.secrets.webhook_secret.clone().map(|secret| {
            Verifier::new(secret)
                .with_tolerance(Duration::from_secs(settings.webhooks.tolerance_seconds))
        }),
        tokens: settings.tokens.clone(),
        max_body_bytes: settings.server.max_body_bytes,
        metrics,
        body_limits: BodyLimits {
            deadline: Duration::from_secs(settings.server.body_timeout_seconds),
            webhook_budget: BodyBudget::new(settings.server.webhook_body_budget_bytes),
        },
        admin_csrf_key: match &settings.secrets.admin_csrf_secret {
            Some(secret) => CsrfKey::from_secret(secret),
            None => CsrfKey::random().context("no random bytes for the CSRF key")?,
        },
        metrics_access: MetricsAccess {
            on_public_listener: settings.metrics.listen.is_none(),
            token: settings
                .secrets
                .metrics_token
                .clone()
                .map(MetricsToken::new),
        },
        read_through: read_through(settings)?,
        pass_through: pass_through(settings)?,
        clerk_secret_key: settings.secrets.clerk_secret_key.clone(),
    })
}

/// Where `/clerk/v1` passes on what the mirror does not answer: Clerk's Backend API, when
/// `CLERK_SECRET_KEY` is set (the prefix needs it) and `[clerk_api] pass_through` is on.
fn pass_through(settings: &Settings) -> anyhow::Result<Option<PassThrough>> {
    if settings.secrets.clerk_secret_key.is_none() || !settings.clerk_api.pass_through {
        return Ok(None);
    }
    PassThrough::new(&settings.resync.api_url)
        .map(Some)
        .map_err(|reason| {
            anyhow::anyhow!("cannot set up the pass-through to CLERK_API_URL: {reason}")
        })
}

/// A server bound to its port, not yet running.
pub struct Application {
    port: u16,
    server: Server,
    /// The metrics listener's server and port, when `[metrics] listen` names one.
    metrics: Option<(Server, u16)>,
}

impl Application {
    /// Opens and migrates the database, binds the listener and builds the server.
    ///
    /// # Errors
    /// When the database cannot be opened or migrated, or the address cannot be bound; the
    /// message says which and how to fix it.
    pub fn build(settings: &Settings) -> anyhow::Result<Self> {
        let database = settings.database.open_for_server()?;
        let address = format!("{}:{}", settings.server.host, settings.server.port);
        let listener = TcpListener::bind(&address).with_context(|| {
            format!("cannot listen on {address} (HOST, PORT); is another process using the port?")
        })?;
        let port = listener.local_addr()?.port();
        let state = app_state(settings, database)?;
        if state.webhooks.is_none() {
            tracing::warn!(
                "CLERK_WEBHOOK_SIGNING_SECRET is not set: the webhook endpoint answers 503"
            );
        }
        log_token_keys(settings, state.tokens.as_ref());
        let purge_database = state.database.clone();
        // Every blocking task holds a database connection (`clerk_sync_http::db`), so a worker
        // needs no more blocking threads than there are connections; actix's default (512
        // shared out) lets dozens of threads queue on the pool's lock and wake each other.
        let blocking_threads = state.database.max_connections() as usize;
        let state = state.into_data();
        let metrics = match &settings.metrics.listen {
            Some(address) => Some(metrics_server(address, &state)?),
            None => None,
        };
        let server_settings = &settings.server;
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(bound_request_body))
                .wrap(from_fn(security_headers))
                .wrap(NormalizePath::new(TrailingSlash::Trim))
                .wrap(from_fn(request_context))
                .app_data(state.clone())
                .configure(clerk_sync_http::routes)
        })
        .shutdown_timeout(server_settings.shutdown_grace_seconds)
        .keep_alive(Duration::from_secs(server_settings.keep_alive_seconds))
        .client_request_timeout(Duration::from_secs(
            server_settings.client_request_timeout_seconds,
        ))
        .listen(listener)?
        .worker_max_blocking_threads(blocking_threads);
        if settings.server.workers > 0 {
            server = server.workers(settings.server.workers);
        }
        let database = &settings.database;
        tracing::info!(
            %address,
            port,
            database = %database.url.redacted(),
            schema = database.pool.postgres.schema.as_ref().map(PostgresSchema::as_str),
            "clerk-sync is listening"
        );
        let server = server.run();
        spawn_daily_purge(purge_database, settings.webhooks.retention_days);
        Ok(Self {
            port,
            server,
            metrics,
        })
    }

    /// The port of the metrics listener, when `[metrics] listen` names one.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(_, port)| *port)
    }

    /// The port the server listens on (useful when configured as 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle to stop the server.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until the server is stopped (SIGINT/SIGTERM, or its handle).
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Some((metrics, _)) = self.metrics else {
            return self.server.await;
        };
        let metrics_handle = metrics.handle();
        let metrics_task = actix_web::rt::spawn(metrics);
        let served = self.server.await;
        metrics_handle.stop(true).await;
        let _ = metrics_task.await;
        served
    }
}
