//! The OpenAPI 3 document, generated from the handlers' `#[utoipa::path]` attributes and the
//! response types' `ToSchema` derives, and served at `GET /openapi.json`.
//!
//! Which routes it must describe is decided by [`crate::routing`]: the tests compare the two,
//! so a route cannot be mounted without being documented (or deliberately left out there).

use actix_web::HttpResponse;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::handlers::{forward_auth, health, me, organizations, webhooks};
use crate::metrics;

/// The document's description, shown at the top of `/docs`.
const DESCRIPTION: &str = "A local mirror of Clerk users, organizations and memberships, fed by Clerk's Svix-signed webhooks, and the API of the signed-in caller.

Errors are always JSON `{\"detail\": \"…\"}`, as FastAPI writes them. Trailing slashes are optional: every route answers with and without one.

Authenticated routes take a Clerk session token (an RS256 JWT), either as `Authorization: Bearer <token>` or as Clerk's same-site `__session` cookie.";

#[derive(OpenApi)]
#[openapi(
    info(title = "clerk-sync", description = DESCRIPTION),
    paths(
        health::get_health,
        health::get_ready,
        webhooks::receive_clerk_webhook,
        me::get_me,
        me::list_my_organizations,
        forward_auth::verify_session,
        forward_auth::verify_session_for_envoy,
        organizations::list_organization_members,
        metrics::get_metrics,
        get_openapi,
    ),
    modifiers(&SessionTokenSchemes),
    tags(
        (name = "webhooks", description = "Clerk's events, delivered by Svix"),
        (name = "me", description = "The signed-in caller"),
        (name = "forward auth", description = "For reverse proxies: the caller's identity as headers"),
        (name = "organizations", description = "Organizations, as their members see them"),
        (name = "operations", description = "Health, readiness, metrics and this document"),
    ),
)]
struct ApiDoc;

/// The two ways a Clerk session token reaches the server. They are alternatives: an operation
/// lists each as a requirement of its own.
struct SessionTokenSchemes;

impl Modify for SessionTokenSchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A Clerk session token (RS256), as `Authorization: Bearer <token>`",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "__session",
                "A Clerk session token in Clerk's same-site `__session` cookie (used when no Authorization header is sent)",
            ))),
        );
    }
}

