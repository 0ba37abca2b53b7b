//! The OpenAPI 3 document as the router reads it: the standard parts it needs (paths,
//! operations, parameters, request bodies) and its own settings in `x-restrouter` extensions.

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
pub struct Document {
    pub paths: BTreeMap<String, PathItem>,
    #[serde(rename = "x-restrouter")]
    pub ext: RootExt,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RootExt {
    pub projects: Vec<Project>,
}

/// A group of domains that share one set of routes (RESTBase's `*.wikipedia.org` project).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Project {
    pub name: String,
    /// Exact domains (`wikimedia.org`) or one leading wildcard label (`*.wikipedia.org`).
    pub domains: Vec<String>,
    pub route_sets: Vec<String>,
}

/// A path item's shape: the spec's own members are read when it is compiled, as every VM
/// would otherwise hold a second copy of all operations while it compiles them.
#[derive(Debug, Deserialize)]
pub struct PathItem {
    /// They may be `$ref`s, resolved when the spec is compiled.
    #[serde(default)]
    pub parameters: Vec<IgnoredAny>,
    /// The other members by name: the operations by method, and annotations.
    #[serde(flatten)]
    pub members: BTreeMap<String, IgnoredAny>,
}

#[derive(Debug, Deserialize)]
pub struct Operation {
    #[serde(rename = "operationId")]
    pub operation_id: String,
    #[serde(default)]
    pub parameters: Vec<Parameter>,
    #[serde(rename = "requestBody")]
    pub request_body: Option<RequestBody>,
    #[serde(rename = "x-restrouter")]
    pub ext: OperationExt,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Parameter {
    pub name: String,
    #[serde(rename = "in")]
    pub location: Location,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub schema: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Location {
    Path,
    Query,
    Header,
    Cookie,
}

#[derive(Debug, Deserialize)]
pub struct RequestBody {
    #[serde(default)]
    pub required: bool,
    pub content: BTreeMap<String, MediaType>,
}

#[derive(Debug, Deserialize)]
pub struct MediaType {
    pub schema: Option<Value>,
}

/// What the router does for one operation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationExt {
    /// The route set this operation belongs to; projects mount route sets.
    pub route_set: String,
    /// Present for stored routes: look up here first, store back after a back-end fetch.
    pub storage: Option<StorageExt>,
    /// Absent only for a math formula read, which never calls a back-end.
    pub backend: Option<BackendExt>,
    /// `cache-control` of successful answers (errors always get the private default).
    pub cache_control: Option<String>,
    /// Content type to use when the back-end or store does not say.
    pub content_type: Option<String>,
    #[serde(default)]
    pub csp: CspProfile,
    pub rate_limit: Option<RateLimitExt>,
    /// Public paths (templates under the API base) to purge when stored content changes;
    /// `{revision}` is the revision of the content stored.
    #[serde(default)]
    pub events: Vec<String>,
    /// Only internal clients may call this operation.
    #[serde(default)]
    pub internal_only: bool,
    /// A page's content: its revision is looked up in storage's `page_revisions` first (access
    /// checks, redirects, the latest revision).
    pub revisions: Option<RevisionsExt>,
    /// A path parameter other than `{title}` that holds a page title, normalized as a title is
    /// (RESTBase's normalize_title_filter `title_param_name`: `term` of `/page/definition/{term}`).
    pub title_param: Option<String>,
    /// The answer is a redirect built from the back-end's JSON, not the back-end's answer.
    pub redirect: Option<RedirectExt>,
    /// The answer is the pages related to the title (see [`RelatedExt`]).
    pub related: Option<RelatedExt>,
    /// The operation acts as the client (a write, a user's private data): the client's `cookie`
    /// and `authorization` go to its back-end, its answers are private and never stored. No
    /// other operation, storage read or callout ever carries them.
    #[serde(default)]
    pub credentials: bool,
    /// A `{title}` of the path is normalized with this wiki's siteinfo (default). Off for a
    /// title of another wiki, such as a reading list entry's.
    #[serde(default = "yes")]
    pub normalize_title: bool,
    /// Saves a page from this body field (`wikitext`, or `html` through the back-end's HTML to
    /// wikitext transform) with the action API's `edit`, as the client (see `crate::save`).
    pub save: Option<crate::save::From>,
    /// One of the math composites (`crate::math`): check, formula or render.
    pub math: Option<MathExt>,
}

/// Pages related to a title (RESTBase's `page/related/{title}`): the action API's search
/// (`morelike:`) finds them, and each is answered with `backend` at its title (its summary);
/// the answer is `{"pages": [...]}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelatedExt {
    /// How many pages the search returns at most (1 to 50).
    pub limit: u16,
}

