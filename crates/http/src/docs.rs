//! `GET /docs`: the API, browsable, with Swagger UI reading `/openapi.json`.
//!
//! Swagger UI is vendored (`swagger-ui/`, see its README for the version and how to update it)
//! and built into the binary: the page loads its scripts and styles from `/docs/assets/…`,
//! never from a CDN, and starts Swagger UI from a script file of its own, so its
//! Content-Security-Policy allows scripts from this origin only.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, web};

use crate::ApiError;

/// The vendored Swagger UI release (npm package `swagger-ui-dist`).
pub const SWAGGER_UI_VERSION: &str = "5.35.0";

/// Scripts, styles and the document from this origin only; no inline script or style element,
/// never framed. `data:` images are Swagger UI's icons, inlined in its stylesheet.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

/// One file under `/docs/assets/`.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "swagger-ui-bundle.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../swagger-ui/swagger-ui-bundle.js"),
    },
    Asset {
        name: "swagger-ui.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../swagger-ui/swagger-ui.css"),
    },
    Asset {
        name: "init.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("docs/init.js"),
    },
    Asset {
        name: "docs.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("docs/docs.css"),
    },
    // Swagger UI's licence and notice, and those of what its bundle includes (the bundle's
    // first line points to the latter by this name).
    Asset {
        name: "LICENSE",
        content_type: "text/plain; charset=utf-8",
        bytes: include_bytes!("../swagger-ui/LICENSE"),
    },
    Asset {
        name: "NOTICE",
        content_type: "text/plain; charset=utf-8",
        bytes: include_bytes!("../swagger-ui/NOTICE"),
    },
    Asset {
        name: "swagger-ui-bundle.js.LICENSE.txt",
        content_type: "text/plain; charset=utf-8",
        bytes: include_bytes!("../swagger-ui/swagger-ui-bundle.js.LICENSE.txt"),
    },
];

/// The address of an asset; the version makes browsers fetch it anew after an upgrade.
fn asset_url(name: &str) -> String {
    format!(
        "/docs/assets/{name}?v={}-{SWAGGER_UI_VERSION}",
        env!("CARGO_PKG_VERSION")
    )
}

fn page() -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>clerk-sync API</title>
<link rel="stylesheet" href="{swagger_css}">
<link rel="stylesheet" href="{docs_css}">
<script src="{bundle}" defer></script>
<script src="{init}" defer></script>
</head>
<body>
<div id="swagger-ui" data-openapi-url="/openapi.json"></div>
</body>
</html>
"#,
        swagger_css = asset_url("swagger-ui.css"),
        docs_css = asset_url("docs.css"),
        bundle = asset_url("swagger-ui-bundle.js"),
        init = asset_url("init.js"),
    )
}

/// `GET /docs`: the Swagger UI page.
pub async fn get_docs() -> HttpResponse {
    crate::html::html_page(StatusCode::OK, CONTENT_SECURITY_POLICY, "no-referrer").body(page())
}

/// `GET /docs/assets/{file}`: Swagger UI's files and the page's own, from the binary.
/// Cacheable for a day: their addresses carry the versions.
///
/// # Errors
/// 404 for any other name.
pub async fn get_docs_asset(file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let asset = ASSETS
        .iter()
        .find(|asset| asset.name == file.as_str())
        .ok_or(ApiError::NotFound("Not Found"))?;
    Ok(HttpResponse::Ok()
        .content_type(asset.content_type)
        .insert_header((
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=86400"),
        ))
        .insert_header((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .body(asset.bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundle_is_the_version_the_code_names() {
        let bundle = ASSETS
            .iter()
            .find(|asset| asset.name == "swagger-ui-bundle.js")
            .expect("the bundle");
        let needle = format!("PACKAGE_VERSION:\"{SWAGGER_UI_VERSION}\"");
        assert!(
            bundle
                .bytes
                .windows(needle.len())
                .any(|window| window == needle.as_bytes()),
            "swagger-ui-bundle.js is not version {SWAGGER_UI_VERSION}"
        );
        let readme = include_str!("../swagger-ui/README.md");
        assert!(
            readme.contains(&format!("version {SWAGGER_UI_VERSION}")),
            "swagger-ui/README.md names another version"
        );
    }

    #[test]
    fn the_page_loads_every_script_and_style_from_the_assets() {
        let page = page();
        let script_tags = page.matches("<script").count();
        assert_eq!(
            script_tags,
            page.matches("<script src=\"/docs/assets/").count()
        );
        for name in [
            "swagger-ui-bundle.js",
            "init.js",
            "swagger-ui.css",
            "docs.css",
        ] {
            assert!(page.contains(&asset_url(name)), "{name}");
            assert!(ASSETS.iter().any(|asset| asset.name == name), "{name}");
        }
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe"));
    }
}
