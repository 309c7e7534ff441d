//! Changes to messages after their creation: edits, deletions and reactions,
//! from the control API (playing Discord: any message) and from readers
//! (their own messages; their own reactions), and the catch-up of every
//! change after a change id.
//!
//! - `PATCH`/`DELETE /internal/channels/{c}/messages/{id}`,
//!   `POST /internal/channels/{c}/messages/bulk-delete`,
//!   `PUT`/`DELETE /internal/channels/{c}/messages/{id}/reactions/{emoji}`;
//! - `PATCH`/`DELETE /api/channels/{c}/messages/{id}` (the author's own, else
//!   403), `PUT`/`DELETE /api/channels/{c}/messages/{id}/reactions/{emoji}`;
//! - `GET /api/channels/{c}/changes?after=<id>&limit=`.

use crate::error::ApiError;
use crate::hub::{Actor, Changed, Edit, Hub};
use crate::message::{check_name, parse_id, validate_channel, Change, NewMessage};
use crate::reactions::ReactionData;
use crate::users::Identity;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

/// `{channel}/messages/{id}` (and `/reactions/{emoji}`).
#[derive(Deserialize)]
pub struct MessagePath {
    channel: String,
    id: String,
    #[serde(default)]
    emoji: Option<String>,
}

/// The channel, the message id and the emoji (if any) of a path, checked.
fn message_path(
    path: Result<Path<MessagePath>, PathRejection>,
) -> Result<(String, u64, Option<String>), ApiError> {
    let Path(MessagePath { channel, id, emoji }) =
        path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    validate_channel(&channel)?;
    let id = parse_id(&id)
        .ok_or_else(|| ApiError::bad_request(format!("{id:?} is not a decimal message id")))?;
    if let Some(emoji) = &emoji {
        crate::reactions::check_emoji(emoji)?;
    }
    Ok((channel, id, emoji))
}

/// An edit's body: the new text, and, on a bridge without `--users`, whose
/// message it is (`author`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditBody {
    content: String,
    #[serde(default)]
    author: Option<String>,
    /// A retried edit's id: applied once, whatever the retries.
    #[serde(default)]
    client_id: Option<String>,
}

/// A deletion's or a reaction's body (a reader's, or the control API's `user`).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct WhoBody {
    #[serde(default)]
    author: Option<String>,
    #[serde(default)]
    user: Option<String>,
    /// A retried deletion's id: done once, answered alike.
    #[serde(default)]
    client_id: Option<String>,
}

/// Checks an edit's text as a new message's is checked.
fn checked_content(content: String) -> Result<String, ApiError> {
    let new = NewMessage {
        author: "-".into(),
        content,
        ..Default::default()
    };
    new.validate()?;
    Ok(new.content)
}

/// Who a reader is: the signed-in user, or, without `--users`, the body's
/// name (a person's name, see [`check_name`]).
fn reader(
    identity: Option<Extension<Arc<Identity>>>,
    named: Option<String>,
) -> Result<String, ApiError> {
    match (identity, named) {
        (Some(Extension(identity)), _) => Ok(identity.name.clone()),
        (None, Some(name)) => {
            check_name(
                &name,
                "\"author\" (who you are, on a bridge without --users)",
            )?;
            Ok(name)
        }
        (None, None) => Err(ApiError::bad_request(
            "this bridge runs without --users: say who you are with \"author\"",
        )),
    }
}