/// The document, built from the code (its version is the crate's).
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// `GET /openapi.json`: this document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    summary = "This OpenAPI document",
    responses((status = 200, description = "The OpenAPI 3 document", body = Object,
        content_type = "application/json")),
)]
pub async fn get_openapi() -> HttpResponse {
    HttpResponse::Ok().json(document())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::*;
    use crate::routing::{self, Listing};

    const METHODS: &[&str] = &[
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];

    fn document_json() -> Value {
        serde_json::to_value(document()).expect("the document serializes")
    }

    /// Every (METHOD, path) the document describes.
    fn operations(document: &Value) -> BTreeSet<(String, String)> {
        let paths = document["paths"].as_object().expect("paths is an object");
        paths
            .iter()
            .flat_map(|(path, item)| {
                METHODS
                    .iter()
                    .filter(|method| item.get(**method).is_some())
                    .map(|method| (method.to_uppercase(), path.clone()))
            })
            .collect()
    }

    #[test]
    fn the_document_describes_exactly_the_documented_routes() {
        let documented: BTreeSet<(String, String)> = routing::all()
            .filter(|route| route.is_documented())
            .map(|route| (route.method.to_string(), route.path.to_owned()))
            .collect();
        let described = operations(&document_json());
        let missing: Vec<_> = documented.difference(&described).collect();
        let not_mounted: Vec<_> = described.difference(&documented).collect();
        assert!(
            missing.is_empty(),
            "mounted but not in the OpenAPI document (add #[utoipa::path] and list the handler in ApiDoc, or mark the route undocumented with a reason): {missing:?}"
        );
        assert!(
            not_mounted.is_empty(),
            "in the OpenAPI document but not mounted with that method and path: {not_mounted:?}"
        );
    }

    #[test]
    fn clerks_api_is_left_to_clerks_specification() {
        // See the module documentation of `routing`: /clerk/v1 is Clerk's API, not ours.
        let described = operations(&document_json());
        let clerk: Vec<_> = described
            .iter()
            .filter(|(_, path)| path.starts_with(crate::clerk_api::PREFIX))
            .collect();
        assert!(clerk.is_empty(), "{clerk:?}");
        assert!(
            routing::all().all(|route| !route.path.starts_with(crate::clerk_api::PREFIX)),
            "/clerk/v1 is mounted by clerk_api::scope, outside the route tables"
        );
    }

    #[test]
    fn only_the_browser_pages_are_left_out() {
        let undocumented: Vec<_> = routing::all()
            .filter_map(|route| match route.listing {
                Listing::Undocumented(why) => Some((route.path, why)),
                Listing::Documented => None,
            })
            .collect();
        assert!(!undocumented.is_empty());
        for (path, why) in undocumented {
            let browser_page = path == "/docs"
                || path.starts_with("/docs/")
                || path == "/admin"
                || path.starts_with("/admin/");
            assert!(
                browser_page && why == routing::BROWSER_PAGE,
                "{path} is left out of the OpenAPI document ({why}); only the HTML pages may be"
            );
        }
    }

    #[test]
    fn it_is_openapi_3_with_the_crate_version() {
        let document = document_json();
        let version = document["openapi"].as_str().expect("an openapi version");
        assert!(version.starts_with("3."), "{version}");
        assert_eq!(document["info"]["title"], "clerk-sync");
        assert_eq!(document["info"]["version"], env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn every_schema_reference_resolves() {
        let document = document_json();
        let schemas = document["components"]["schemas"]
            .as_object()
            .expect("component schemas");
        let mut references = Vec::new();
        collect_refs(&document, &mut references);
        assert!(references.len() > 10, "{references:?}");
        for reference in references {
            let name = reference
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("unexpected reference {reference}"));
            assert!(schemas.contains_key(name), "{reference} does not resolve");
        }
    }

    fn collect_refs(value: &Value, into: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get("$ref") {
                    into.push(reference.clone());
                }
                map.values().for_each(|value| collect_refs(value, into));
            }
            Value::Array(items) => items.iter().for_each(|value| collect_refs(value, into)),
            _ => {}
        }
    }

    #[test]
    fn authenticated_operations_accept_the_bearer_header_or_the_session_cookie() {
        let document = document_json();
        let schemes = &document["components"]["securitySchemes"];
        assert_eq!(schemes["bearer"]["type"], "http");
        assert_eq!(schemes["bearer"]["scheme"], "bearer");
        assert_eq!(schemes["session_cookie"]["type"], "apiKey");
        assert_eq!(schemes["session_cookie"]["in"], "cookie");
        assert_eq!(schemes["session_cookie"]["name"], "__session");
        let alternatives = serde_json::json!([{"bearer": []}, {"session_cookie": []}]);
        for path in [
            "/api/v1/auth/me/",
            "/api/v1/auth/me/organizations/",
            "/api/v1/auth/verify",
            "/api/v1/organizations/{org_id}/members/",
        ] {
            let operation = &document["paths"][path]["get"];
            assert_eq!(operation["security"], alternatives, "{path}");
            assert!(operation["responses"]["401"].is_object(), "{path}");
        }
        let webhook = &document["paths"]["/api/v1/auth/clerk_webhook/"]["post"];
        assert!(webhook.get("security").is_none());
    }

    #[test]
    fn the_webhook_describes_its_svix_headers_body_and_errors() {
        let document = document_json();
        let webhook = &document["paths"]["/api/v1/auth/clerk_webhook/"]["post"];
        let headers: BTreeSet<&str> = webhook["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .filter(|parameter| parameter["in"] == "header")
            .filter_map(|parameter| parameter["name"].as_str())
            .collect();
        assert_eq!(
            headers,
            BTreeSet::from(["svix-id", "svix-timestamp", "svix-signature"])
        );
        assert_eq!(
            webhook["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ClerkWebhookEvent"
        );
        for status in ["400", "413", "503"] {
            assert_eq!(
                webhook["responses"][status]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ErrorDetail",
                "{status}"
            );
        }
        let detail = &document["components"]["schemas"]["ErrorDetail"];
        assert_eq!(detail["required"], serde_json::json!(["detail"]));
    }

    #[test]
    fn metrics_are_text() {
        let document = document_json();
        let content = document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
            .as_object()
            .expect("content");
        assert_eq!(
            content.keys().collect::<Vec<_>>(),
            ["text/plain; version=0.0.4; charset=utf-8"]
        );
    }

    /// The webhook body's schema must fit what Clerk really sends: every event fixture
    /// (Clerk's documented payloads) reads as one.
    #[test]
    fn every_event_fixture_fits_the_webhook_body_schema() {
        let folder = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../domain/tests/fixtures/events"
        );
        let mut read = 0;
        for entry in std::fs::read_dir(folder).expect("the fixtures folder") {
            let path = entry.expect("an entry").path();
            if path.extension().is_some_and(|ext| ext == "json") {
                let body = std::fs::read(&path).expect("a fixture");
                let event: webhooks::ClerkWebhookEvent = serde_json::from_slice(&body)
                    .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
                assert!(!event.event_type.is_empty());
                assert!(event.data.is_object(), "{}", path.display());
                read += 1;
            }
        }
        assert!(read >= 9, "only {read} fixtures");
    }
}
