//! SKILL.md front matter: the YAML mapping between a leading `---` line and the next `---` (or
//! `...`) line, and the Markdown body after it. Never fails: bad YAML just yields no fields.

use super::yaml_to_json;
use serde_json::{Map, Value};

/// A SKILL.md split into its front matter fields and body.
#[derive(Debug, Default)]
pub struct SkillText {
    /// Front matter as JSON (empty when absent or unusable).
    pub fields: Map<String, Value>,
    pub body: String,
    /// Set when a front matter block exists but is not a YAML mapping.
    pub front_matter_error: Option<&'static str>,
}

pub fn parse(text: &str) -> SkillText {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some((yaml, body)) = split(text) else {
        return SkillText {
            body: text.to_string(),
            ..Default::default()
        };
    };
    let (fields, front_matter_error) = match serde_yaml::from_str::<serde_yaml::Value>(yaml) {
        Ok(serde_yaml::Value::Mapping(m)) => match yaml_to_json(&serde_yaml::Value::Mapping(m)) {
            Value::Object(o) => (o, None),
            _ => (Map::new(), Some("front_matter_invalid")),
        },
        // An empty block (`---\n---`) is no front matter, not an error.
        Ok(serde_yaml::Value::Null) => (Map::new(), None),
        Ok(_) | Err(_) => (Map::new(), Some("front_matter_invalid")),
    };
    SkillText {
        fields,
        body: body.to_string(),
        front_matter_error,
    }
}

/// `(yaml, body)` when the text opens with a `---` line closed by a later `---`/`...` line.
fn split(text: &str) -> Option<(&str, &str)> {
    let mut lines = text.split_inclusive('\n');
    let first = lines.next()?;
    if first.trim_end() != "---" {
        return None;
    }
    let start = first.len();
    let mut offset = start;
    for line in lines {
        let bare = line.trim_end();
        if bare == "---" || bare == "..." {
            return Some((&text[start..offset], &text[offset + line.len()..]));
        }
        offset += line.len();
    }
    None
}

/// The first non-blank body line without Markdown heading marks, at most `max` characters.
pub fn first_line(body: &str, max: usize) -> String {
    body.lines()
        .map(|l| l.trim().trim_start_matches('#').trim())
        .find(|l| !l.is_empty())
        .map(|l| l.chars().take(max).collect())
        .unwrap_or_default()
}

/// The first `max` characters of the body, leading blank lines dropped.
pub fn preview(body: &str, max: usize) -> String {
    body.trim_start().chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_and_body() {
        let t = parse("---\nname: web-search\ndescription: Search the web\nversion: 1.2.0\nmetadata:\n  hermes:\n    tags: [web, search]\n---\n# Web search\nBody text\n");
        assert_eq!(t.fields["name"], "web-search");
        assert_eq!(t.fields["version"], "1.2.0");
        assert_eq!(t.fields["metadata"]["hermes"]["tags"][1], "search");
        assert_eq!(t.body, "# Web search\nBody text\n");
        assert!(t.front_matter_error.is_none());
    }

    #[test]
    fn crlf_bom_and_dots_terminator() {
        let t = parse("\u{feff}---\r\nname: a\r\n...\r\nbody\r\n");
        assert_eq!(t.fields["name"], "a");
        assert_eq!(t.body, "body\r\n");
    }

    #[test]
    fn dashes_inside_values_do_not_split() {
        let t = parse("---\ndescription: \"a --- b\"\n---\nbody");
        assert_eq!(t.fields["description"], "a --- b");
        assert_eq!(t.body, "body");
    }

    #[test]
    fn broken_or_odd_front_matter_keeps_the_body() {
        let t = parse("---\nname: [unclosed\n---\nHello\n");
        assert!(t.fields.is_empty());
        assert_eq!(t.front_matter_error, Some("front_matter_invalid"));
        assert_eq!(first_line(&t.body, 100), "Hello");

        let t = parse("---\n- a list\n---\nx");
        assert!(t.fields.is_empty());
        assert!(t.front_matter_error.is_some());

        let t = parse("---\nname: never closed\n");
        assert!(t.fields.is_empty());
        assert!(t.front_matter_error.is_none());

        let t = parse("no front matter\n");
        assert_eq!(t.body, "no front matter\n");

        let t = parse("---\n---\nbody");
        assert!(t.fields.is_empty() && t.front_matter_error.is_none());
    }

    #[test]
    fn first_line_and_preview() {
        assert_eq!(first_line("\n\n## Title here\nmore", 100), "Title here");
        assert_eq!(first_line("", 100), "");
        assert_eq!(preview("\n\nabcdef", 3), "abc");
    }
}
