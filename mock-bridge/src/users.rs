//! Signed-in users: `--users FILE` maps tokens to names and guards `/api/*`.
//!
//! A request names its token in one of three ways, the first found wins:
//! `Authorization: Bearer <token>` (fetches), `?access_token=<token>` (event
//! streams: `EventSource` cannot send headers), or the cookie `dp_token` (hosts
//! that sign people in with cookies; see `--allow-credentials`). Tokens are
//! never logged or reported: `/internal/connections` shows the user's name.

use crate::error::ApiError;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

/// The cookie a cookie-signed-in host sets for the bridge.
pub const TOKEN_COOKIE: &str = "dp_token";

/// Who may read: token → name. Changed at run time by the control API
/// (`PUT`/`DELETE /internal/users`), as a sign-in service would.
#[derive(Debug, Default)]
pub struct Users {
    names: RwLock<HashMap<String, String>>,
}

/// A request's identity: its token (to end its streams when the token is
/// revoked) and the user's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub token: String,
    pub name: String,
}

impl Users {
    /// Reads lines of `token name`; blank lines and `#` comments are skipped.
    /// Anything else is an error naming the line (never the token).
    pub fn load(path: &Path) -> Result<Users, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("--users {}: {error}", path.display()))?;
        Users::parse(&text).map_err(|problem| format!("--users {}: {problem}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Users, String> {
        let mut names = HashMap::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (token, name) = line
                .split_once(char::is_whitespace)
                .map(|(token, name)| (token, name.trim()))
                .unwrap_or((line, ""));
            if !crate::message::is_person_name(name) || !is_token(token) {
                return Err(format!(
                    "line {} must be a token (letters, digits, `-._~+/=`) and a name (1 to {} \
                     characters, at most {} bytes, no control characters)",
                    number + 1,
                    crate::message::MAX_NAME_CHARS,
                    crate::message::MAX_NAME_BYTES,
                ));
            }
            names.insert(token.to_owned(), name.to_owned());
        }
        Ok(Users {
            names: RwLock::new(names),
        })
    }

    /// The identity of `token`, if it is a known token.
    pub fn identify(&self, token: Option<&str>) -> Option<Arc<Identity>> {
        let token = token?;
        let names = self.names.read().unwrap();
        names.get(token).map(|name| {
            Arc::new(Identity {
                token: token.to_owned(),
                name: name.clone(),
            })
        })
    }

    /// Adds or renames a user.
    pub fn insert(&self, token: String, name: String) {
        self.names.write().unwrap().insert(token, name);
    }

    /// Revokes a token; whether it was known.
    pub fn remove(&self, token: &str) -> bool {
        self.names.write().unwrap().remove(token).is_some()
    }
}

/// Characters of an RFC 6750 bearer token.
pub fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 512
        && (text.bytes()).all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b))
}

/// The token a request names (see the module's doc), if any.
pub fn token_of(headers: &HeaderMap, query: &HashMap<String, String>) -> Option<String> {
    let bearer = (headers.get(header::AUTHORIZATION))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let cookie = || {
        (headers.get_all(header::COOKIE).iter())
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == TOKEN_COOKIE)
            .map(|(_, value)| value)
    };
    bearer
        .or_else(|| query.get("access_token").map(String::as_str))
        .or_else(cookie)
        .filter(|token| !token.is_empty())
        .map(str::to_owned)
}

/// The answer to a request without a valid token.
pub fn unauthorized() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "sign in first: this bridge needs a valid token (Authorization: Bearer, ?access_token= or the dp_token cookie)",
    )
}

/// Middleware for `/api/*`: with `--users`, a request without a known token
/// gets 401; a known one goes on with its [`Identity`] as an extension.
pub async fn require_user(
    State(users): State<Option<Arc<Users>>>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(users) = users else {
        return next.run(request).await;
    };
    let query: HashMap<String, String> =
        serde_urlencoded::from_str(request.uri().query().unwrap_or("")).unwrap_or_default();
    match users.identify(token_of(request.headers(), &query).as_deref()) {
        Some(identity) => {
            request.extensions_mut().insert(identity);
            next.run(request).await
        }
        None => {
            let mut response = unauthorized().into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_users_file_is_tokens_and_names() {
        let users = Users::parse("# team\nt0k-1 Alice Liddell\n\n  abc.DEF= bob \n").unwrap();
        assert_eq!(users.identify(Some("t0k-1")).unwrap().name, "Alice Liddell");
        assert_eq!(users.identify(Some("abc.DEF=")).unwrap().name, "bob");
        assert_eq!(users.identify(Some("nope")), None);
        assert_eq!(users.identify(None), None);
        let too_long = format!("t0k {}", "n".repeat(33));
        for bad in ["lonely-token", "bad\"token name", "tök name", &too_long] {
            let error = Users::parse(bad).unwrap_err();
            assert!(error.contains("line 1"), "{error}");
            assert!(!error.contains("lonely"), "a token in an error: {error}");
        }
        assert!(users.remove("t0k-1"));
        assert_eq!(users.identify(Some("t0k-1")), None);
    }

    #[test]
    fn the_token_comes_from_the_header_the_query_or_the_cookie() {
        let mut headers = HeaderMap::new();
        let mut query = HashMap::new();
        assert_eq!(token_of(&headers, &query), None);
        headers.insert(header::COOKIE, "a=1; dp_token=cookie; b=2".parse().unwrap());
        assert_eq!(token_of(&headers, &query).as_deref(), Some("cookie"));
        query.insert("access_token".to_owned(), "query".to_owned());
        assert_eq!(token_of(&headers, &query).as_deref(), Some("query"));
        headers.insert(header::AUTHORIZATION, "Bearer header".parse().unwrap());
        assert_eq!(token_of(&headers, &query).as_deref(), Some("header"));
    }
}
