//! `/internal/…`: the control API that tests and developers use to inject
//! messages and faults. Served only on loopback or behind `CONTROL_TOKEN`.
//!
//! Without a token, loopback alone is not enough: any web page can make the
//! browser send a request there (a `text/plain` POST needs no preflight), and a
//! DNS-rebinding name can point at 127.0.0.1. So an open control API answers
//! only requests whose `Host` is a loopback name or address and that carry no
//! `Origin` other than the bridge's own.

use crate::error::ApiError;
use crate::extract::{channel_from, ChannelPath};
use crate::hub::{Fault, Gateway, Hub};
use crate::message::{validate_channel, NewMessage};
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

/// Refuses control calls without the bearer token, when one is configured;
/// without one, refuses calls that a web page (or a rebound name) could make.
pub async fn require_token(State(hub): State<Arc<Hub>>, request: Request, next: Next) -> Response {
    let refusal = match &hub.config.control_token {
        Some(token) => {
            let presented = (request.headers().get(header::AUTHORIZATION))
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "));
            (!presented.is_some_and(|p| constant_time_eq(p.as_bytes(), token.as_bytes()))).then(
                || {
                    ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "the control API needs `Authorization: Bearer <CONTROL_TOKEN>`",
                    )
                },
            )
        }
        None => browser_reach(request.headers()).err(),
    };
    match refusal {
        Some(error) => error.into_response(),
        None => next.run(request).await,
    }
}

/// Whether an untokened control call could have come from a web page: its
/// `Host` must be a loopback name or address, and its `Origin`, if any, the
/// bridge's own (`http://` and that same `Host`).
fn browser_reach(headers: &header::HeaderMap) -> Result<(), ApiError> {
    let forbidden = |why: &str| {
        ApiError::new(
            StatusCode::FORBIDDEN,
            format!("the control API without a token answers only local tools: {why}"),
        )
    };
    let host = (headers.get(header::HOST))
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| forbidden("the request has no Host"))?;
    if !is_loopback_host(host) {
        return Err(forbidden("its Host is not a loopback name or address"));
    }
    match headers.get(header::ORIGIN) {
        None => Ok(()),
        Some(origin) if origin.as_bytes() == format!("http://{host}").as_bytes() => Ok(()),
        Some(_) => Err(forbidden("it comes from another site's page")),
    }
}

