//! Text handling shared by the search backends: word splitting, stop words, a light English
//! stemmer for the in-relay index, and FTS5 query building that turns any user text into a valid
//! MATCH expression (every token quoted, OR-joined), so no query can be a syntax error.

/// Words too common to help ranking (dropped from queries and from the in-relay index).
const STOP_WORDS: &[&str] = &[
    "a", "about", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be", "been", "but",
    "by", "can", "could", "did", "do", "does", "for", "from", "had", "has", "have", "he", "her",
    "his", "how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "no", "not", "of", "on",
    "or", "our", "she", "so", "than", "that", "the", "their", "them", "then", "there", "these",
    "they", "this", "those", "to", "up", "us", "was", "we", "were", "what", "when", "where",
    "which", "who", "whom", "why", "will", "with", "would", "you", "your",
];

pub fn is_stop_word(w: &str) -> bool {
    STOP_WORDS.binary_search(&w).is_ok()
}

/// Lower-cased runs of letters and digits, in order (what FTS5's `unicode61` tokenizer sees).
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// Index terms of a text: words without stop words or lone letters, stemmed.
pub fn terms(text: &str) -> Vec<String> {
    words(text)
        .filter(|w| {
            !is_stop_word(w) && (w.chars().count() != 1 || w.chars().all(|c| c.is_ascii_digit()))
        })
        .map(|w| stem(&w))
        .collect()
}

/// A light, deterministic English stemmer: plurals, `-ing`, `-ed`, doubled final consonants and a
/// final `e`, so "deploy", "deploys", "deployed" and "deploying" share a term. Non-ASCII words are
/// left alone.
pub fn stem(word: &str) -> String {
    if !word.is_ascii() || word.len() <= 3 {
        return word.to_string();
    }
    let mut w = word.to_string();
    if w.ends_with("sses") {
        w.truncate(w.len() - 2);
    } else if w.ends_with("ies") && w.len() > 4 {
        w.truncate(w.len() - 3);
        w.push('y');
    } else if w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is") {
        w.truncate(w.len() - 1);
    }
    let mut cut = false;
    if w.ends_with("ing") && w.len() >= 6 {
        w.truncate(w.len() - 3);
        cut = true;
    } else if w.ends_with("ed") && w.len() >= 5 {
        w.truncate(w.len() - 2);
        cut = true;
    }
    if cut {
        let b = w.as_bytes();
        let n = b.len();
        if n >= 2 && b[n - 1] == b[n - 2] && !b"aeiouylsz".contains(&b[n - 1]) {
            w.truncate(n - 1);
        }
    }
    if w.ends_with('e') && w.len() > 4 {
        w.truncate(w.len() - 1);
    }
    w
}

/// An FTS5 MATCH expression for any user text: the words (stop words dropped unless nothing else
/// is left), each as a quoted string, OR-joined. `None` when the text has no word at all.
pub fn fts5_query(text: &str) -> Option<String> {
    let all: Vec<String> = words(text).collect();
    let mut picked: Vec<&String> = all.iter().filter(|w| !is_stop_word(w)).collect();
    if picked.is_empty() {
        picked = all.iter().collect();
    }
    let mut seen = std::collections::BTreeSet::new();
    let parts: Vec<String> = picked
        .into_iter()
        .filter(|w| seen.insert(w.as_str()))
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect();
    (!parts.is_empty()).then(|| parts.join(" OR "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_words_are_sorted_for_binary_search() {
        let mut s = STOP_WORDS.to_vec();
        s.sort_unstable();
        assert_eq!(s, STOP_WORDS);
    }

    #[test]
    fn stems_share_a_term() {
        for w in ["deploy", "deploys", "deployed", "deploying"] {
            assert_eq!(stem(w), "deploy", "{w}");
        }
        assert_eq!(stem("running"), "run");
        assert_eq!(stem("queries"), "query");
        assert_eq!(stem("configure"), stem("configured"));
        assert_eq!(stem("status"), "status");
        assert_eq!(stem("café"), "café");
    }

    #[test]
    fn any_text_becomes_a_valid_fts_query() {
        assert_eq!(fts5_query("what's up-1").as_deref(), Some("\"s\" OR \"1\""));
        assert_eq!(
            fts5_query("gaze AND \"x").as_deref(),
            Some("\"gaze\" OR \"x\"")
        );
        assert_eq!(fts5_query("the"), Some("\"the\"".into()));
        assert_eq!(fts5_query("*** ()"), None);
        assert_eq!(fts5_query(""), None);
    }

    #[test]
    fn terms_drop_stop_words_and_lone_letters() {
        assert_eq!(
            terms("The Rust relay's tests"),
            vec!["rust", "relay", "test"]
        );
    }
}
