//! Which of a project's path templates Envoy may answer a wrong method for, and their `:path`
//! regex. A path matching such a template can be routed by the filter only to it or to a
//! template with the same operations (matchit prefers static segments, so `/a/{x}` and `/a/b`
//! both match `/a/b`): its 405 is the same whichever it picks. Templates with a parameter
//! inside a segment (`{title}.json`), a catch-all or an unusual literal are the filter's, and
//! so is every template they may overlap.

use super::escape;
use restrouter::spec::{Project, RouteEntry};
use std::collections::BTreeMap;

/// A path parameter: a plain segment (as [`super::SEGMENT`]) other than `.` and `..` (the
/// filter refuses those after the 405): a character other than a dot within the first three.
fn param() -> String {
    let (any, not_dot) = (r"[A-Za-z0-9\-._~!$&'()*+,;=:@]", r"[A-Za-z0-9\-_~!$&'()*+,;=:@]");
    format!(r"(?:\.{{0,2}}{not_dot}|\.\.\.){any}*")
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Segment<'a> {
    /// A plain segment, not a dot segment; empty only at the end (a trailing `/`).
    Literal(&'a str),
    /// `{name}`: any one non-empty segment.
    Param,
    /// `{*rest}`: anything to the end.
    CatchAll,
    /// Anything else (a parameter with a prefix or suffix, escaped braces, a literal that is
    /// not plain): taken to match any one segment.
    Unsure,
}

/// A character of [`super::SEGMENT`].
fn plain_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@".contains(c)
}

fn segments(template: &str) -> Vec<Segment<'_>> {
    let segments: Vec<&str> = template.strip_prefix('/').unwrap_or(template).split('/').collect();
    let last = segments.len().saturating_sub(1);
    segments
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let name = s.strip_prefix('{').and_then(|s| s.strip_suffix('}'));
            match name {
                Some(n) if n.starts_with('*') => Segment::CatchAll,
                Some(n) if !n.is_empty() && !n.contains(['{', '}']) => Segment::Param,
                _ if s.contains(['{', '}']) || s == "." || s == ".." => Segment::Unsure,
                _ if (s.is_empty() && i == last) || (!s.is_empty() && s.chars().all(plain_char)) => Segment::Literal(s),
                _ => Segment::Unsure,
            }
        })
        .collect()
}

/// Whether one path may match both templates (conservatively: yes when unsure).
fn may_overlap(a: &[Segment], b: &[Segment]) -> bool {
    let (mut a, mut b) = (a.iter(), b.iter());
    loop {
        match (a.next(), b.next()) {
            (None, None) | (Some(Segment::CatchAll), _) | (_, Some(Segment::CatchAll)) => return true,
            (None, Some(_)) | (Some(_), None) => return false,
            (Some(Segment::Literal(x)), Some(Segment::Literal(y))) if x != y => return false,
            // A parameter is never empty.
            (Some(Segment::Literal("")), Some(Segment::Param)) | (Some(Segment::Param), Some(Segment::Literal(""))) => return false,
            _ => {}
        }
    }
}

fn plain(segments: &[Segment]) -> bool {
    segments.iter().all(|s| matches!(s, Segment::Literal(_) | Segment::Param))
}

/// The templates of one set of operations (`GET, POST`) that Envoy answers wrong methods for.
pub struct Set<'a> {
    /// [`RouteEntry::allowed`]: the same for every template of the set.
    pub allowed: String,
    /// One of the set's paths, for its 405.
    pub entry: &'a RouteEntry,
    pub templates: Vec<&'a str>,
}

/// The project's templates Envoy answers wrong methods for, by set of operations: plain
/// templates that no other template with other operations, nor any unplain one, may overlap.
pub fn sets(project: &Project) -> Vec<Set<'_>> {
    let paths: Vec<(&RouteEntry, &str, Vec<Segment>, String)> = project.routes.iter().filter_map(|e| e.ops.first().map(|op| (e, op.template.as_str(), segments(&op.template), e.allowed()))).collect();
    let mut sets: BTreeMap<&str, Set> = BTreeMap::new();
    for (i, (entry, template, segs, allowed)) in paths.iter().enumerate() {
        let clash = paths.iter().enumerate().any(|(j, (_, _, other, other_allowed))| j != i && (other_allowed != allowed || !plain(other)) && may_overlap(segs, other));
        if plain(segs) && !clash {
            sets.entry(allowed).or_insert_with(|| Set { allowed: allowed.clone(), entry, templates: Vec::new() }).templates.push(template);
        }
    }
    sets.into_values().collect()
}

