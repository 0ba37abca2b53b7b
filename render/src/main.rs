//! `restrouter-render`: turns the YAML spec into the filter's JSON plugin configuration (checked
//! by the filter's own compiler, so a bad spec fails here with the route and field named), and
//! renders Envoy configs from the templates in `envoy/` with every address settable from the
//! environment (`RESTROUTER_<NAME>`) or `--set name=value`, or from the Helm chart's values
//! (`chart`: the config the chart deploys). `spec` joins the spec's root and area files into
//! the one document the rest reads.

mod chart;
mod edge;
mod join;
mod vars;

use clap::{Parser, Subcommand};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(about = "Render restrouter's plugin configuration and Envoy configs")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the filter's plugin configuration (JSON).
    PluginConfig(Common),
    /// Print an Envoy config rendered from a template.
    Envoy {
        #[command(flatten)]
        common: Common,
        /// The template (minijinja), e.g. envoy/restrouter.yaml.j2.
        #[arg(long)]
        template: PathBuf,
    },
    /// List the variables an Envoy template gets, with their current values.
    Vars(Common),
    /// Print the Envoy config of a Helm release, rendered from the chart's values (its
    /// values.yaml, then each -f file): give it to the chart with `--set-file envoyConfig=FILE`.
    Chart {
        /// The chart directory.
        #[arg(long, default_value = "helm/restrouter")]
        chart: PathBuf,
        /// Values files, as given to helm (later ones win).
        #[arg(short = 'f', long = "values", value_name = "FILE")]
        values: Vec<PathBuf>,
        /// The directory of the Envoy templates.
        #[arg(long, default_value = "envoy")]
        templates: PathBuf,
    },
    /// Join the spec's `root.yaml` and `areas/*.yaml` into `wikimedia.yaml` in the same
    /// directory (refused if a path or component is defined twice, or the result does not
    /// compile).
    Spec {
        /// The spec directory.
        #[arg(long, default_value = "spec")]
        dir: PathBuf,
        /// Write nothing; fail if `wikimedia.yaml` is not what joining gives.
        #[arg(long)]
        check: bool,
    },
}

#[derive(clap::Args)]
struct Common {
    /// The OpenAPI spec with `x-restrouter` extensions (default: the `spec` variable).
    #[arg(long)]
    spec: Option<PathBuf>,
    /// `name=value` overrides of template variables (after the environment).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// Add this many generated exact domains to the project named by `--domains-project`
    /// (start-up benchmarks with a Wikimedia-sized domain list).
    #[arg(long, default_value_t = 0)]
    extra_domains: usize,
    #[arg(long, default_value = "wikipedia")]
    domains_project: String,
}

/// The spec, checked.
fn load_spec(c: &Common) -> Result<Value, String> {
    load_spec_and_clusters(c).map(|(spec, _)| spec)
}