/// A change's answer: the message as it now is, `{"deleted":…}`, or the
/// reaction's state (what its event carries, with every emoji's entry). A
/// reader's own reaction toggle also says whether it is now theirs (`me`).
fn answer(changed: &Changed, actor: &Actor) -> Result<Value, ApiError> {
    let reader = matches!(actor, Actor::Reader(_));
    let value = match changed {
        Changed::Made { change, now } => match (&**change, now) {
            (Change::Delete { message_id, .. }, _) => {
                return Ok(json!({ "deleted": message_id.to_string() }))
            }
            (
                Change::Reaction {
                    id,
                    emoji,
                    user,
                    added,
                    ..
                },
                Some(now),
            ) => {
                let mut data = ReactionData::of(now, emoji, user, *added);
                data.version = Some(*id);
                data.me = reader.then_some(*added);
                serde_json::to_value(data)
            }
            (_, Some(now)) => serde_json::to_value(&**now),
            // Made, then gone before the answer: nothing left to show.
            (_, None) => Ok(json!({ "id": change.message_id().to_string() })),
        },
        Changed::Unchanged {
            now,
            emoji,
            user,
            holds,
        } => {
            let mut data = ReactionData::of(now, emoji, user, *holds);
            data.me = reader.then_some(*holds);
            serde_json::to_value(data)
        }
    };
    value.map_err(|error| {
        ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            format!("the answer could not be written: {error}"),
        )
    })
}

async fn change(
    hub: &Arc<Hub>,
    channel: String,
    id: u64,
    edit: Edit,
    actor: Actor,
    client_id: Option<String>,
) -> Result<Json<Value>, ApiError> {
    if client_id
        .as_ref()
        .is_some_and(|c| c.is_empty() || c.len() > 128)
    {
        return Err(ApiError::bad_request("client_id: 1 to 128 characters"));
    }
    let changed = hub
        .change_async(channel, id, edit, actor.clone(), client_id)
        .await?;
    match changed.change() {
        Some(change) => tracing::info!(id = change.id(), message = id, "message changed"),
        None => tracing::info!(message = id, "a reaction changed nothing"),
    }
    Ok(Json(answer(&changed, &actor)?))
}

/// A body that may be absent (a `DELETE` without one).
fn optional<T: Default>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    match body {
        Ok(Json(body)) => Ok(body),
        Err(JsonRejection::MissingJsonContentType(_)) => Ok(T::default()),
        Err(rejection) => Err(rejection.into()),
    }
}

pub async fn control_edit(
    State(hub): State<Arc<Hub>>,
    path: Result<Path<MessagePath>, PathRejection>,
    body: Result<Json<EditBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let (channel, id, _) = message_path(path)?;
    let Json(body) = body?;
    let edit = Edit::Content(checked_content(body.content)?);
    change(&hub, channel, id, edit, Actor::Control, None).await
}

