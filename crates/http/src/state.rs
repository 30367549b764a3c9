//! What every handler can reach: the database and the verifiers.

use std::sync::Arc;

use actix_web::{HttpRequest, web};
use clerk_sync_backend_api::SecretKey;
use clerk_sync_persistence::Database;
use clerk_sync_svix::Verifier;

use crate::ApiError;
use crate::admin::CsrfKey;
use crate::auth::TokenVerifier;
use crate::group_commit::GroupCommit;
use crate::metrics::{Metrics, MetricsAccess};
use crate::pass_through::PassThrough;
use crate::read_through::ReadThrough;
use crate::request_body::BodyLimits;
use crate::user_reads::UserReads;

/// The largest webhook body accepted unless configured otherwise: Clerk's events are a few
/// kilobytes; a megabyte leaves room for large metadata.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// Shared, read-only state of the server.
#[derive(Debug)]
pub struct AppState {
    /// The mirror.
    pub database: Database,
    /// Verifies webhook signatures; `None` when `CLERK_WEBHOOK_SIGNING_SECRET` is not set.
    pub webhooks: Option<Verifier>,
    /// Writes verified deliveries, those that arrive together in one transaction.
    pub deliveries: GroupCommit,
    /// Reads callers' users, those asked for together in one query.
    pub user_reads: UserReads,
    /// Verifies session tokens; `None` when no key is configured.
    pub tokens: Option<TokenVerifier>,
    /// The largest webhook body accepted.
    pub max_body_bytes: usize,
    /// The server's metrics.
    pub metrics: Metrics,
    /// How long request bodies may take, and the bytes unverified webhook bodies may hold.
    pub body_limits: BodyLimits,
    /// The key the admin forms' CSRF tokens are made with.
    pub admin_csrf_key: CsrfKey,
    /// Where `/metrics` is served and what a scrape must send.
    pub metrics_access: MetricsAccess,
    /// Fetches callers the mirror lacks from Clerk's Backend API; `None` when
    /// `CLERK_SECRET_KEY` is not set (or the read-through is turned off).
    pub read_through: Option<ReadThrough>,
    /// Where `/clerk/v1` sends what the mirror does not answer; `None` answers it 422
    /// (`[clerk_api] pass_through = false`) or when `CLERK_SECRET_KEY` is not set.
    pub pass_through: Option<PassThrough>,
    /// The instance's secret key (`CLERK_SECRET_KEY`), which callers of `/clerk/v1` must
    /// present; `None` makes the prefix answer 503.
    pub clerk_secret_key: Option<SecretKey>,
}

impl AppState {
    /// The state, as handlers receive it.
    pub fn into_data(self) -> web::Data<Self> {
        web::Data::from(Arc::new(self))
    }

    /// The state of the app serving a request.
    ///
    /// # Errors
    /// [`ApiError::Internal`] when the app was built without it (a wiring mistake).
    pub fn of(request: &HttpRequest) -> Result<&Self, ApiError> {
        request
            .app_data::<web::Data<Self>>()
            .map(|data| data.get_ref())
            .ok_or_else(|| ApiError::Internal("AppState is not registered with the app".into()))
    }
}
