//! `restrouter-render spec`: the spec is written as a root document (what every area shares:
//! `openapi`, `info`, the projects, the common components) and one file per API area under
//! `areas/` (its paths, and the components only it uses). Joined, they are the one document
//! everything else reads (`wikimedia.yaml`, committed). A path or component defined twice is
//! refused with both files named: joining never lets one area silently replace another's.

use serde_norway::{Mapping, Value};
use std::collections::HashMap;
use std::path::Path;

pub const ROOT: &str = "root.yaml";
pub const AREAS: &str = "areas";
pub const OUT: &str = "wikimedia.yaml";

/// A parsed file, named relative to the spec directory (`areas/page.yaml`).
pub struct Source {
    pub name: String,
    pub doc: Value,
}

fn read(dir: &Path, name: String) -> Result<Source, String> {
    let path = dir.join(&name);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let doc = serde_norway::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Source { name, doc })
}

/// The root and the areas of a spec directory, areas in file-name order.
pub fn sources(dir: &Path) -> Result<(Source, Vec<Source>), String> {
    let areas_dir = dir.join(AREAS);
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&areas_dir).map_err(|e| format!("{}: {e}", areas_dir.display()))? {
        let name = entry.map_err(|e| format!("{}: {e}", areas_dir.display()))?.file_name();
        if let Some(name) = name.to_str().filter(|n| n.ends_with(".yaml")) {
            names.push(format!("{AREAS}/{name}"));
        }
    }
    names.sort();
    let areas = names.into_iter().map(|n| read(dir, n)).collect::<Result<Vec<_>, _>>()?;
    Ok((read(dir, ROOT.to_string())?, areas))
}

fn mapping<'a>(v: &'a Value, at: &str) -> Result<&'a Mapping, String> {
    v.as_mapping().ok_or_else(|| format!("{at}: must be a mapping"))
}

fn key(k: &Value, at: &str) -> Result<String, String> {
    k.as_str().map(str::to_string).ok_or_else(|| format!("{at}: keys must be strings"))
}

/// Adds `from`'s entries to `into`; `origin` remembers which file gave each name.
fn add(into: &mut Mapping, from: &Mapping, file: &str, what: &str, origin: &mut HashMap<String, String>) -> Result<(), String> {
    for (k, v) in from {
        let name = format!("{what}{}", key(k, &format!("{file}: {what}"))?);
        if let Some(first) = origin.insert(name.clone(), file.to_string()) {
            return Err(format!("{name} is defined in both {first} and {file}"));
        }
        into.insert(k.clone(), v.clone());
    }
    Ok(())
}

/// The root with the areas' components merged into its own and their paths after them.
pub fn join(root: &Source, areas: &[Source]) -> Result<Value, String> {
    let mut out = mapping(&root.doc, &root.name)?.clone();
    if out.contains_key("paths") {
        return Err(format!("{}: paths belong in {AREAS}/, one file per API area", root.name));
    }
    let mut origin = HashMap::new();
    let mut components = Mapping::new();
    if let Some(c) = out.remove("components") {
        for (section, entries) in mapping(&c, &format!("{}: components", root.name))? {
            let section_name = key(section, &format!("{}: components", root.name))?;
            let mut merged = Mapping::new();
            add(&mut merged, mapping(entries, &format!("{}: components.{section_name}", root.name))?, &root.name, &format!("components.{section_name}."), &mut origin)?;
            components.insert(section.clone(), Value::Mapping(merged));
        }
    }
    let mut paths = Mapping::new();
    for area in areas {
        for (k, v) in mapping(&area.doc, &area.name)? {
            match key(k, &area.name)?.as_str() {
                "paths" => add(&mut paths, mapping(v, &format!("{}: paths", area.name))?, &area.name, "paths.", &mut origin)?,
                "components" => {
                    for (section, entries) in mapping(v, &format!("{}: components", area.name))? {
                        let section_name = key(section, &format!("{}: components", area.name))?;
                        let entries = mapping(entries, &format!("{}: components.{section_name}", area.name))?;
                        let into = components.entry(section.clone()).or_insert_with(|| Value::Mapping(Mapping::new()));
                        let into = into.as_mapping_mut().ok_or_else(|| format!("components.{section_name}: must be a mapping"))?;
                        add(into, entries, &area.name, &format!("components.{section_name}."), &mut origin)?;
                    }
                }
                other => return Err(format!("{}: '{other}': an area holds only paths and components", area.name)),
            }
        }
    }
    if !components.is_empty() {
        out.insert("components".into(), Value::Mapping(components));
    }
    out.insert("paths".into(), Value::Mapping(paths));
    Ok(Value::Mapping(out))
}

