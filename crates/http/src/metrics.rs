//! Prometheus metrics, served at `GET /metrics` in the text format.
//!
//! One registry per server (no global state): requests by route and status, latency
//! histograms, webhook deliveries by event type and outcome, token rejections by reason,
//! read-throughs of callers the mirror lacks by result, and, read at scrape time, the token
//! cache's hits, misses and evictions and the database pool. Where they are served and whether a scrape needs a bearer token is the
//! [`MetricsAccess`] of the server.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use clerk_sync_persistence::PoolState;
use prometheus::core::Collector;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts,
    Registry, TextEncoder,
};
use subtle::ConstantTimeEq;

use crate::auth::{TokenCacheStats, TokenVerifier};
use crate::{ApiError, AppState};

/// Latency buckets, in seconds: sub-millisecond to the sender's 15 s patience.
const LATENCY_BUCKETS: &[f64] = &[
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0,
];

/// Where `/metrics` is served and what a scrape must send.
#[derive(Clone, Debug)]
pub struct MetricsAccess {
    /// Whether the public listener serves `/metrics`; `false` when a listener of its own does.
    pub on_public_listener: bool,
    /// The bearer token a scrape must send (`METRICS_TOKEN`); `None` asks for none.
    pub token: Option<MetricsToken>,
}

impl Default for MetricsAccess {
    fn default() -> Self {
        Self {
            on_public_listener: true,
            token: None,
        }
    }
}

/// The bearer token of `/metrics`. `Debug` does not show it.
#[derive(Clone)]
pub struct MetricsToken(String);

impl MetricsToken {
    /// The token, as configured.
    pub fn new(token: String) -> Self {
        Self(token)
    }

    /// Whether the request sends this token as `Authorization: Bearer …` (compared in constant
    /// time).
    fn is_sent_by(&self, request: &HttpRequest) -> bool {
        request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .is_some_and(|sent| bool::from(sent.trim().as_bytes().ct_eq(self.0.as_bytes())))
    }
}

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(<redacted>)")
    }
}

/// The server's metrics.
#[derive(Clone, Debug)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    deliveries: IntCounterVec,
    batch_sizes: Histogram,
    user_read_sizes: Histogram,
    token_rejections: IntCounterVec,
    read_through: IntCounterVec,
    pass_through: IntCounterVec,
    pool: IntGaugeVec,
}

impl Metrics {
    /// A fresh registry with every metric registered.
    ///
    /// # Errors
    /// When a metric cannot be registered (a programming error: duplicate names).
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("clerk_sync".to_owned()), None)?;
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests answered, by route pattern, method and status.",
            ),
            &["route", "method", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time to answer HTTP requests, by route pattern and method.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["route", "method"],
        )?;
        let deliveries = IntCounterVec::new(
            Opts::new(
                "webhook_deliveries_total",
                "Verified webhook deliveries, by event type and outcome.",
            ),
            &["event_type", "outcome"],
        )?;
        let batch_sizes = Histogram::with_opts(
            HistogramOpts::new(
                "webhook_batch_size",
                "Webhook deliveries written per transaction (group commit).",
            )
            .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]),
        )?;
        let user_read_sizes = Histogram::with_opts(
            HistogramOpts::new(
                "user_read_batch_size",
                "Callers' users read per query (/me, forward auth and the admin pages' lookups, read together).",
            )
            .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]),
        )?;
        let token_rejections = IntCounterVec::new(
            Opts::new(
                "token_rejections_total",
                "Session tokens refused, by reason.",
            ),
            &["reason"],
        )?;
        let read_through = IntCounterVec::new(
            Opts::new(
                "read_through_total",
                "Read-throughs of callers the mirror lacks, by result: fetched from Clerk's Backend API (synced, not_found, error), or settled without a fetch (already_synced, tombstoned, rate_limited, cached_not_found).",
            ),
            &["result"],
        )?;
        let pass_through = IntCounterVec::new(
            Opts::new(
                "pass_through_total",
                "Requests under /clerk/v1 passed on to Clerk's Backend API, by result: forwarded (Clerk's answer passed back), applied (a write whose returned object the mirror applied at once), not_applied (the mirror could not apply it; its webhook will), unreachable (Clerk did not answer).",
            ),
            &["result"],
        )?;
        let pool = IntGaugeVec::new(
            Opts::new(
                "db_pool_connections",
                "Database pool connections: in use, idle, and the maximum.",
            ),
            &["state"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(deliveries.clone()))?;
        registry.register(Box::new(batch_sizes.clone()))?;
        registry.register(Box::new(user_read_sizes.clone()))?;
        registry.register(Box::new(token_rejections.clone()))?;
        registry.register(Box::new(read_through.clone()))?;
        registry.register(Box::new(pass_through.clone()))?;
        registry.register(Box::new(pool.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            deliveries,
            batch_sizes,
            user_read_sizes,
            token_rejections,
            read_through,
            pass_through,
            pool,
        })
    }

    /// Counts an answered request.
    pub fn observe_request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[route, method, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[route, method])
            .observe(seconds);
    }

    /// Counts a verified webhook delivery.
    pub fn observe_delivery(&self, event_type: &str, outcome: &str) {
        self.deliveries
            .with_label_values(&[event_type, outcome])
            .inc();
    }

    /// The histogram of deliveries per transaction, for the writers to observe.
    pub fn batch_sizes(&self) -> Histogram {
        self.batch_sizes.clone()
    }

    /// The histogram of users per read of callers, for the readers to observe.
    pub fn user_read_sizes(&self) -> Histogram {
        self.user_read_sizes.clone()
    }

    /// Counts a refused session token.
    pub fn observe_token_rejection(&self, reason: &str) {
        self.token_rejections.with_label_values(&[reason]).inc();
    }

    /// Counts a request passed on to Clerk, by its result (see `pass_through`).
    pub fn observe_pass_through(&self, result: &str) {
        self.pass_through.with_label_values(&[result]).inc();
    }

    /// Counts a read-through by its result (see `read_through`).
    pub fn observe_read_through(&self, result: &str) {
        self.read_through.with_label_values(&[result]).inc();
    }

    /// Renders every metric, with the pool's current state and the token cache's counts
    /// (`None` without a token cache: its metrics are left out).
    ///
    /// # Errors
    /// When the encoder fails (it writes to memory, so only on malformed metrics).
    pub fn render(
        &self,
        pool: PoolState,
        token_cache: Option<TokenCacheStats>,
    ) -> Result<String, prometheus::Error> {
        let in_use = pool.connections.saturating_sub(pool.idle);
        self.pool
            .with_label_values(&["in_use"])
            .set(i64::from(in_use));
        self.pool
            .with_label_values(&["idle"])
            .set(i64::from(pool.idle));
        self.pool
            .with_label_values(&["max"])
            .set(i64::from(pool.max_size));
        let mut families = self.registry.gather();
        if let Some(stats) = token_cache {
            families.extend(token_cache_families(stats)?);
        }
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&families, &mut buffer)?;
        String::from_utf8(buffer).map_err(|err| prometheus::Error::Msg(err.to_string()))
    }
}

