//! A filter configuration the filter cannot serve (no spec, or a spec that does not compile)
//! is refused at load with the reason logged: with a static configuration Envoy does not start,
//! so no request passes the listener unchecked.

// Test helpers fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

use support::{repo_root, Envoy, Reply, Upstream};

/// The shipped template with the filter's configuration replaced by `config` (JSON): the render
/// tool itself refuses a bad spec, so the bad configuration goes straight into the template.
fn template_with_filter_config(config: &str) -> tempfile::NamedTempFile {
    let template = std::fs::read_to_string(repo_root().join("envoy/restrouter.yaml.j2")).unwrap();
    let value = "value: {{ plugin_config | tojson }}";
    assert_eq!(template.matches(value).count(), 1, "the template's filter configuration moved");
    let replaced = template.replace(value, &format!("value: {{{{ '{config}' | tojson }}}}"));
    let file = tempfile::Builder::new().suffix(".yaml.j2").tempfile().unwrap();
    std::fs::write(file.path(), replaced).unwrap();
    file
}

#[test]
fn a_filter_without_a_working_spec_serves_nothing_unchecked() {
    let upstream = Upstream::start();
    upstream.on_any(Reply::html("served unchecked"));
    let addr = upstream.addr();
    let cases = [(r#"{"settings": {}}"#, "configuration refused: configuration: no `spec`"), (r#"{"spec": {"openapi": "3.0.1", "paths": {}}, "settings": {}}"#, "configuration refused: spec: ")];
    for (config, reason) in cases {
        let template = template_with_filter_config(config);
        let started =
            Envoy::builder().template(template.path()).sets(&[("storage", &addr), ("parsoid", &addr), ("mobileapps", &addr), ("wikifeeds", &addr), ("aqs", &addr)]).concurrency(1).try_start();
        // A static configuration the filter refuses: Envoy does not start, so it never serves.
        let Err(log) = started else { panic!("{config}: Envoy started with a filter configuration it should refuse") };
        assert!(log.contains(reason), "{config}: Envoy refused to start, but not for the reason expected:\n{log}");
        assert_eq!(upstream.total(), 0, "{config}: a request reached an upstream unchecked");
    }
}
