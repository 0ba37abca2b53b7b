//! A filter configuration the filter cannot serve (no spec, or a spec that does not compile)
//! is refused at load with the reason logged: with a static configuration Envoy does not start,
//! so no request passes the listener unchecked.

// Test helpers fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use serde_json::json;
use support::envoy::with_filter_configuration;
use support::{Envoy, Reply, Upstream};

#[test]
fn a_filter_without_a_working_spec_serves_nothing_unchecked() {
    let upstream = Upstream::start();
    upstream.on_any(Reply::html("served unchecked"));
    let addr = upstream.addr();
    let cases = [(json!({"settings": {}}), "configuration refused: configuration: no `spec`"), (json!({"spec": {"openapi": "3.0.1", "paths": {}}, "settings": {}}), "configuration refused: spec: ")];
    for (config, reason) in cases {
        let started = Envoy::builder()
            .edit_config(with_filter_configuration(config.clone()))
            .sets(&[
                ("storage", &addr),
                ("parsoid", &addr),
                ("mobileapps", &addr),
                ("wikifeeds", &addr),
                ("aqs", &addr),
                ("cxserver", &addr),
                ("mathoid", &addr),
                ("proton", &addr),
                ("citoid", &addr),
                ("recommendation", &addr),
                ("graphoid", &addr),
                ("mwapi", &addr),
            ])
            .concurrency(1)
            .try_start();
        // A static configuration the filter refuses: Envoy does not start, so it never serves.
        let Err(log) = started else { panic!("{config}: Envoy started with a filter configuration it should refuse") };
        assert!(log.contains(reason), "{config}: Envoy refused to start, but not for the reason expected:\n{log}");
        assert_eq!(upstream.total(), 0, "{config}: a request reached an upstream unchecked");
    }
}
