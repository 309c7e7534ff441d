//! `GET /api/channels/{channel}/messages`: history.

use crate::error::ApiError;
use crate::extract::{channel_from, ChannelPath};
use crate::history::HistoryQuery;
use crate::hub::Hub;
use crate::message::{parse_id, Message};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::Deserialize;
use std::sync::Arc;

/// Largest `limit` served; larger ones are clamped to it.
pub const MAX_LIMIT: usize = 500;
/// `limit` when none is given.
pub const DEFAULT_LIMIT: usize = 50;

#[derive(Deserialize)]
pub struct HistoryParams {
    limit: Option<String>,
    after: Option<String>,
    before: Option<String>,
}

impl HistoryParams {
    fn validate(&self) -> Result<HistoryQuery, ApiError> {
        let limit = match self.limit.as_deref() {
            None => DEFAULT_LIMIT,
            Some(text) => {
                let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
                if !digits || text.bytes().all(|b| b == b'0') {
                    return Err(ApiError::bad_request(format!(
                        "limit {text:?} must be a whole number from 1 to {MAX_LIMIT}"
                    )));
                }
                // Digits beyond u64 are just a very large limit: clamp it too.
                text.parse::<u64>()
                    .map_or(MAX_LIMIT, |n| n.min(MAX_LIMIT as u64) as usize)
            }
        };
        let id = |name: &str, value: &Option<String>| -> Result<Option<u64>, ApiError> {
            value
                .as_deref()
                .map(|text| {
                    parse_id(text).ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "{name} {text:?} is not a decimal message id"
                        ))
                    })
                })
                .transpose()
        };
        Ok(HistoryQuery {
            limit,
            after: id("after", &self.after)?,
            before: id("before", &self.before)?,
        })
    }
}

pub async fn history(
    State(hub): State<Arc<Hub>>,
    path: Result<Path<ChannelPath>, PathRejection>,
    query: Result<Query<HistoryParams>, QueryRejection>,
) -> Result<Json<Vec<Arc<Message>>>, ApiError> {
    let channel = channel_from(path)?;
    let Query(params) = query?;
    let query = params.validate()?;
    Ok(Json(hub.history(&channel, query)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(limit: Option<&str>) -> HistoryParams {
        HistoryParams {
            limit: limit.map(str::to_owned),
            after: None,
            before: None,
        }
    }

    #[test]
    fn limits_follow_the_contract() {
        assert_eq!(params(None).validate().unwrap().limit, 50);
        assert_eq!(params(Some("7")).validate().unwrap().limit, 7);
        assert_eq!(params(Some("501")).validate().unwrap().limit, 500);
        assert_eq!(
            params(Some("99999999999999999999999"))
                .validate()
                .unwrap()
                .limit,
            500
        );
        for bad in ["0", "000", "", "-1", "ten", "1.5", " 5"] {
            assert!(params(Some(bad)).validate().is_err(), "{bad:?}");
        }
    }
}