/// The text of the joined document: a header naming its sources, then the document. The
/// filter's compiler checks it first, so a spec that would not load is never written.
pub fn render(dir: &Path) -> Result<String, String> {
    let (root, areas) = sources(dir)?;
    let doc = join(&root, &areas)?;
    let json = serde_json::to_value(&doc).map_err(|e| format!("joined spec: {e}"))?;
    restrouter::spec::Api::compile(&json)?;
    let names: Vec<&str> = areas.iter().filter_map(|a| a.name.strip_prefix(&format!("{AREAS}/")).and_then(|n| n.strip_suffix(".yaml"))).collect();
    let body = serde_norway::to_string(&doc).map_err(|e| format!("joined spec: {e}"))?;
    Ok(format!(
        "# Generated by `make spec` (restrouter-render spec) from {ROOT} and {AREAS}/*.yaml\n# ({}, joined in this order).\n# Edit those files, not this one: a test fails while this one is stale.\n{body}",
        names.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_dir() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec")
    }

    fn source(name: &str, yaml: &str) -> Source {
        Source { name: name.into(), doc: serde_norway::from_str(yaml).unwrap() }
    }

    #[test]
    fn committed_spec_is_the_join_of_its_areas() {
        let joined = render(&spec_dir()).unwrap();
        let committed = std::fs::read_to_string(spec_dir().join(OUT)).unwrap();
        assert!(joined == committed, "spec/{OUT} is stale: run `make spec`");
        // What is written reads back as what was joined.
        let (root, areas) = sources(&spec_dir()).unwrap();
        assert_eq!(serde_norway::from_str::<Value>(&committed).unwrap(), join(&root, &areas).unwrap());
    }

    #[test]
    fn areas_join_into_root() {
        let root = source(ROOT, "openapi: 3.0.1\ncomponents: {parameters: {title: {name: title}}}\n");
        let a = source("areas/a.yaml", "paths: {/a: {get: {}}}\ncomponents: {parameters: {rev: {name: rev}}, schemas: {s: {type: string}}}\n");
        let b = source("areas/b.yaml", "paths: {/b: {get: {}}}\n");
        let joined = join(&root, &[a, b]).unwrap();
        let want: Value =
            serde_norway::from_str("openapi: 3.0.1\ncomponents: {parameters: {title: {name: title}, rev: {name: rev}}, schemas: {s: {type: string}}}\npaths: {/a: {get: {}}, /b: {get: {}}}\n")
                .unwrap();
        assert_eq!(joined, want);
    }

    #[test]
    fn duplicates_are_refused_naming_both_files() {
        let root = source(ROOT, "openapi: 3.0.1\ncomponents: {parameters: {title: {name: title}}}\n");
        let a = source("areas/a.yaml", "paths: {/a: {get: {}}}\n");
        let b = source("areas/b.yaml", "paths: {/a: {post: {}}}\n");
        assert_eq!(join(&root, &[a, b]).err().unwrap(), "paths./a is defined in both areas/a.yaml and areas/b.yaml");
        let c = source("areas/c.yaml", "components: {parameters: {title: {name: other}}}\n");
        assert_eq!(join(&root, &[c]).err().unwrap(), "components.parameters.title is defined in both root.yaml and areas/c.yaml");
        let d = source("areas/d.yaml", "components: {schemas: {s: {}}}\n");
        let e = source("areas/e.yaml", "components: {schemas: {s: {}}}\n");
        assert_eq!(join(&root, &[d, e]).err().unwrap(), "components.schemas.s is defined in both areas/d.yaml and areas/e.yaml");
    }

    #[test]
    fn areas_hold_paths_and_components_only() {
        let root = source(ROOT, "openapi: 3.0.1\n");
        let a = source("areas/a.yaml", "info: {title: x}\n");
        assert!(join(&root, &[a]).is_err_and(|e| e.contains("areas/a.yaml") && e.contains("'info'")));
        let rooted = source(ROOT, "openapi: 3.0.1\npaths: {/a: {}}\n");
        assert!(join(&rooted, &[]).is_err_and(|e| e.contains("root.yaml")));
    }
}
