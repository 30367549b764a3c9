//! The organization guard against a real mirror, on both backends: a member passes, a role
//! is enforced when required, anyone else is refused, an unknown organization is not found.

#![expect(
    clippy::expect_used,
    reason = "test helpers fail the test by panicking"
)]

use actix_web::ResponseError;
use clerk_sync_domain::{AuthContext, ClerkOrgId, ClerkUserId, EventEnvelope, SessionStatus};
use clerk_sync_http::admin::CsrfKey;
use clerk_sync_http::auth::{Session, require_membership};
use clerk_sync_http::group_commit::GroupCommit;
use clerk_sync_http::metrics::MetricsAccess;
use clerk_sync_http::request_body::BodyLimits;
use clerk_sync_http::user_reads::UserReads;
use clerk_sync_http::{ApiError, AppState};
use clerk_sync_persistence::testing::TestDatabase;
use clerk_sync_persistence::{Database, Delivery, backend_tests, process_delivery};
use serde_json::json;

const ORG: &str = "org_guarded";

fn join(database: &Database, membership: &str, user: &str, role: &str) {
    let body = json!({
        "type": "organizationMembership.created", "object": "event", "timestamp": 1_700_000_000_100_i64,
        "data": {
            "id": membership, "object": "organization_membership", "role": role,
            "organization": {"id": ORG, "object": "organization", "name": "Guarded", "slug": "guarded",
                             "created_at": 1, "updated_at": 1_700_000_000_000_i64},
            "public_user_data": {"user_id": user, "first_name": "A", "last_name": "Member"},
            "created_at": 1, "updated_at": 1_700_000_000_000_i64,
        }
    })
    .to_string();
    let envelope = EventEnvelope::parse(body.as_bytes()).expect("a valid event");
    let delivery = Delivery {
        svix_id: membership,
        event_type: &envelope.event_type,
        clerk_object_id: envelope.event.object_id(),
        payload: &body,
        received_at: chrono::Utc::now().naive_utc(),
    };
    let mut conn = database.get().expect("a connection");
    process_delivery(&mut conn, &delivery, &envelope).expect("applied");
}

fn session(user: &str) -> Session {
    Session::new(AuthContext {
        user_id: ClerkUserId::parse(user).expect("a user id"),
        session_id: None,
        status: SessionStatus::Active,
        active_organization: None,
    })
}

/// The status and detail the guard answers, or the caller's role when it lets them through.
async fn guard(
    state: &AppState,
    user: &str,
    org: &str,
    role: Option<&str>,
) -> Result<String, (u16, String)> {
    let org = ClerkOrgId::parse(org).expect("an organization id");
    require_membership(state, session(user), org, role)
        .await
        .map(|access| access.role.to_string())
        .map_err(|err: ApiError| (err.status_code().as_u16(), err.to_string()))
}

backend_tests!(the_guard_requires_membership_and_the_role_asked_for);

fn the_guard_requires_membership_and_the_role_asked_for(db: TestDatabase) {
    let database = db.connect().expect("a database");
    join(&database, "orgmem_ada", "user_ada", "org:member");
    join(&database, "orgmem_grace", "user_grace", "admin");
    let metrics = clerk_sync_http::metrics::Metrics::new().expect("metrics");
    let deliveries = GroupCommit::start(&database, &Default::default(), metrics.batch_sizes())
        .expect("the delivery writers");
    let user_reads =
        UserReads::start(&database, 1, metrics.user_read_sizes()).expect("the user readers");
    let state = AppState {
        deliveries,
        user_reads,
        database,
        webhooks: None,
        tokens: None,
        max_body_bytes: 1024,
        metrics,
        body_limits: BodyLimits::default(),
        admin_csrf_key: CsrfKey::from_secret("guard tests"),
        metrics_access: MetricsAccess::default(),
        read_through: None,
        pass_through: None,
        clerk_secret_key: None,
    };
    actix_rt::System::new().block_on(async {
        assert_eq!(
            guard(&state, "user_ada", ORG, None).await,
            Ok("org:member".to_owned())
        );
        assert_eq!(
            guard(&state, "user_ada", ORG, Some("org:admin")).await,
            Err((
                403,
                "This requires the role org:admin in this organization".to_owned()
            ))
        );
        assert_eq!(
            guard(&state, "user_grace", ORG, Some("org:admin")).await,
            Ok("org:admin".to_owned()),
            "the legacy `admin` key is the admin role"
        );
        assert_eq!(
            guard(&state, "user_stranger", ORG, None).await,
            Err((403, "You are not a member of this organization".to_owned()))
        );
        assert_eq!(
            guard(&state, "user_ada", "org_unknown", None).await,
            Err((404, "Organization not found".to_owned()))
        );
    });
}
