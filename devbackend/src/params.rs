//! Path parameters with problem-JSON rejections.
//!
//! Path segments arrive percent-encoded; axum decodes each segment after routing, so a title
//! containing `%2F` stays one segment and becomes a title with a `/`.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::Method;
use axum::response::Response;
use serde::de::DeserializeOwned;

use crate::error;
use crate::page::parse_revision;

/// Decoded path parameters plus the request method and path for error bodies.
pub struct Params<T> {
    pub values: T,
    pub method: Method,
    pub path: String,
}

impl<S, T> FromRequestParts<S> for Params<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let method = parts.method.clone();
        let path = parts.uri.path().to_owned();
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(values)) => Ok(Self {
                values,
                method,
                path,
            }),
            Err(rejection) => Err(error::bad_request(&method, &path, &rejection.body_text())),
        }
    }
}

impl<T> Params<T> {
    /// An optional revision parameter as the Page Content Service checks it: absent, or a
    /// positive integer; anything else is a 400 problem (boxed: a response is large).
    pub fn revision(&self, text: Option<&String>) -> Result<Option<u64>, Box<Response>> {
        text.map(|r| {
            parse_revision(r).ok_or_else(|| {
                Box::new(error::bad_request(
                    &self.method,
                    &self.path,
                    "revision must be a positive integer",
                ))
            })
        })
        .transpose()
    }
}