/// `localhost`, `127.x.y.z` or `[::1]`, with or without a port.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                name
            } else {
                host
            }
        }),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub async fn inject_message(
    State(hub): State<Arc<Hub>>,
    path: Result<Path<ChannelPath>, PathRejection>,
    body: Result<Json<NewMessage>, JsonRejection>,
) -> Result<Response, ApiError> {
    let channel = channel_from(path)?;
    let Json(mut new) = body?;
    new.validate()?;
    new.cut_reference();
    let message = hub.publish_async(channel.clone(), new).await?;
    hub.typing
        .message_from(&channel, &message.author, tokio::time::Instant::now());
    tracing::info!(%channel, id = message.id, "message accepted");
    Ok((StatusCode::CREATED, Json(message)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFrame {
    /// Sent as is: may be malformed on purpose.
    frame: String,
}

/// Test knob: sends `frame` verbatim to a channel's open streams.
pub async fn inject_raw(
    State(hub): State<Arc<Hub>>,
    path: Result<Path<ChannelPath>, PathRejection>,
    body: Result<Json<RawFrame>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let channel = channel_from(path)?;
    let Json(RawFrame { frame }) = body?;
    let delivered = hub.broadcast_raw(&channel, Bytes::from(frame));
    Ok(Json(json!({ "delivered": delivered })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayBody {
    status: Gateway,
}

pub async fn set_gateway(
    State(hub): State<Arc<Hub>>,
    body: Result<Json<GatewayBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(GatewayBody { status }) = body?;
    hub.set_gateway(status);
    Ok(Json(json!({ "gateway": status })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatsBody {
    paused: bool,
}

pub async fn set_heartbeats(
    State(hub): State<Arc<Hub>>,
    body: Result<Json<HeartbeatsBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(HeartbeatsBody { paused }) = body?;
    hub.pause_heartbeats(paused);
    Ok(Json(json!({ "paused": paused })))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DisconnectBody {
    channel: Option<String>,
}

/// The body is optional: no body (or `{}`) ends every stream.
pub async fn disconnect(State(hub): State<Arc<Hub>>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let request: DisconnectBody = if body.iter().all(u8::is_ascii_whitespace) {
        DisconnectBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?
    };
    if let Some(channel) = &request.channel {
        validate_channel(channel)?;
    }
    let closed = hub.streams.disconnect(request.channel.as_deref());
    tracing::info!(channel = ?request.channel, closed, "streams kicked on request");
    Ok(Json(json!({ "closed": closed })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "lowercase", tag = "mode")]
pub enum FaultBody {
    None,
    Reject { status: Option<u16> },
    Stall,
}

pub async fn set_fault(
    State(hub): State<Arc<Hub>>,
    body: Result<Json<FaultBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(body) = body?;
    let fault = match body {
        FaultBody::None => None,
        FaultBody::Stall => Some(Fault::Stall),
        FaultBody::Reject { status } => {
            let code = status.unwrap_or(503);
            let status = StatusCode::from_u16(code)
                .ok()
                .filter(|s| s.is_client_error() || s.is_server_error())
                .ok_or_else(|| {
                    ApiError::bad_request(format!("status {code} must be a 4xx or 5xx code"))
                })?;
            Some(Fault::Reject(status))
        }
    };
    hub.set_fault(fault);
    Ok(Json(json!({ "ok": true })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserBody {
    token: String,
    name: Option<String>,
}

fn users_of(hub: &Hub) -> Result<&crate::users::Users, ApiError> {
    hub.users.as_deref().ok_or_else(|| {
        ApiError::bad_request("this bridge runs without --users: there is no one to sign in")
    })
}

/// `PUT /internal/users` `{"token","name"}`: signs a user in (or renames one).
pub async fn add_user(
    State(hub): State<Arc<Hub>>,
    body: Result<Json<UserBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(UserBody { token, name }) = body?;
    let name = name.ok_or_else(|| ApiError::bad_request("a user needs a \"name\""))?;
    crate::message::check_name(&name, "a user's \"name\"")?;
    if !crate::users::is_token(&token) {
        return Err(ApiError::bad_request(
            "a token is 1 to 512 letters, digits or `-._~+/=`",
        ));
    }
    users_of(&hub)?.insert(token, name);
    Ok(Json(json!({ "ok": true })))
}

/// `DELETE /internal/users` `{"token"}`: the token expires; the streams opened
/// with it end, and it gets 401 from now on.
pub async fn revoke_user(
    State(hub): State<Arc<Hub>>,
    body: Result<Json<UserBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(UserBody { token, .. }) = body?;
    let revoked = users_of(&hub)?.remove(&token);
    let closed = hub.streams.disconnect_token(&token);
    tracing::info!(revoked, closed, "a token was revoked");
    Ok(Json(json!({ "revoked": revoked, "closed": closed })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostFaultBody {
    /// How many of the next posts lose their answer after storing (0: none).
    #[serde(default)]
    drop_answers: u64,
    /// How many of the next posts are turned away, unstored (0: none)…
    #[serde(default)]
    busy: u64,
    /// …with this status: 408, 425, 429 or a 5xx (default 429).
    #[serde(default)]
    status: Option<u16>,
}

/// `PUT /internal/post-fault` `{"drop_answers":n}`: the next `n` posts are
/// stored, then their answers break off, as when a connection drops.
/// `{"busy":n,"status":429}`: the next `n` posts are answered with that
/// status and not stored, as a busy or rate-limiting bridge does.
pub async fn set_post_fault(
    State(hub): State<Arc<Hub>>,
    body: Result<Json<PostFaultBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    use std::sync::atomic::Ordering::Relaxed;
    let Json(PostFaultBody {
        drop_answers,
        busy,
        status,
    }) = body?;
    let status = status.unwrap_or(429);
    if !matches!(status, 408 | 425 | 429 | 500..=599) {
        return Err(ApiError::bad_request(format!(
            "a busy post's status is 408, 425, 429 or a 5xx, not {status}"
        )));
    }
    hub.drop_post_answers.store(drop_answers, Relaxed);
    hub.busy_posts.store(busy, Relaxed);
    hub.busy_status.store(status, Relaxed);
    Ok(Json(
        json!({ "drop_answers": drop_answers, "busy": busy, "status": status }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiskFaultBody {
    /// How much longer each write to the history file takes, in ms (0: none).
    delay_ms: u64,
}

/// `PUT /internal/disk-fault` `{"delay_ms":n}`: every write to the history
/// file (a group of new messages, or a change) takes `n` ms longer, under
/// the writer lock, as on a slow disk.
pub async fn set_disk_fault(
    State(hub): State<Arc<Hub>>,
    body: Result<Json<DiskFaultBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(DiskFaultBody { delay_ms }) = body?;
    if delay_ms > 10_000 {
        return Err(ApiError::bad_request(format!(
            "delay_ms is at most 10000, not {delay_ms}"
        )));
    }
    (hub.disk_delay_ms).store(delay_ms, std::sync::atomic::Ordering::Relaxed);
    Ok(Json(json!({ "delay_ms": delay_ms })))
}

pub async fn connections(State(hub): State<Arc<Hub>>) -> Json<Value> {
    let mut report = hub.streams.report();
    if let Some(callbacks) = &hub.callbacks {
        report["callbacks"] = callbacks.report();
    }
    Json(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_names_and_addresses_of_this_machine_only() {
        for host in [
            "localhost",
            "LOCALHOST:8787",
            "127.0.0.1",
            "127.9.9.9:1",
            "[::1]:8787",
            "[::1]",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "evil.example",
            "127.0.0.1.evil.example",
            "localhost.evil.example:80",
            "10.0.0.1",
            "[::2]:80",
            "",
            "::1",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }
}
