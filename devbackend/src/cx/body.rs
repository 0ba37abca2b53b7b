//! The `html` of a machine translation request and the stand-in's "translation" of it.

/// `html` from a form, JSON or multipart body; any other body is the HTML itself (cxserver's
/// `req.body.html || req.rawBody`).
pub fn html_field(content_type: &str, bytes: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(bytes).ok()?;
    let media = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match media.as_str() {
        "application/x-www-form-urlencoded" => form_field(text, "html"),
        "application/json" => serde_json::from_str::<serde_json::Value>(text)
            .ok()?
            .get("html")?
            .as_str()
            .map(str::to_string),
        "multipart/form-data" => multipart_field(content_type, text, "html"),
        _ => Some(text.to_string()),
    }
}

fn form_field(text: &str, name: &str) -> Option<String> {
    text.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(key) == name).then(|| decode(value))
    })
}

fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(&text.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// The part named `name` of a multipart body: just enough of RFC 7578 for form fields.
fn multipart_field(content_type: &str, text: &str, name: &str) -> Option<String> {
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))?
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    let wanted = format!("name=\"{name}\"");
    text.split(delimiter.as_str()).find_map(|part| {
        let (head, value) = part.split_once("\r\n\r\n")?;
        head.contains(&wanted)
            .then(|| value.strip_suffix("\r\n").unwrap_or(value).to_string())
    })
}

/// Deterministic stand-in for machine translation: the markup is kept, text outside tags and
/// entities is upper-cased, and the result is marked with the target language and provider.
pub fn pseudo_translate(html: &str, to: &str, provider: &str) -> String {
    let mut out = String::with_capacity(html.len() + 64);
    let (mut in_tag, mut in_entity) = (false, false);
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            '&' if !in_tag => in_entity = true,
            ';' if in_entity => in_entity = false,
            _ => {}
        }
        out.push(if in_tag || in_entity {
            c
        } else {
            c.to_ascii_uppercase()
        });
    }
    format!("<div lang=\"{to}\" data-mt=\"{provider}\">{out}</div>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_of_each_body() {
        assert_eq!(
            html_field(
                "application/x-www-form-urlencoded",
                b"a=1&html=%3Cp%3Ehi+there%3C%2Fp%3E"
            )
            .as_deref(),
            Some("<p>hi there</p>")
        );
        assert_eq!(
            html_field("application/json", br#"{"html":"<b>x</b>"}"#).as_deref(),
            Some("<b>x</b>")
        );
        let body =
            "--XY\r\nContent-Disposition: form-data; name=\"html\"\r\n\r\n<p>a</p>\r\n--XY--\r\n";
        assert_eq!(
            html_field("multipart/form-data; boundary=XY", body.as_bytes()).as_deref(),
            Some("<p>a</p>")
        );
        assert_eq!(
            html_field("text/html", b"<i>raw</i>").as_deref(),
            Some("<i>raw</i>")
        );
        assert_eq!(
            html_field("application/x-www-form-urlencoded", b"other=1"),
            None
        );
    }

    #[test]
    fn translation_keeps_markup_and_entities() {
        assert_eq!(
            pseudo_translate("<p class=\"x\">Fish &amp; chips</p>", "es", "Apertium"),
            "<div lang=\"es\" data-mt=\"Apertium\"><p class=\"x\">FISH &amp; CHIPS</p></div>"
        );
    }
}
