//! Fuzz targets of restrouter's input-facing logic, and a libFuzzer-free driver for them.
//!
//! Each target takes arbitrary bytes and must neither panic nor break an invariant of the
//! router (a parameter stays inside its own path segment, an error body is never stored, ...):
//! invariant violations are panics here, so both drivers report them as crashes.

pub mod driver;
pub mod targets;

/// Every target, by name (the names of `fuzz_targets/*.rs` and `corpus/*`).
pub const TARGETS: &[(&str, fn(&[u8]))] =
    &[("route", targets::route), ("validate", targets::validate), ("spec", targets::spec), ("config", targets::config), ("flow", targets::flow), ("sidecar_sync", targets::sidecar_sync)];

/// Tokens that tend to matter to a URL, JSON and schema parser; the stable driver splices them in.
pub const DICTIONARY: &[&[u8]] = &[
    b"/",
    b"%",
    b"%2F",
    b"%2f",
    b"%2e",
    b"%2E%2E",
    b"..",
    b".",
    b"%00",
    b"%0D%0A",
    b"%ff",
    b"%C3%A9",
    b"%E2%82",
    b"?",
    b"&",
    b"=",
    b"+",
    b"#",
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b":",
    b",",
    b"\\u0000",
    b"\\ud800",
    b"null",
    b"true",
    b"false",
    b"-1",
    b"0",
    b"1e309",
    b"99999999999999999999",
    b"-9223372036854775808",
    b"18446744073709551616",
    b"NaN",
    b"/v1/",
    b"/sys/",
    b"en.wikipedia.org",
    b"*.wikipedia.org",
    b"{title}",
    b"{domain}",
    b"{revision}",
    b"$ref",
    b"#/components/schemas/",
    b"\"pattern\":\"",
    b"(?=",
    b"\"type\":\"integer\"",
    b"\"enum\":[]",
    b"x-restrouter",
    b"application/json",
    b"application/x-www-form-urlencoded",
    b"\r\n",
    b"\0",
    b"\xff\xfe",
    b"W/\"",
    b"\"1/t\"",
    b"no-cache",
];
