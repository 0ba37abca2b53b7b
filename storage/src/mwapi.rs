//! The MediaWiki action API client behind `page_revisions`: the revision query RESTBase's
//! storage service sent (`sys/page_revisions.js` `fetchMWRevision`), POSTed as a form to the
//! configured API URL with the wiki's domain as `Host`, as RESTBase's `sys/action.js` did.

use prometheus_client::metrics::counter::Counter;
use std::time::Duration;

use serde_json::Value;

/// Where the action API is and how long to wait for it.
#[derive(Debug, Clone)]
pub struct MwApiConfig {
    /// URL of `api.php`; `{domain}` in it is replaced by the wiki's domain.
    pub url: String,
    /// Whole-request timeout.
    pub timeout: Duration,
}

/// Default timeout for one action API request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The form RESTBase sent, without the title or revision selector.
const REVISION_FORM: &str = "action=query&format=json&formatversion=2&prop=info%7Crevisions\
    &continue=&rvprop=ids%7Ctimestamp%7Cuser%7Cuserid%7Csize%7Csha1%7Ccontentmodel%7Ccomment%7Ctags";

/// Why the action API gave no usable answer.
#[derive(Debug)]
pub enum MwApiError {
    /// No URL configured.
    NotConfigured,
    /// Connection failure, timeout or a non-200 status.
    Unavailable(String),
    /// A 200 whose body is not an action API answer (or is an API error).
    BadAnswer(String),
}

impl std::fmt::Display for MwApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotConfigured => f.write_str("no action API configured"),
            Self::Unavailable(e) => write!(f, "action API unavailable: {e}"),
            Self::BadAnswer(e) => write!(f, "action API answer unusable: {e}"),
        }
    }
}

/// The client, with a counter of failed requests.
pub struct MwApi {
    config: Option<MwApiConfig>,
    agent: ureq::Agent,
    failures: Counter,
}

/// What to look up: the latest revision of a title, or one revision.
pub enum Selector<'a> {
    Title(&'a str),
    Revision(u64),
}

impl MwApi {
    pub fn new(config: Option<MwApiConfig>, failures: Counter) -> Self {
        let timeout = config.as_ref().map_or(DEFAULT_TIMEOUT, |c| c.timeout);
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .max_redirects(0)
            .build()
            .into();
        Self {
            config,
            agent,
            failures,
        }
    }

    /// Runs the revision query for `domain`; blocks, call it off the async executor.
    pub fn revision_query(
        &self,
        domain: &str,
        selector: &Selector<'_>,
    ) -> Result<Value, MwApiError> {
        let result = self.query(domain, selector);
        if matches!(
            result,
            Err(MwApiError::Unavailable(_) | MwApiError::BadAnswer(_))
        ) {
            self.failures.inc();
        }
        result
    }

    fn query(&self, domain: &str, selector: &Selector<'_>) -> Result<Value, MwApiError> {
        let config = self.config.as_ref().ok_or(MwApiError::NotConfigured)?;
        let url = config.url.replace("{domain}", domain);
        let form = match selector {
            Selector::Title(title) => format!("{REVISION_FORM}&titles={}", form_encode(title)),
            Selector::Revision(rev) => format!("{REVISION_FORM}&revids={rev}"),
        };
        let mut response = self
            .agent
            .post(&url)
            .header("host", domain)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("user-agent", "restrouter-storage")
            .send(form.as_bytes())
            .map_err(|e| MwApiError::Unavailable(e.to_string()))?;
        if response.status() != 200 {
            return Err(MwApiError::Unavailable(format!(
                "status {}",
                response.status()
            )));
        }
        let body = response
            .body_mut()
            .with_config()
            .limit(4 * 1024 * 1024)
            .read_to_vec()
            .map_err(|e| MwApiError::Unavailable(e.to_string()))?;
        let value: Value =
            serde_json::from_slice(&body).map_err(|e| MwApiError::BadAnswer(e.to_string()))?;
        if let Some(error) = value.get("error") {
            return Err(MwApiError::BadAnswer(error.to_string()));
        }
        if !value.get("query").is_some_and(Value::is_object) {
            return Err(MwApiError::BadAnswer("no query object".into()));
        }
        Ok(value)
    }
}

/// Form-encodes a value: everything but unreserved characters percent-escaped.
fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_titles() {
        assert_eq!(form_encode("A&B C/é"), "A%26B%20C%2F%C3%A9");
    }

    #[test]
    fn unconfigured_is_not_a_failure() {
        let failures = Counter::default();
        let api = MwApi::new(None, failures.clone());
        assert!(matches!(
            api.revision_query("en.wikipedia.org", &Selector::Revision(1)),
            Err(MwApiError::NotConfigured)
        ));
        assert_eq!(failures.get(), 0);
    }
}