pub async fn control_delete(
    State(hub): State<Arc<Hub>>,
    path: Result<Path<MessagePath>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let (channel, id, _) = message_path(path)?;
    change(&hub, channel, id, Edit::Delete, Actor::Control, None).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkBody {
    ids: Vec<String>,
}

/// `POST …/messages/bulk-delete` `{"ids":[…]}`: all or nothing. Every id
/// must be held (else 404 and nothing is deleted); a repeated id counts
/// once; each deletion is a change of its own.
pub async fn control_bulk_delete(
    State(hub): State<Arc<Hub>>,
    path: Result<Path<crate::extract::ChannelPath>, PathRejection>,
    body: Result<Json<BulkBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let channel = crate::extract::channel_from(path)?;
    let Json(BulkBody { ids }) = body?;
    if ids.is_empty() || ids.len() > 100 {
        return Err(ApiError::bad_request("ids lists 1 to 100 message ids"));
    }
    let mut parsed = Vec::new();
    for id in &ids {
        parsed.push(
            parse_id(id).ok_or_else(|| {
                ApiError::bad_request(format!("{id:?} is not a decimal message id"))
            })?,
        );
    }
    let deleted = hub.bulk_delete_async(channel, parsed).await?;
    let deleted: Vec<String> = (deleted.iter())
        .map(|c| c.message_id().to_string())
        .collect();
    Ok(Json(json!({ "deleted": deleted })))
}

pub async fn control_react(
    State(hub): State<Arc<Hub>>,
    method: axum::http::Method,
    path: Result<Path<MessagePath>, PathRejection>,
    body: Result<Json<WhoBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let (channel, id, emoji) = message_path(path)?;
    let body = optional(body)?;
    let user = (body.user).ok_or_else(|| ApiError::bad_request("name the reacting \"user\""))?;
    check_name(&user, "the reacting \"user\"")?;
    let edit = Edit::React {
        emoji: emoji.unwrap_or_default(),
        user,
        add: method == axum::http::Method::PUT,
    };
    change(&hub, channel, id, edit, Actor::Control, None).await
}

pub async fn reader_edit(
    State(hub): State<Arc<Hub>>,
    identity: Option<Extension<Arc<Identity>>>,
    path: Result<Path<MessagePath>, PathRejection>,
    body: Result<Json<EditBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let (channel, id, _) = message_path(path)?;
    let Json(body) = body?;
    let who = reader(identity, body.author)?;
    let edit = Edit::Content(checked_content(body.content)?);
    change(&hub, channel, id, edit, Actor::Reader(who), body.client_id).await
}

pub async fn reader_delete(
    State(hub): State<Arc<Hub>>,
    identity: Option<Extension<Arc<Identity>>>,
    path: Result<Path<MessagePath>, PathRejection>,
    body: Result<Json<WhoBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let (channel, id, _) = message_path(path)?;
    let body = optional(body)?;
    let who = reader(identity, body.author)?;
    change(
        &hub,
        channel,
        id,
        Edit::Delete,
        Actor::Reader(who),
        body.client_id,
    )
    .await
}

pub async fn reader_react(
    State(hub): State<Arc<Hub>>,
    identity: Option<Extension<Arc<Identity>>>,
    method: axum::http::Method,
    path: Result<Path<MessagePath>, PathRejection>,
    body: Result<Json<WhoBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let (channel, id, emoji) = message_path(path)?;
    let who = reader(identity, optional(body)?.author)?;
    let edit = Edit::React {
        emoji: emoji.unwrap_or_default(),
        user: who.clone(),
        add: method == axum::http::Method::PUT,
    };
    change(&hub, channel, id, edit, Actor::Reader(who), None).await
}

#[derive(Deserialize)]
pub struct ChangesParams {
    after: Option<String>,
    limit: Option<String>,
    /// Whom the answer is for, without `--users` (see [`crate::extract::answer_for`]).
    #[serde(rename = "as")]
    reader: Option<String>,
}

/// `GET /api/channels/{c}/changes?after=<id>&limit=` → every change after
/// that change id, coalesced: `{"messages":[…as they now are…],
/// "deleted":["<id>"…],"last":"<newest change id covered>","more":bool}`,
/// a page of at most `limit` changes (default 50, at most 500); or
/// `{"resync":"history_gap"}` when the bridge no longer knows them all (the
/// client reloads what it shows). The reader's own reactions are marked.
pub async fn catch_up(
    State(hub): State<Arc<Hub>>,
    identity: Option<Extension<Arc<Identity>>>,
    path: Result<Path<crate::extract::ChannelPath>, PathRejection>,
    query: Result<Query<ChangesParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let channel = crate::extract::channel_from(path)?;
    let Query(params) = query?;
    let reader = crate::extract::answer_for(identity, params.reader)?;
    let after = params.after.as_deref().unwrap_or("0");
    let after = parse_id(after).ok_or_else(|| {
        ApiError::bad_request(format!("after={after:?} is not a decimal change id"))
    })?;
    let limit = match params.limit.as_deref() {
        None => crate::api::DEFAULT_LIMIT,
        Some(text) => match text.parse::<usize>() {
            Ok(0) | Err(_) => {
                return Err(ApiError::bad_request(format!(
                    "limit={text:?}: a number from 1 to {}",
                    crate::api::MAX_LIMIT
                )))
            }
            Ok(n) => n.min(crate::api::MAX_LIMIT),
        },
    };
    Ok(Json(
        match hub.changes_after(&channel, after, limit, reader.as_deref()) {
            None => json!({ "resync": "history_gap" }),
            Some(page) => json!({
                "messages": page.messages,
                "deleted": page.deleted.iter().map(u64::to_string).collect::<Vec<_>>(),
                "last": page.last.map(|id| id.to_string()),
                "more": page.more,
            }),
        },
    ))
}
