//! HERMES_HOME/.env as `KEY -> value` (read only; the relay never writes it). Handles comments,
//! blank lines, an `export ` prefix and matching surrounding quotes; malformed lines are skipped.

use std::collections::BTreeMap;

pub fn parse(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if key.is_empty() || key.contains(char::is_whitespace) {
            continue;
        }
        out.insert(key.to_string(), unquote(value.trim()).to_string());
    }
    out
}

fn unquote(v: &str) -> &str {
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        let e = parse("# c\n\nOPENAI_API_KEY=sk-abc=def\nexport A = \"quoted\"\nB='x'\nnoequals\n bad key=1\nEMPTY=\n");
        assert_eq!(e["OPENAI_API_KEY"], "sk-abc=def");
        assert_eq!(e["A"], "quoted");
        assert_eq!(e["B"], "x");
        assert_eq!(e["EMPTY"], "");
        assert_eq!(e.len(), 4);
    }
}
