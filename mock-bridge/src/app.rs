//! The router: `app(hub)` is the seam tests drive.

use crate::hub::Hub;
use crate::{api, control, error, stream};
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue};
use axum::routing::{get, post, put};
use axum::{middleware, Json, Router};
use std::sync::Arc;
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
        .fallback(error::not_found);

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
        .with_state(hub)
}
