//! `multipart/form-data` bodies (RFC 7578), as far as form fields go: each part's `name` and
//! its content as text. RESTBase's page save routes declared this format.

/// The `boundary` parameter of a `multipart/form-data` content type.
pub fn boundary(content_type: &str) -> Option<&str> {
    let (media, params) = content_type.split_once(';')?;
    if !media.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (name, value) = p.split_once('=')?;
        let value = value.trim().trim_matches('"');
        (name.trim().eq_ignore_ascii_case("boundary") && !value.is_empty() && value.len() <= 70).then_some(value)
    })
}

/// The fields of a body with this boundary, in order.
pub fn fields(body: &[u8], boundary: &str) -> Result<Vec<(String, String)>, String> {
    let delimiter = [b"--", boundary.as_bytes()].concat();
    let mut at = find(body, &delimiter, 0).ok_or("no multipart boundary in the body")? + delimiter.len();
    let mut out = Vec::new();
    loop {
        let rest = body.get(at..).unwrap_or_default();
        if rest.starts_with(b"--") {
            return Ok(out);
        }
        let start = at + line_end(rest).ok_or("a multipart boundary is not followed by a line end")?;
        // A part ends at a line end followed by the next delimiter.
        let next = find(body, &delimiter, start).ok_or("the multipart body is not terminated")?;
        let part = body.get(start..next).unwrap_or_default();
        let part = part.strip_suffix(b"\r\n").or_else(|| part.strip_suffix(b"\n")).ok_or("a multipart delimiter is not at a line start")?;
        out.push(field(part)?);
        at = next + delimiter.len();
    }
}

/// Bytes up to and including the line end a slice starts with (after optional padding).
fn line_end(rest: &[u8]) -> Option<usize> {
    let pad = rest.iter().take_while(|b| **b == b' ' || **b == b'\t').count();
    match rest.get(pad..)? {
        [b'\r', b'\n', ..] => Some(pad + 2),
        [b'\n', ..] => Some(pad + 1),
        _ => None,
    }
}

/// One part: header lines, an empty line, the content.
fn field(part: &[u8]) -> Result<(String, String), String> {
    let (head, content) = match find(part, b"\r\n\r\n", 0) {
        Some(i) => (part.get(..i), part.get(i + 4..)),
        None => find(part, b"\n\n", 0).map_or((None, None), |i| (part.get(..i), part.get(i + 2..))),
    };
    let (Some(head), Some(content)) = (head, content) else { return Err("a multipart part has no header".into()) };
    let head = std::str::from_utf8(head).map_err(|_| "a multipart part header is not UTF-8")?;
    let name = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(n, _)| n.trim().eq_ignore_ascii_case("content-disposition"))
        .find_map(|(_, v)| disposition_name(v))
        .ok_or("a multipart part has no form-data name")?;
    let value = String::from_utf8(content.to_vec()).map_err(|_| format!("the multipart field '{name}' is not UTF-8"))?;
    Ok((name, value))
}

/// `name` of `form-data; name="wikitext"`.
fn disposition_name(value: &str) -> Option<String> {
    let mut params = value.split(';');
    if !params.next()?.trim().eq_ignore_ascii_case("form-data") {
        return None;
    }
    params.find_map(|p| {
        let (n, v) = p.split_once('=')?;
        n.trim().eq_ignore_ascii_case("name").then(|| v.trim().trim_matches('"').to_string())
    })
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|i| i + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_in_order_with_crlf_or_lf() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"wikitext\"\r\n\r\nHello\r\n\r\nworld\r\n--XyZ\r\ncontent-disposition: form-data; name=csrf_token\r\ncontent-type: text/plain\r\n\r\nabc+\\\r\n--XyZ--\r\n";
        assert_eq!(fields(body.as_bytes(), "XyZ").unwrap(), [("wikitext".to_string(), "Hello\r\n\r\nworld".to_string()), ("csrf_token".into(), "abc+\\".into())]);
        let lf = "preamble\n--b\nContent-Disposition: form-data; name=\"a\"\n\n1\n--b--";
        assert_eq!(fields(lf.as_bytes(), "b").unwrap(), [("a".to_string(), "1".to_string())]);
    }

    #[test]
    fn broken_bodies_are_errors() {
        for body in ["", "--b", "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1", "--b\r\n\r\n1\r\n--b--", "--b\r\nContent-Disposition: attachment; name=a\r\n\r\n1\r\n--b--", "--bX"] {
            assert!(fields(body.as_bytes(), "b").is_err(), "{body:?}");
        }
        assert!(fields(b"--b\r\nContent-Disposition: form-data; name=a\r\n\r\n\xff\r\n--b--", "b").is_err());
    }

    #[test]
    fn boundary_of_the_content_type() {
        assert_eq!(boundary("multipart/form-data; boundary=----x1"), Some("----x1"));
        assert_eq!(boundary("Multipart/Form-Data; charset=utf-8; boundary=\"a b\""), Some("a b"));
        assert_eq!(boundary("multipart/form-data"), None);
        assert_eq!(boundary("text/plain; boundary=x"), None);
        assert_eq!(boundary("multipart/form-data; boundary="), None);
    }
}
