//! The router, `app(hub)`: every request but a direct stream (see [`crate::server`]).

use crate::error::ApiError;
use crate::hub::Hub;
use crate::{api, control, error, stream};
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{middleware, Json, Router};
use std::sync::Arc;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

/// Request bodies above this are refused with 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// The raw-frame test knob accepts bodies up to this.
pub const RAW_FRAME_MAX_BYTES: usize = 1024 * 1024;

/// The Content-Security-Policy of the served panel: no inline script, but
/// WebAssembly may compile.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'self'";

/// Longest query string accepted on any route.
pub const MAX_QUERY_BYTES: usize = 1024;

/// Cross-origin access to `/api` for the configured origins only. EventSource
/// sends no credentials, so none are allowed.
fn cors(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET])
        .allow_headers([
            header::HeaderName::from_static("last-event-id"),
            header::CONTENT_TYPE,
        ])
        .max_age(std::time::Duration::from_secs(600))
}

/// Refuses absurdly long query strings before any handler parses them.
async fn limit_query(request: Request, next: Next) -> Response {
    match request.uri().query() {
        Some(query) if query.len() > MAX_QUERY_BYTES => ApiError::new(
            StatusCode::URI_TOO_LONG,
            format!(
                "the query string is {} bytes; the limit is {MAX_QUERY_BYTES}",
                query.len()
            ),
        )
        .into_response(),
        _ => next.run(request).await,
    }
}

/// Builds the whole application.
pub fn app(hub: Arc<Hub>) -> Router {
    let internal = Router::new()
        .route(
            "/channels/{channel}/messages",
            post(control::inject_message),
        )
        // Test knob: big enough to send an oversized event on purpose.
        .route(
            "/channels/{channel}/raw",
            post(control::inject_raw).layer(DefaultBodyLimit::max(RAW_FRAME_MAX_BYTES)),
        )
        .route("/gateway", put(control::set_gateway))
        .route("/heartbeats", put(control::set_heartbeats))
        .route("/disconnect", post(control::disconnect))
        .route("/sse-fault", put(control::set_fault))
        .route("/connections", get(control::connections))
        .method_not_allowed_fallback(error::method_not_allowed)
        .fallback(error::not_found)
        .layer(middleware::from_fn_with_state(
            hub.clone(),
            control::require_token,
        ));

    let api = Router::new()
        .route("/channels/{channel}/messages", get(api::history))
        .route("/channels/{channel}/events", get(stream::events))
        .method_not_allowed_fallback(error::method_not_allowed)
        .fallback(error::not_found)
        .layer(cors(&hub.config.allowed_origins));

    let router = Router::new()
        .route(
            "/healthz",
            get(|| async { Json(serde_json::json!({ "ok": true })) }),
        )
        .nest("/api", api)
        .nest("/internal", internal)
        .method_not_allowed_fallback(error::method_not_allowed);

    let router = match &hub.config.static_dir {
        Some(dir) => {
            let files = ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html")));
            router
                .fallback_service(files)
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(CONTENT_SECURITY_POLICY),
                ))
        }
        None => router.fallback(error::not_found),
    };
    router
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(limit_query))
        .with_state(hub)
}
