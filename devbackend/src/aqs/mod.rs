//! Analytics Query Service (AQS) stand-in: every v1 endpoint the REST API's metrics operations
//! call, under `/{domain}/v1/` as AQS mounts them (`analytics.wikimedia.org`), with generated,
//! deterministic data.
//!
//! Based on AQS itself (wikimedia/analytics-aqs: `v1/*.yaml` for the routes, `sys/*.js` for
//! the shape of each answer, `lib/aqsUtil.js` for validation and errors). Projects whose name
//! starts with `missing` (and articles starting with `Missing`) have no data: AQS's 404.

mod common;
mod devices;
mod history;
mod pageviews;

use axum::extract::State;
use axum::routing::get;
use axum::Router;

use crate::Shared;
use common::Named;

/// A handler for a time series of `metric`.
macro_rules! series {
    ($metric:literal) => {
        get(|s: State<Shared>, p: Named| history::timeseries(s, p, $metric))
    };
}

/// A handler for a top list of `subject` by `metric`.
macro_rules! top {
    ($subject:literal, $metric:literal) => {
        get(|s: State<Shared>, p: Named| history::top(s, p, $subject, $metric))
    };
}

pub fn routes() -> Router<Shared> {
    const V1: &str = "/{domain}/v1";
    let routes: Vec<(&str, axum::routing::MethodRouter<Shared>)> = vec![
        ("/pageviews/per-article/{project}/{access}/{agent}/{article}/{granularity}/{start}/{end}", get(pageviews::per_article)),
        ("/pageviews/aggregate/{project}/{access}/{agent}/{granularity}/{start}/{end}", get(pageviews::aggregate)),
        ("/pageviews/top/{project}/{access}/{year}/{month}/{day}", get(pageviews::top)),
        ("/pageviews/top-by-country/{project}/{access}/{year}/{month}", get(pageviews::top_by_country)),
        ("/unique-devices/{project}/{access-site}/{granularity}/{start}/{end}", get(devices::unique_devices)),
        ("/legacy/pagecounts/aggregate/{project}/{access-site}/{granularity}/{start}/{end}", get(devices::pagecounts)),
        ("/mediarequests/aggregate/{referer}/{media_type}/{agent}/{granularity}/{start}/{end}", get(devices::media_aggregate)),
        ("/mediarequests/per-file/{referer}/{agent}/{file_path}/{granularity}/{start}/{end}", get(devices::media_per_file)),
        ("/mediarequests/top/{referer}/{media_type}/{year}/{month}/{day}", get(devices::media_top)),
        ("/edited-pages/new/{project}/{editor-type}/{page-type}/{granularity}/{start}/{end}", series!("new_pages")),
        ("/edited-pages/aggregate/{project}/{editor-type}/{page-type}/{activity-level}/{granularity}/{start}/{end}", series!("edited_pages")),
        ("/edited-pages/top-by-edits/{project}/{editor-type}/{page-type}/{year}/{month}/{day}", top!("page_title", "edits")),
        ("/edited-pages/top-by-net-bytes-difference/{project}/{editor-type}/{page-type}/{year}/{month}/{day}", top!("page_title", "net_bytes_diff")),
        ("/edited-pages/top-by-absolute-bytes-difference/{project}/{editor-type}/{page-type}/{year}/{month}/{day}", top!("page_title", "abs_bytes_diff")),
        ("/editors/aggregate/{project}/{editor-type}/{page-type}/{activity-level}/{granularity}/{start}/{end}", series!("editors")),
        ("/editors/top-by-edits/{project}/{editor-type}/{page-type}/{year}/{month}/{day}", top!("user_text", "edits")),
        ("/editors/top-by-net-bytes-difference/{project}/{editor-type}/{page-type}/{year}/{month}/{day}", top!("user_text", "net_bytes_diff")),
        ("/editors/top-by-absolute-bytes-difference/{project}/{editor-type}/{page-type}/{year}/{month}/{day}", top!("user_text", "abs_bytes_diff")),
        ("/editors/by-country/{project}/{activity-level}/{year}/{month}", get(history::by_country)),
        ("/edits/aggregate/{project}/{editor-type}/{page-type}/{granularity}/{start}/{end}", series!("edits")),
        ("/edits/per-page/{project}/{page-title}/{editor-type}/{granularity}/{start}/{end}", series!("edits")),
        ("/registered-users/new/{project}/{granularity}/{start}/{end}", series!("new_registered_users")),
        ("/bytes-difference/net/aggregate/{project}/{editor-type}/{page-type}/{granularity}/{start}/{end}", series!("net_bytes_diff")),
        ("/bytes-difference/net/per-page/{project}/{page-title}/{editor-type}/{granularity}/{start}/{end}", series!("net_bytes_diff")),
        ("/bytes-difference/absolute/aggregate/{project}/{editor-type}/{page-type}/{granularity}/{start}/{end}", series!("abs_bytes_diff")),
        ("/bytes-difference/absolute/per-page/{project}/{page-title}/{editor-type}/{granularity}/{start}/{end}", series!("abs_bytes_diff")),
    ];
    routes
        .into_iter()
        .fold(Router::new(), |router, (path, handler)| {
            router.route(&format!("{V1}{path}"), handler)
        })
}
