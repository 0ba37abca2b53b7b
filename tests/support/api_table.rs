//! RESTBase's 2020 public API as a table (tests/fixtures/restbase-2020-operations.tsv): one
//! operation per project, and the wiki each project is tried on.

use super::repo_root;

/// The wiki each of RESTBase's projects is tried on.
pub const PROJECT_WIKIS: &[(&str, &str)] = &[
    ("wikipedia", "en.wikipedia.org"),
    ("wikivoyage", "en.wikivoyage.org"),
    ("wiktionary", "en.wiktionary.org"),
    ("wikidata", "www.wikidata.org"),
    ("default", "en.wikibooks.org"),
    ("wikimedia", "wikimedia.org"),
];

/// One operation of one project.
pub struct Operation {
    pub project: String,
    pub method: String,
    /// The path template after `/{domain}/v1`, as RESTBase's spec had it.
    pub template: String,
    /// A request path after `/{domain}/v1` with example values.
    pub example: String,
}

impl Operation {
    /// The project's example wiki.
    pub fn wiki(&self) -> &'static str {
        wiki_of(&self.project)
    }

    /// `/{wiki}/v1{example}`.
    pub fn path(&self) -> String {
        format!("/{}/v1{}", self.wiki(), self.example)
    }
}

pub fn wiki_of(project: &str) -> &'static str {
    PROJECT_WIKIS.iter().find(|(p, _)| *p == project).unwrap_or_else(|| panic!("no example wiki for project {project}")).1
}

/// Every operation of the table, in its order.
pub fn operations() -> Vec<Operation> {
    let text = std::fs::read_to_string(repo_root().join("tests/fixtures/restbase-2020-operations.tsv")).expect("the operation table");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| match l.split('\t').collect::<Vec<&str>>()[..] {
            [project, method, template, example] => Operation { project: project.into(), method: method.into(), template: template.into(), example: example.into() },
            _ => panic!("operation table line {l:?}"),
        })
        .collect()
}