fn read_spec(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_norway::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The spec (with `--extra-domains`), checked, with the back-end clusters its pass-through
/// routes use.
fn load_spec_and_clusters(c: &Common) -> Result<(Value, Vec<String>), String> {
    let path = match &c.spec {
        Some(p) => p.clone(),
        None => PathBuf::from(vars::Vars::load(&c.set)?.get("spec")),
    };
    let mut spec = read_spec(&path)?;
    if c.extra_domains > 0 {
        let projects = spec.pointer_mut("/x-restrouter/projects").and_then(Value::as_array_mut).ok_or("spec has no x-restrouter.projects")?;
        let project = projects.iter_mut().find(|p| p.get("name").and_then(Value::as_str) == Some(c.domains_project.as_str())).ok_or_else(|| format!("no project named {}", c.domains_project))?;
        if let Some(domains) = project.get_mut("domains").and_then(Value::as_array_mut) {
            domains.extend((0..c.extra_domains).map(|i| Value::String(format!("wiki{i}.{}.example.org", c.domains_project))));
        }
    }
    compile(spec)
}

fn compile(spec: Value) -> Result<(Value, Vec<String>), String> {
    let api = restrouter::spec::Api::compile(&spec)?;
    // Routes to back-ends for pass-through operations; stored and math ones only make callouts.
    let mut clusters: Vec<String> = api.ops.iter().filter(|o| o.storage.is_none() && o.math.is_none()).map(|o| o.backend.cluster.clone()).collect();
    clusters.sort();
    clusters.dedup();
    Ok((spec, clusters))
}

fn settings(v: &vars::Vars) -> Result<Value, String> {
    let list = |name: &str| -> Vec<String> { v.get(name).split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect() };
    let settings = json!({
        "storage_cluster": "storage",
        "event_cluster": if v.get("eventgate").is_empty() { "" } else { "eventgate" },
        "internal_cidrs": list("internal_cidrs"),
        "trusted_proxies": list("trusted_proxies"),
        "timeouts_ms": {
            "storage": v.number("storage_timeout_ms")?,
            "backend": v.number("backend_timeout_ms")?,
            "event": v.number("event_timeout_ms")?,
            "sidecar": v.number("sidecar_timeout_ms")?,
            "mwapi": v.number("mwapi_timeout_ms")?,
        },
        "mwapi_cluster": "mwapi",
        "mwapi_path": v.get("mwapi_path"),
        "siteinfo_ttl_s": v.number("siteinfo_ttl_s")?,
        "siteinfo_failure_ttl_s": v.number("siteinfo_failure_ttl_s")?,
        "redirect_cache_control": v.get("redirect_cache_control"),
        "event_stream": v.get("event_stream"),
        "event_transcludes_stream": v.get("event_transcludes_stream"),
        "max_body_bytes": v.number("max_body_bytes")?,
        "event_base_path": v.get("event_base_path"),
        "ratelimit": {
            "enabled": v.get("ratelimit") != "off",
            "sync_interval_ms": v.number("ratelimit_sync_ms")?,
            "sidecar_cluster": if v.get("ratelimit_sidecar").is_empty() { "" } else { "ratelimit" },
            "max_keys": v.number("ratelimit_max_keys")?,
        },
        "coalesce": {"wait_ms": v.number("coalesce_wait_ms")?},
    });
    // The filter's own parser checks the result.
    restrouter::config::parse(&serde_json::to_vec(&json!({ "settings": settings })).map_err(|e| e.to_string())?)?;
    Ok(settings)
}

fn run(cli: Cli) -> Result<String, String> {
    match cli.command {
        Command::PluginConfig(c) => {
            let v = vars::Vars::load(&c.set)?;
            let config = json!({ "spec": load_spec(&c)?, "settings": settings(&v)? });
            serde_json::to_string(&config).map_err(|e| e.to_string())
        }
        Command::Vars(c) => Ok(vars::Vars::load(&c.set)?.describe()),
        Command::Envoy { common, template } => {
            let v = vars::Vars::load(&common.set)?;
            let spec = load_spec_and_clusters(&common)?;
            render(&template, &v, spec, "")
        }
        Command::Chart { chart, values, templates } => {
            let release = chart::release(&chart::values(&chart, &values)?)?;
            // The values are the only source: RESTROUTER_* variables of this shell do not apply.
            let v = vars::Vars::with(&release.sets, false)?;
            let spec = match release.spec {
                Some(spec) => spec,
                None => read_spec(&chart.join("files/wikimedia.yaml"))?,
            };
            let recorded = serde_json::to_string(&release.recorded).map_err(|e| e.to_string())?;
            render(&templates.join(release.template), &v, compile(spec)?, &recorded)
        }
        Command::Spec { dir, check } => {
            let text = join::render(&dir)?;
            let out = dir.join(join::OUT);
            if check {
                let current = std::fs::read_to_string(&out).map_err(|e| format!("{}: {e}", out.display()))?;
                return if current == text { Ok(format!("{}: current", out.display())) } else { Err(format!("{}: stale: run `make spec`", out.display())) };
            }
            std::fs::write(&out, text).map_err(|e| format!("{}: {e}", out.display()))?;
            Ok(format!("{}: written", out.display()))
        }
    }
}

/// Renders an Envoy template. The variables are globals, so the macros of templates it imports
/// (`common.j2`) see them too; `chart_values` is the JSON the chart compares (empty outside
/// `chart`).
fn render(template: &Path, v: &vars::Vars, (spec, clusters): (Value, Vec<String>), chart_values: &str) -> Result<String, String> {
    let settings = settings(v)?;
    let plugin = serde_json::to_string(&json!({ "spec": spec, "settings": settings })).map_err(|e| e.to_string())?;
    let service = serde_json::to_string(&json!({ "settings": settings })).map_err(|e| e.to_string())?;
    let dir = template.parent().unwrap_or(Path::new("."));
    let name = template.file_name().and_then(|n| n.to_str()).ok_or_else(|| format!("{}: not a template file", template.display()))?;
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    // YAML out, no escaping (minijinja would JSON-escape templates named *.yaml.j2).
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_loader(minijinja::path_loader(dir));
    let mut ctx = v.context()?;
    ctx.insert("plugin_config".into(), Value::String(plugin));
    ctx.insert("service_config".into(), Value::String(service));
    ctx.insert("passthrough_clusters".into(), json!(clusters));
    ctx.insert("chart_values".into(), Value::String(chart_values.to_string()));
    let api = restrouter::spec::Api::compile(&spec)?;
    ctx.insert("edge".into(), edge::edge(&api));
    // Envoy reads header values as format strings, hence `%%`.
    let static_headers: Vec<Value> = restrouter::policy::STATIC.iter().map(|(n, v)| json!([n, v.replace('%', "%%")])).collect();
    ctx.insert("static_response_headers".into(), Value::Array(static_headers));
    for (k, val) in ctx {
        env.add_global(k, minijinja::Value::from_serialize(&val));
    }
    let t = env.get_template(name).map_err(|e| format!("{}: {e:#}", template.display()))?;
    t.render(minijinja::context! {}).map_err(|e| format!("{}: {e:#}", template.display()))
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("restrouter-render: {e}");
            ExitCode::FAILURE
        }
    }
}
