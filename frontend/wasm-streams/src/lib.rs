//! The two conversions Leptos' server functions make between Rust streams and
//! the browser's `ReadableStream` (a streaming request body, a streaming
//! response), standing in for crates.io's `wasm-streams` 0.5 through the
//! workspace's `[patch.crates-io]`.
//!
//! Why: Leptos' `csr` feature always turns on `server_fn`'s `browser` feature,
//! which depends on `wasm-streams`, whose underlying sources and sinks are
//! `#[wasm_bindgen]` classes. Exports are roots that no linker or optimiser may
//! drop, so the panel (which has no server functions) carried about 13 KB of
//! wasm and their JS classes for nothing (docs/BENCHMARKS.md, size ledger).
//! Here the underlying source is a plain JS object with Rust closures, built
//! only when a stream is made, so none of it is in a build that never makes
//! one. Only what `server_fn` 0.8 calls is provided; the API has the same
//! names and shapes, so `server_fn` compiles against it unchanged.

use std::cell::RefCell;
use std::pin::Pin;
use std::rc::Rc;

use futures_util::stream::{self, Stream, StreamExt};
use js_sys::{Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::{ReadableStreamDefaultController, ReadableStreamDefaultReader};

/// The items a JS stream carries, as `wasm-streams` represents them.
type Item = Result<JsValue, JsValue>;

/// The underlying source's `pull(controller)`, which answers a promise.
type Pull = Closure<dyn FnMut(JsValue) -> Promise>;

/// The underlying source's `cancel(reason)`.
type Cancel = Closure<dyn FnMut(JsValue)>;

/// A [JavaScript `ReadableStream`](web_sys::ReadableStream), convertible to
/// and from a Rust [`Stream`].
#[derive(Debug)]
pub struct ReadableStream {
    raw: web_sys::ReadableStream,
}

/// What a stream made by [`ReadableStream::from_stream`] holds while the
/// browser may still pull from it: the Rust stream, and the source's two
/// closures, which are dropped (ending the cycle through `Rc`) once the
/// stream has ended, failed or been cancelled.
struct Source {
    stream: Option<Pin<Box<dyn Stream<Item = Item>>>>,
    closures: Option<(Pull, Cancel)>,
}

impl Source {
    /// Forgets the stream and the closures: the browser calls neither again.
    fn end(source: &RefCell<Source>) {
        let ended = {
            let mut source = source.borrow_mut();
            source.stream = None;
            source.closures.take()
        };
        drop(ended);
    }
}

impl ReadableStream {
    /// Wraps a JavaScript stream.
    pub fn from_raw(raw: web_sys::ReadableStream) -> Self {
        Self { raw }
    }

    /// The JavaScript stream.
    pub fn into_raw(self) -> web_sys::ReadableStream {
        self.raw
    }

    /// A JavaScript stream that reads `stream` as the browser pulls: one item
    /// per pull (a high-water mark of 0, so nothing is buffered on the JS
    /// side); an `Err` item errors the JS stream.
    pub fn from_stream<St>(stream: St) -> Self
    where
        St: Stream<Item = Item> + 'static,
    {
        let source = Rc::new(RefCell::new(Source {
            stream: Some(Box::pin(stream)),
            closures: None,
        }));
        let pulled = Rc::clone(&source);
        let pull = Pull::new(move |controller: JsValue| {
            let source = Rc::clone(&pulled);
            future_to_promise(async move {
                let controller: ReadableStreamDefaultController = controller.unchecked_into();
                // The browser does not pull again before this promise settles,
                // so the stream is taken out rather than borrowed across the await.
                let Some(mut stream) = source.borrow_mut().stream.take() else {
                    return Ok(JsValue::UNDEFINED);
                };
                match stream.next().await {
                    Some(Ok(chunk)) => {
                        source.borrow_mut().stream = Some(stream);
                        controller.enqueue_with_chunk(&chunk)?;
                    }
                    Some(Err(error)) => {
                        Source::end(&source);
                        return Err(error);
                    }
                    None => {
                        Source::end(&source);
                        controller.close()?;
                    }
                }
                Ok(JsValue::UNDEFINED)
            })
        });
        let cancelled = Rc::clone(&source);
        let cancel = Cancel::new(move |_reason| Source::end(&cancelled));
        let underlying = Object::new();
        let strategy = Object::new();
        let raw = Reflect::set(&underlying, &"pull".into(), pull.as_ref())
            .and_then(|_| Reflect::set(&underlying, &"cancel".into(), cancel.as_ref()))
            .and_then(|_| Reflect::set(&strategy, &"highWaterMark".into(), &0.into()))
            .and_then(|_| {
                web_sys::ReadableStream::new_with_underlying_source_and_strategy(
                    &underlying,
                    strategy.unchecked_ref(),
                )
            })
            .unwrap_throw();
        source.borrow_mut().closures = Some((pull, cancel));
        Self::from_raw(raw)
    }

    /// A Rust stream of this stream's chunks, read through a default reader
    /// (which locks the JS stream); it ends after the JS stream is done, or
    /// after its first error.
    pub fn into_stream(self) -> impl Stream<Item = Item> {
        let reader: ReadableStreamDefaultReader = self.raw.get_reader().unchecked_into();
        stream::unfold(Some(reader), |reader| async move {
            let reader = reader?;
            match JsFuture::from(reader.read()).await {
                Ok(result) => {
                    let done =
                        Reflect::get(&result, &"done".into()).map_or(true, |done| done.is_truthy());
                    if done {
                        return None;
                    }
                    let value =
                        Reflect::get(&result, &"value".into()).unwrap_or(JsValue::UNDEFINED);
                    Some((Ok(value), Some(reader)))
                }
                Err(error) => Some((Err(error), None)),
            }
        })
    }
}