/// The methods the filter serves on a path of `entry` (the inverted `:method` matcher):
/// OPTIONS, HEAD where GET is served, and any spelling of the operations' methods.
pub fn allowed_methods(entry: &RouteEntry) -> String {
    let head = if entry.op("get").is_some() { "|HEAD" } else { "" };
    let ops: Vec<String> = entry.ops.iter().map(|o| escape(&o.method)).collect();
    format!("OPTIONS{head}|(?i:{})", ops.join("|"))
}

/// The part of the `:path` after `/v1` that matches one of the (plain) `templates`: a regex
/// shaped as their tree of segments, so that shared prefixes are matched once.
pub fn templates_regex(templates: &[&str]) -> String {
    #[derive(Default)]
    struct Node<'a> {
        /// `None`: a parameter.
        next: BTreeMap<Option<&'a str>, Node<'a>>,
        end: bool,
    }
    fn regex(node: &Node) -> String {
        let alternatives: Vec<String> = node.next.iter().map(|(segment, child)| format!("/{}{}", segment.map_or_else(param, escape), regex(child))).collect();
        match (alternatives.as_slice(), node.end) {
            ([], _) => String::new(),
            ([one], false) => one.clone(),
            (all, false) => format!("(?:{})", all.join("|")),
            (all, true) => format!("(?:{})?", all.join("|")),
        }
    }
    let mut root = Node::default();
    for t in templates {
        let mut node = &mut root;
        for s in segments(t) {
            let key = match s {
                Segment::Literal(l) => Some(l),
                _ => None,
            };
            node = node.next.entry(key).or_default();
        }
        node.end = true;
    }
    regex(&root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlaps_are_conservative() {
        let overlap = |a: &str, b: &str| may_overlap(&segments(a), &segments(b));
        assert!(overlap("/a/{x}", "/a/b"));
        assert!(overlap("/a/{x}/c", "/a/b/{y}"));
        assert!(!overlap("/a/{x}", "/a/b/c"));
        assert!(!overlap("/a/{x}/c", "/a/b/d"));
        assert!(!overlap("/a/", "/a/{x}"));
        assert!(overlap("/a/", "/a/"));
        assert!(overlap("/a/{x}.json", "/a/b"));
        assert!(overlap("/a/{*rest}", "/a/b/c/d"));
        assert!(!overlap("/b/{*rest}", "/a/b/c/d"));
        assert_eq!(segments("/a/{x}/"), [Segment::Literal("a"), Segment::Param, Segment::Literal("")]);
        assert_eq!(segments("/a//{x}/.."), [Segment::Literal("a"), Segment::Unsure, Segment::Param, Segment::Unsure]);
        assert_eq!(segments("/a b/{{x}}/{x}y"), [Segment::Unsure, Segment::Unsure, Segment::Unsure]);
    }

    #[test]
    fn the_regex_is_the_tree_of_templates() {
        let re = super::super::tests::full(&templates_regex(&["/a/{x}", "/a/{x}/c", "/a/b/", "/d"]));
        for (path, matches) in [
            ("/a/x", true),
            ("/a/x/c", true),
            ("/a/b/", true),
            ("/a/b", true),
            ("/d", true),
            ("/a/x/", false),
            ("/a/.", false),
            ("/a/..", false),
            ("/a/...", true),
            ("/a/.x", true),
            ("/a/..x/c", true),
            ("/a/..../c", true),
            ("/a/x.y./c", true),
            ("/a/x%41", false),
            ("/a/x\"", false),
            ("/a", false),
            ("/d/", false),
            ("/a//c", false),
        ] {
            assert_eq!(re.is_match(path), matches, "{path}");
        }
    }
}