/// The token cache's counters, made at each scrape from the counts it keeps (the verifier is
/// built with the settings, before any registry): `clerk_sync_token_cache_total{result}` and
/// `clerk_sync_token_cache_evictions_total`.
fn token_cache_families(
    stats: TokenCacheStats,
) -> Result<Vec<prometheus::proto::MetricFamily>, prometheus::Error> {
    let lookups = IntCounterVec::new(
        Opts::new(
            "clerk_sync_token_cache_total",
            "Session tokens looked up in the cache of verified tokens, by result: hit (answered without a signature check) or miss (verified afresh: not cached, expired, or its key rotated out).",
        ),
        &["result"],
    )?;
    lookups.with_label_values(&["hit"]).inc_by(stats.hits);
    lookups.with_label_values(&["miss"]).inc_by(stats.misses);
    let evictions = IntCounter::new(
        "clerk_sync_token_cache_evictions_total",
        "Unexpired entries the full token cache dropped to make room (expired ones are not counted); a steady rise says [auth] token_cache_size is smaller than the tokens in use.",
    )?;
    evictions.inc_by(stats.evictions);
    let mut families = lookups.collect();
    families.extend(evictions.collect());
    Ok(families)
}

/// `GET /metrics` on the public listener: every metric in Prometheus' text format.
///
/// # Errors
/// 404 when metrics are served on a listener of their own, 401 without the configured
/// bearer token, 500 when the metrics cannot be encoded.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    summary = "Prometheus metrics",
    description = "Requests by route pattern, method and status; latency histograms; webhook deliveries by event type and outcome; refused session tokens by reason; the cache of verified session tokens (`clerk_sync_token_cache_total{result=hit|miss}`, `clerk_sync_token_cache_evictions_total`); read-throughs of callers the mirror lacks, by result (`clerk_sync_read_through_total{result=synced|not_found|error|already_synced|tombstoned|rate_limited|cached_not_found}`); requests passed on to Clerk under /clerk/v1, by result (`clerk_sync_pass_through_total{result=forwarded|applied|not_applied|unreachable}`); the database pool. Prometheus' text format 0.0.4. Served here unless `[metrics] listen` (METRICS_LISTEN) moves it to an address of its own; when METRICS_TOKEN is set, a scrape sends it as a bearer token.",
    responses(
        (status = 200, description = "Every metric", body = String,
            content_type = "text/plain; version=0.0.4; charset=utf-8"),
        (status = 401, description = "METRICS_TOKEN is set and the request does not send it as `Authorization: Bearer <token>`", body = crate::error::ErrorDetail),
        (status = 404, description = "Metrics are served on a listener of their own (`[metrics] listen`)", body = crate::error::ErrorDetail),
    ),
)]
pub async fn get_metrics(
    request: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    if !state.metrics_access.on_public_listener {
        return Err(ApiError::NotFound("Not Found"));
    }
    render_metrics(&request, &state)
}

/// `GET /metrics` on the metrics listener (`[metrics] listen`).
///
/// # Errors
/// 401 without the configured bearer token, 500 when the metrics cannot be encoded.
pub async fn get_metrics_on_metrics_listener(
    request: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    render_metrics(&request, &state)
}

fn render_metrics(request: &HttpRequest, state: &AppState) -> Result<HttpResponse, ApiError> {
    if let Some(token) = &state.metrics_access.token
        && !token.is_sent_by(request)
    {
        return Err(ApiError::Unauthorized(
            "Send the metrics token (METRICS_TOKEN) as `Authorization: Bearer <token>`".to_owned(),
        ));
    }
    let text = state
        .metrics
        .render(
            state.database.state(),
            state.tokens.as_ref().and_then(TokenVerifier::cache_stats),
        )
        .map_err(|err| ApiError::Internal(Box::new(err)))?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}
