//! `envoy --mode validate` on a rendered template (shared by the rollout and TLS tests).

use std::process::Command;

use crate::support;

/// Renders `template` with these variables (the built module as `wasm`) and asserts that Envoy
/// accepts the result.
pub fn validate(template: &str, sets: &[(&str, &str)]) {
    validate_with(template, sets, &[]);
}

/// [`validate`] with more arguments for `restrouter-render envoy` (`--extra-domains 800`).
pub fn validate_with(template: &str, sets: &[(&str, &str)], args: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("envoy.yaml");
    let mut cmd = Command::new(support::binary("restrouter-render"));
    cmd.current_dir(support::repo_root()).args(["envoy", "--template", template]).args(args);
    cmd.arg("--set").arg(format!("wasm={}", support::wasm_module().display()));
    for (n, v) in sets {
        cmd.arg("--set").arg(format!("{n}={v}"));
    }
    // The developer's RESTROUTER_* settings must not change what is checked.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("RESTROUTER_") {
            cmd.env_remove(name);
        }
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{template} {sets:?} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    std::fs::write(&config, &out.stdout).unwrap();
    let out = Command::new(support::envoy_binary()).args(["--mode", "validate", "--base-id", &support::free_port().to_string(), "-c"]).arg(&config).output().unwrap();
    assert!(out.status.success(), "{template} {sets:?} {args:?} does not validate:\n{}", String::from_utf8_lossy(&out.stderr));
}
