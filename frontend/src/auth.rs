//! Signing in to the bridge: a token (fixed, or asked for before every
//! request so an expiring one is refreshed on each reconnection) and cookies.
//!
//! The bridge takes the token as `Authorization: Bearer` on fetches and as
//! `?access_token=` on event streams, which cannot send headers. The host's
//! function has [`TOKEN_TIMEOUT_MS`] to answer; past it, what it was asked
//! for fails as on a network error ([`Hung`]), and the next attempt asks
//! again.

use crate::browser::{log_thrown, log_warn};
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;
use wasm_bindgen::{JsCast, JsValue};

/// How long the host's token function has to answer (10 s).
pub const TOKEN_TIMEOUT_MS: u32 = 10_000;

/// The host's token function did not answer within [`TOKEN_TIMEOUT_MS`].
#[derive(Debug)]
pub struct Hung;

/// What a token provider returns: the token, or `None` to go without.
pub type TokenFuture = Pin<Box<dyn Future<Output = Option<String>>>>;

/// Where the panel's token comes from.
#[derive(Clone, Default)]
pub enum Token {
    /// No sign-in.
    #[default]
    None,
    /// The same token every time.
    Fixed(String),
    /// Asked before every request to the bridge: the host returns its current
    /// token, refreshing it when it expires.
    Provider(Rc<dyn Fn() -> TokenFuture>),
}

impl Token {
    /// A JavaScript value as a token: a string, or a function returning a
    /// string or a promise of one. Anything else is no token.
    pub fn from_js(value: &JsValue) -> Token {
        if let Some(text) = value.as_string() {
            return Token::Fixed(text);
        }
        let Some(function) = value.dyn_ref::<js_sys::Function>().cloned() else {
            return Token::None;
        };
        Token::Provider(Rc::new(move || {
            let function = function.clone();
            Box::pin(async move {
                let answer = match function.call0(&JsValue::NULL) {
                    Ok(answer) => answer,
                    Err(error) => {
                        log_thrown(true, "the token function threw", &error);
                        return None;
                    }
                };
                // A string, or a promise of one: `Promise.resolve` takes
                // both (no `instanceof Promise` import of its own).
                let answer = js_sys::Promise::resolve(&answer);
                let answer = wasm_bindgen_futures::JsFuture::from(answer)
                    .await
                    .map_err(|error| log_thrown(true, "the token promise failed", &error))
                    .ok()?;
                answer.as_string()
            })
        }))
    }
}

/// A panel's credentials, shared by its connection and its host, which may
/// replace the token at any time (`panel.token = …`).
#[derive(Clone, Default)]
pub struct Auth {
    token: Rc<RefCell<Token>>,
    /// Send the browser's cookies with the stream and the fetches.
    pub with_credentials: bool,
    /// Called when the host replaces the token: the panel asks who the
    /// reader is now (an account switch moves its sharing and replies).
    watcher: Rc<RefCell<Option<Watcher>>>,
}

/// What [`Auth::watch`] keeps.
type Watcher = Box<dyn Fn()>;

impl fmt::Debug for Auth {
    /// Never the token itself.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let token = match &*self.token.borrow() {
            Token::None => "none",
            Token::Fixed(_) => "fixed",
            Token::Provider(_) => "provider",
        };
        f.debug_struct("Auth")
            .field("token", &token)
            .field("with_credentials", &self.with_credentials)
            .finish()
    }
}

impl Auth {
    pub fn new(token: Token, with_credentials: bool) -> Auth {
        Auth {
            token: Rc::new(RefCell::new(token)),
            with_credentials,
            watcher: Rc::default(),
        }
    }

    /// Whether there is a token (or a function for one).
    pub fn has_token(&self) -> bool {
        !matches!(&*self.token.borrow(), Token::None)
    }

    /// Replaces the token; the next request uses the new one.
    pub fn set_token(&self, token: Token) {
        *self.token.borrow_mut() = token;
        if let Some(watcher) = &*self.watcher.borrow() {
            watcher();
        }
    }

    /// Calls `watcher` whenever the token is replaced (one watcher: the
    /// panel's current connection).
    pub fn watch(&self, watcher: impl Fn() + 'static) {
        *self.watcher.borrow_mut() = Some(Box::new(watcher));
    }

    /// Calls `then` with the token for a stream, from a task of its own,
    /// once the host's function (if any) has answered, or with [`Hung`].
    /// What comes late may no longer be wanted: `then` opens what is wanted
    /// when it runs, never what was wanted before the wait.
    pub fn with_token(&self, then: Box<dyn FnOnce(Result<Option<String>, Hung>)>) {
        let auth = self.clone();
        wasm_bindgen_futures::spawn_local(async move { then(auth.token().await) });
    }

    /// The token for the next request, asking the provider if there is one
    /// (at most [`TOKEN_TIMEOUT_MS`]).
    pub async fn token(&self) -> Result<Option<String>, Hung> {
        let provider = match &*self.token.borrow() {
            Token::Provider(provider) => provider.clone(),
            Token::None => return Ok(None),
            Token::Fixed(token) => return Ok(Some(token.clone())),
        };
        let mut answer = provider();
        // A promise of the script's that resolves after the timeout (its
        // timer runs out on its own, unheard, when the answer came first:
        // a `js_sys::Promise::new` of a cancellable timer was the only use
        // left of that constructor's closure glue, with `browser::sleep`).
        let mut late = wasm_bindgen_futures::JsFuture::from(crate::embed::later(TOKEN_TIMEOUT_MS));
        let token = std::future::poll_fn(|cx| match answer.as_mut().poll(cx) {
            Poll::Ready(token) => Poll::Ready(Ok(token)),
            Poll::Pending => Pin::new(&mut late).poll(cx).map(|_| Err(Hung)),
        })
        .await;
        if token.is_err() {
            log_warn("the token function did not answer within 10 s");
        }
        Ok(token?.filter(|token| !token.is_empty()))
    }
}

/// `url` with `access_token=` added to its query, when there is a token.
pub fn with_access_token(url: &str, token: Option<&str>) -> String {
    match token {
        None => url.to_owned(),
        Some(token) => {
            let join = if url.contains('?') { "&" } else { "?" };
            let token = String::from(js_sys::encode_uri_component(token));
            [url, join, "access_token=", &token].concat()
        }
    }
}