fn yes() -> bool {
    true
}

/// RESTBase's sys/mathoid: formulas stored by hash, renders stored per format, all in one store
/// whatever the domain asked.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MathExt {
    pub step: MathStep,
    /// The domain whose storage holds every formula and render (`wikimedia.org`).
    pub domain: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MathStep {
    /// `POST …/check/{type}`: mathoid's check, stored by hash.
    Check,
    /// `GET …/formula/{hash}`: the stored input.
    Formula,
    /// `GET …/render/{format}/{hash}`: the stored render, else mathoid's from the stored input.
    Render,
}

/// A redirect worked out from the back-end's answer (RESTBase's `page/random/{format}`: a random
/// title from wikifeeds, then `303` to that title's page in the wanted format).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedirectExt {
    /// A 3xx status.
    pub status: u16,
    /// The `location`, relative to the request's path: path parameters and `from_body` names
    /// are expanded, each as one percent-encoded path segment.
    pub location: String,
    /// Names for `location` taken from the back-end's JSON answer, each by a JSON pointer
    /// (e.g. `/items/0/title`); the value must be a string.
    #[serde(default)]
    pub from_body: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevisionsExt {
    /// The back-end path once the revision is known (may use `{revision}`), when the back-end
    /// should be asked for that revision rather than at `backend.path`.
    pub backend_path: Option<String>,
    /// The answer carries page_revisions' ETag (`"<rev>/<tid>"`), as RESTBase's PDFs did.
    #[serde(default)]
    pub etag: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageExt {
    pub bucket: String,
    /// Key template, e.g. `{title}`.
    pub key: String,
    /// A path parameter naming a revision: a stored copy of another revision is not served, and
    /// content fetched for an explicit revision is not stored (RESTBase's PCS behaviour).
    pub revision_param: Option<String>,
    /// The stored body is a JSON object and this operation answers with this member of it
    /// (RESTBase's mobile-sections-lead/-remaining): the back-end's whole answer is what is
    /// stored, so every part is served from one copy. A path of members separated by `/`
    /// (`data-parsoid/body`) names a nested one.
    pub part: Option<String>,
    /// A path parameter naming a render (the tid of the ETag `"<revision>/<tid>"`): content of
    /// another render is a 404 (RESTBase's data-parsoid, which answered only the render whose
    /// revision and tid matched).
    pub tid_param: Option<String>,
    /// A date template (`{yyyy}-{mm}-{dd}`): content of today (UTC) or a later day is fetched
    /// anew on every request and stored, content of an earlier day is served from storage
    /// (RESTBase's aggregated feed: a past day's feed no longer changes, today's does).
    pub live_date: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendExt {
    /// Envoy cluster of the back-end service.
    pub cluster: String,
    /// Path template on the back-end, e.g. `/{domain}/v3/page/html/{title}`.
    pub path: String,
    /// Request headers every call to the back-end carries (set, replacing the client's).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The back-end's query string, name → template (values encoded as query components); when
    /// set, it is the whole query: the client's is not passed on.
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// A request without `Accept-Language` is sent with the wiki's content language (siteinfo),
    /// as RESTBase's citoid module did.
    #[serde(default)]
    pub wiki_language: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CspProfile {
    /// By content type: the HTML policy for text/html, the strict policy otherwise.
    #[default]
    Auto,
    /// The app policy of the mobile-html endpoints.
    MobileHtml,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitExt {
    /// Requests per second for internal clients; absent means unlimited.
    pub internal: Option<f64>,
    pub external: Option<f64>,
    #[serde(default)]
    pub log_only: bool,
}
