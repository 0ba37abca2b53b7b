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
