//! A project's paths as a tree of segments, for the listings RESTBase answered at any prefix
//! ending in `/` that no operation serves: the segments that come next, sorted, or none when
//! the next segment is a parameter (`GET /{domain}/v1/page/` → `{"items": ["html", …]}`).

use std::collections::BTreeMap;

#[derive(Debug, Default)]
pub struct PathTree {
    literal: BTreeMap<String, PathTree>,
    param: Option<Box<PathTree>>,
}

impl PathTree {
    /// The tree of OpenAPI paths (`/page/html/{title}`).
    pub fn of<'a>(templates: impl IntoIterator<Item = &'a str>) -> PathTree {
        let mut root = PathTree::default();
        for t in templates {
            let mut node = &mut root;
            for seg in t.trim_start_matches('/').split('/') {
                node = if seg.contains('{') { node.param.get_or_insert_with(Box::default) } else { node.literal.entry(seg.to_string()).or_default() };
            }
        }
        root
    }

    /// The directory at `prefix` (canonical segments, no leading or trailing `/`); a path's
    /// end is none. A segment matches a literal first, else the parameter, without
    /// backtracking, as RESTBase's router walked its tree.
    pub fn at(&self, prefix: &str) -> Option<&PathTree> {
        let node = prefix.split('/').try_fold(self, |node, seg| node.literal.get(seg).or(node.param.as_deref()))?;
        (node.param.is_some() || !node.literal.is_empty()).then_some(node)
    }

    /// The literal segments that can come next, or `None` when a parameter can (then any
    /// segment may match).
    pub fn fixed(&self) -> Option<Vec<&str>> {
        self.param.is_none().then(|| self.literal.keys().map(String::as_str).collect())
    }

    /// The listing: the literal segments under this node, none if a parameter comes next.
    pub fn items(&self) -> Vec<&str> {
        self.fixed().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listings_are_the_next_segments() {
        let t = PathTree::of(["/page/html/{title}", "/page/html/{title}/{revision}", "/page/summary/{title}", "/feed/x", "/transform/wikitext/to/html"]);
        assert_eq!(t.items(), ["feed", "page", "transform"]);
        assert_eq!(t.fixed(), Some(vec!["feed", "page", "transform"]));
        assert_eq!(t.at("page/html").unwrap().fixed(), None);
        assert_eq!(t.at("page").unwrap().items(), ["html", "summary"]);
        assert_eq!(t.at("transform/wikitext/to").unwrap().items(), ["html"]);
        // A parameter next: nothing to list.
        assert!(t.at("page/html").unwrap().items().is_empty());
        assert!(t.at("page/html/Earth").unwrap().items().is_empty());
        assert!(t.at("page/nothing").is_none());
        assert!(t.at("page/").is_none());
        assert!(t.at("page/summary/Earth").is_none());
    }
}
