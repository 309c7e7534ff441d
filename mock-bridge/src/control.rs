//! `/internal/…`: the control API that tests and developers use to inject
//! messages and faults. Served only on loopback or behind `CONTROL_TOKEN`.

use crate::error::ApiError;
use crate::hub::{Fault, Gateway, Hub};
use crate::message::{validate_channel, NewMessage};
use crate::stream::{channel_from, ChannelPath};
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Refuses control calls without the bearer token, when one is configured.
pub async fn require_token(State(hub): State<Arc<Hub>>, request: Request, next: Next) -> Response {
    if let Some(token) = &hub.config.control_token {
        let presented = (request.headers().get(header::AUTHORIZATION))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !presented.is_some_and(|p| constant_time_eq(p.as_bytes(), token.as_bytes())) {
            return ApiError::new(
                StatusCode::UNAUTHORIZED,
                "the control API needs `Authorization: Bearer <CONTROL_TOKEN>`",
            )
            .into_response();
        }
    }
    next.run(request).await
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
    let Json(new) = body?;
    new.validate()?;
    let message = hub.publish(&channel, new).map_err(|error| {
        tracing::error!(%error, "message not stored");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
    })?;
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
    hub.heartbeats_paused.store(paused, Ordering::Relaxed);
    tracing::info!(
        paused,
        "heartbeats {}",
        if paused { "paused" } else { "resumed" }
    );
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
    let closed = hub.connections.disconnect(request.channel.as_deref());
    tracing::info!(channel = ?request.channel, closed, "streams disconnected on request");
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
        FaultBody::None => Fault::None,
        FaultBody::Stall => Fault::Stall,
        FaultBody::Reject { status } => {
            let code = status.unwrap_or(503);
            let status = StatusCode::from_u16(code)
                .ok()
                .filter(|s| s.is_client_error() || s.is_server_error())
                .ok_or_else(|| {
                    ApiError::bad_request(format!("status {code} must be a 4xx or 5xx code"))
                })?;
            Fault::Reject(status)
        }
    };
    hub.set_fault(fault);
    Ok(Json(json!({ "ok": true })))
}

pub async fn connections(State(hub): State<Arc<Hub>>) -> Json<Value> {
    Json(hub.connections.report())
}
