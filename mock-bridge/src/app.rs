//! The router, `app(hub)`: every request but a direct stream (see [`crate::server`]).

use crate::config::Config;
use crate::error::ApiError;
use crate::hub::Hub;
use crate::{api, changes, control, error, poll, presence, readstate, stream, typing, users};
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use axum::{middleware, Json, Router};
use std::convert::Infallible;
use std::path::Path;
use std::sync::Arc;
use tower::util::BoxCloneSyncService;
use tower::{ServiceBuilder, ServiceExt};
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

/// Longest query string accepted on any route: room for a multi-channel
/// stream's 64 longest names, a cursor and a token.
pub const MAX_QUERY_BYTES: usize = 8 * 1024;

/// Cross-origin access to `/api` for the configured origins only, with
/// credentials (cookies) only when `--allow-credentials` says so.
fn cors(config: &Config) -> CorsLayer {
    let origins: Vec<HeaderValue> = (config.allowed_origins.iter())
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PATCH,
            Method::PUT,
            Method::DELETE,
        ])
        .allow_headers([
            header::HeaderName::from_static("last-event-id"),
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
        ])
        .allow_credentials(config.allow_credentials)
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

/// The Content-Security-Policy layer: on every response when the bridge serves
/// the panel's page (`--static-dir`), unless a response set its own.
fn content_security_policy(config: &Config) -> Option<SetResponseHeaderLayer<HeaderValue>> {
    config.static_dir.as_ref().map(|_| {
        SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        )
    })
}

/// The panel's built files (`--static-dir`), any other path answered with its
/// `index.html`. The release build writes gzip and brotli copies beside each
/// file (`FILE.gz`, `FILE.br`), sent to browsers that accept them, so nothing
/// is compressed per request (and event streams never are). The names are
/// stable (no content hash), so browsers keep the files but ask each time
/// whether they changed (`no-cache`), and a `Last-Modified` that still matches
/// gets a 304 without the body.
fn static_files(dir: &Path) -> BoxCloneSyncService<Request, Response, Infallible> {
    let index = ServeFile::new(dir.join("index.html"))
        .precompressed_br()
        .precompressed_gzip();
    let files = ServeDir::new(dir)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(index);
    let headers = ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::VARY,
            HeaderValue::from_static("accept-encoding"),
        ));
    let files = headers.service(files);
    BoxCloneSyncService::new(ServiceExt::<Request>::map_response(
        files,
        IntoResponse::into_response,
    ))
}

/// The head of every event stream's answer, whichever way it is served: the
/// stream's own headers with the same CORS and CSP layers the router applies,
/// run over a request that carries the client's `Origin`. The direct path asks
/// it; the router's answers get the same layers on their way out.
#[derive(Clone)]
pub struct StreamHead {
    service: BoxCloneSyncService<Request, Response, Infallible>,
}

impl StreamHead {
    pub fn new(config: &Config) -> Self {
        let service = ServiceBuilder::new()
            .option_layer(content_security_policy(config))
            .layer(cors(config))
            .service_fn(|_: Request| async {
                Ok::<_, Infallible>(stream::response(Body::empty()))
            });
        StreamHead {
            service: BoxCloneSyncService::new(service),
        }
    }

    /// The headers of a stream's answer to a client that sent `origin`.
    pub async fn headers(&self, origin: Option<HeaderValue>) -> HeaderMap {
        let mut request = Request::new(Body::empty());
        if let Some(origin) = origin {
            request.headers_mut().insert(header::ORIGIN, origin);
        }
        match self.service.clone().oneshot(request).await {
            Ok(response) => response.headers().clone(),
            Err(never) => match never {},
        }
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
        .route(
            "/channels/{channel}/messages/bulk-delete",
            post(changes::control_bulk_delete),
        )
        .route(
            "/channels/{channel}/messages/{id}",
            patch(changes::control_edit).delete(changes::control_delete),
        )
        .route(
            "/channels/{channel}/messages/{id}/reactions/{emoji}",
            put(changes::control_react).delete(changes::control_react),
        )
        .route("/channels/{channel}/typing", post(typing::control_typing))
        .route("/gateway", put(control::set_gateway))
        .route("/heartbeats", put(control::set_heartbeats))
        .route("/disconnect", post(control::disconnect))
        .route("/sse-fault", put(control::set_fault))
        .route("/post-fault", put(control::set_post_fault))
        .route("/disk-fault", put(control::set_disk_fault))
        .route("/connections", get(control::connections))
        .route(
            "/users",
            put(control::add_user).delete(control::revoke_user),
        )
        .method_not_allowed_fallback(error::method_not_allowed)
        .fallback(error::not_found)
        .layer(middleware::from_fn_with_state(
            hub.clone(),
            control::require_token,
        ));

    let api = Router::new()
        .route(
            "/channels/{channel}/messages",
            get(api::history).post(api::post_message),
        )
        .route(
            "/channels/{channel}/messages/{id}",
            patch(changes::reader_edit).delete(changes::reader_delete),
        )
        .route(
            "/channels/{channel}/messages/{id}/reactions/{emoji}",
            put(changes::reader_react).delete(changes::reader_react),
        )
        .route("/channels/{channel}/changes", get(changes::catch_up))
        .route("/channels/{channel}/presence", get(presence::here))
        .route("/channels/{channel}/typing", post(typing::reader_typing))
        .route(
            "/channels/{channel}/read",
            get(readstate::get_read).put(readstate::put_read),
        )
        .route("/channels/{channel}/events", get(stream::events))
        .route("/events", get(stream::events_of_many))
        .route("/poll", get(poll::poll))
        .route("/me", get(api::me))
        .method_not_allowed_fallback(error::method_not_allowed)
        .fallback(error::not_found)
        // Inside CORS: a preflight needs no token, and a 401 carries CORS
        // headers, so a page on another origin can read it.
        .layer(middleware::from_fn_with_state(
            hub.users.clone(),
            users::require_user,
        ))
        .layer(cors(&hub.config));

    let router = Router::new()
        .route(
            "/healthz",
            get(|| async { Json(serde_json::json!({ "ok": true })) }),
        )
        .nest("/api", api)
        .nest("/internal", internal)
        .method_not_allowed_fallback(error::method_not_allowed);

    let router = match &hub.config.static_dir {
        Some(dir) => router.fallback_service(static_files(dir)),
        None => router.fallback(error::not_found),
    };
    router
        .layer(tower::util::option_layer(content_security_policy(
            &hub.config,
        )))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(limit_query))
        .with_state(hub)
}
