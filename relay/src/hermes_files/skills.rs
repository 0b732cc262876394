//! Skills under HERMES_HOME: `skills/<category>/<name>/SKILL.md`, listed and read by id
//! `<category>/<name>`. Ids are only ever matched against what discovery found, so no client
//! text is joined onto a path; entries resolving outside the skills folder (symlinks) are skipped.

use super::front_matter::{self, first_line, preview};
use super::HermesFileError;
use serde_json::{json, Map, Value};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Largest SKILL.md read (bigger files are truncated, not refused).
const MAX_SKILL_BYTES: u64 = 1024 * 1024;
const MAX_NAME: usize = 64;
const MAX_DESCRIPTION: usize = 1024;
const PREVIEW_CHARS: usize = 200;

/// A SKILL.md found on disk.
#[derive(Debug, Clone)]
pub struct SkillDir {
    pub category: String,
    pub dir_name: String,
    file: PathBuf,
}

impl SkillDir {
    pub fn id(&self) -> String {
        format!("{}/{}", self.category, self.dir_name)
    }
    /// Path relative to HERMES_HOME (never absolute).
    pub fn rel_path(&self) -> String {
        format!("skills/{}/{}/SKILL.md", self.category, self.dir_name)
    }
}

/// A parsed skill: summary fields plus the full front matter and text for the detail view.
#[derive(Debug, Clone)]
pub struct Skill {
    pub dir: SkillDir,
    pub name: String,
    pub description: String,
    pub tags: Vec<String>,
    pub source: String,
    pub front_matter: Map<String, Value>,
    pub front_matter_error: Option<&'static str>,
    pub content: String,
    pub body: String,
}

/// Every `<category>/<name>/SKILL.md` under `skills_dir`, sorted by category then name. A missing folder is empty.
pub fn discover(skills_dir: &Path) -> Vec<SkillDir> {
    let Ok(root) = skills_dir.canonicalize() else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for category in visible_subdirs(&root, &root) {
        let Some(cat_name) = file_name(&category) else {
            continue;
        };
        for skill in visible_subdirs(&category, &root) {
            let Some(dir_name) = file_name(&skill) else {
                continue;
            };
            let file = skill.join("SKILL.md");
            match file.canonicalize() {
                Ok(real) if real.starts_with(&root) && real.is_file() => found.push(SkillDir {
                    category: cat_name.clone(),
                    dir_name,
                    file: real,
                }),
                _ => continue,
            }
        }
    }
    found.sort_by(|a, b| (&a.category, &a.dir_name).cmp(&(&b.category, &b.dir_name)));
    found
}

/// Subfolders of `dir` whose real path stays inside `root`; hidden names (`.git`, `.hub`) skipped.
fn visible_subdirs(dir: &Path, root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| file_name(p).is_some_and(|n| !n.starts_with('.')))
        .filter(|p| {
            p.canonicalize()
                .is_ok_and(|real| real.starts_with(root) && real.is_dir())
        })
        .collect()
}

fn file_name(p: &Path) -> Option<String> {
    p.file_name()?.to_str().map(str::to_string)
}

/// Reads and parses one discovered skill. Unreadable text is decoded lossily.
pub fn load(dir: &SkillDir) -> Result<Skill, HermesFileError> {
    let mut bytes = Vec::new();
    std::fs::File::open(&dir.file)
        .and_then(|f| f.take(MAX_SKILL_BYTES).read_to_end(&mut bytes))
        .map_err(|e| HermesFileError::Io(format!("cannot read {}: {e}", dir.rel_path())))?;
    let content = String::from_utf8_lossy(&bytes).into_owned();
    let parsed = front_matter::parse(&content);
    let fm = &parsed.fields;
    let name = text_field(fm.get("name"))
        .map(|n| n.chars().take(MAX_NAME).collect())
        .unwrap_or_else(|| dir.dir_name.clone());
    let description = text_field(fm.get("description"))
        .map(|d| d.chars().take(MAX_DESCRIPTION).collect())
        .unwrap_or_else(|| first_line(&parsed.body, MAX_DESCRIPTION));
    let tags = string_list(fm.pointer_get(&["metadata", "hermes", "tags"]))
        .or_else(|| string_list(fm.get("tags")))
        .unwrap_or_default();
    let source = text_field(fm.get("source")).unwrap_or_else(|| "builtin".into());
    Ok(Skill {
        dir: dir.clone(),
        name,
        description,
        tags,
        source,
        front_matter: parsed.fields,
        front_matter_error: parsed.front_matter_error,
        content,
        body: parsed.body,
    })
}

/// The skill with id `<category>/<name>`, or NotFound for anything else.
pub fn find(skills_dir: &Path, id: &str) -> Result<Skill, HermesFileError> {
    let not_found = || HermesFileError::NotFound(format!("no skill with id {id:?}"));
    if !valid_id(id) {
        return Err(not_found());
    }
    let dir = discover(skills_dir)
        .into_iter()
        .find(|s| s.id() == id)
        .ok_or_else(not_found)?;
    load(&dir)
}

/// Exactly two plain segments: no empty, `.`/`..`, hidden, backslash or control characters.
pub fn valid_id(id: &str) -> bool {
    let parts: Vec<&str> = id.split('/').collect();
    parts.len() == 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && !p.starts_with('.')
                && !p.contains('\\')
                && !p.chars().any(char::is_control)
        })
}

/// A scalar front matter value as text (strings, numbers, booleans); anything else is skipped.
fn text_field(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A list of scalars (or one comma-separated string) as strings.
fn string_list(v: Option<&Value>) -> Option<Vec<String>> {
    match v? {
        Value::Array(items) => Some(items.iter().filter_map(|i| text_field(Some(i))).collect()),
        Value::String(s) => Some(
            s.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect(),
        ),
        _ => None,
    }
}

trait PointerGet {
    fn pointer_get(&self, path: &[&str]) -> Option<&Value>;
}

impl PointerGet for Map<String, Value> {
    fn pointer_get(&self, path: &[&str]) -> Option<&Value> {
        let (first, rest) = path.split_first()?;
        rest.iter().try_fold(self.get(*first)?, |v, k| v.get(k))
    }
}

impl Skill {
    pub fn matches(&self, category: Option<&str>, search: Option<&str>) -> bool {
        if category.is_some_and(|c| c != self.dir.category) {
            return false;
        }
        let Some(q) = search.map(str::to_lowercase).filter(|q| !q.is_empty()) else {
            return true;
        };
        self.name.to_lowercase().contains(&q)
            || self.description.to_lowercase().contains(&q)
            || self.tags.iter().any(|t| t.to_lowercase().contains(&q))
    }

    /// The list entry: summary fields Workspace reads, optional ones only when present.
    pub fn summary(&self) -> Value {
        let fm = &self.front_matter;
        let mut v = json!({
            "id": self.dir.id(),
            "name": self.name,
            "description": self.description,
            "category": self.dir.category,
            "tags": self.tags,
            "path": self.dir.rel_path(),
            "source": self.source,
            "builtin": self.source == "builtin",
            "installed": true,
            "enabled": true,
        });
        let obj = v.as_object_mut().expect("object");
        for key in ["version", "author", "license"] {
            if let Some(s) = text_field(fm.get(key)) {
                obj.insert(key.into(), Value::String(s));
            }
        }
        if let Some(p) = string_list(fm.get("platforms")) {
            obj.insert("platforms".into(), json!(p));
        }
        if let Some(e) = self.front_matter_error {
            obj.insert("error".into(), json!(e));
        }
        v
    }

    /// The detail view: front matter first, then the relay's fields (which always win).
    pub fn detail(&self) -> Value {
        let mut out = self.front_matter.clone();
        if let Value::Object(summary) = self.summary() {
            out.extend(summary);
        }
        out.insert("content".into(), json!(self.content));
        out.insert(
            "body_preview".into(),
            json!(preview(&self.body, PREVIEW_CHARS)),
        );
        Value::Object(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }

    fn home() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        let s = t.path().join("skills");
        write(&s, "research/web-search/SKILL.md", "---\nname: web-search\ndescription: Search the web\nversion: 1.2.0\nauthor: joe\nmetadata:\n  hermes:\n    tags: [web, lookup]\n---\nbody\n");
        write(
            &s,
            "research/broken/SKILL.md",
            "---\nname: [oops\n---\nFirst line here\n",
        );
        write(
            &s,
            "devops/odd/SKILL.md",
            "---\nname: {a: 1}\ndescription: 42\ntags: x, y\n---\n",
        );
        write(&s, "devops/no-file/README.md", "not a skill");
        write(&s, ".hidden/x/SKILL.md", "---\nname: hidden\n---\n");
        write(t.path(), "outside/evil/SKILL.md", "---\nname: evil\n---\n");
        t
    }

    #[test]
    fn discovers_two_level_skills_sorted() {
        let t = home();
        let ids: Vec<String> = discover(&t.path().join("skills"))
            .iter()
            .map(SkillDir::id)
            .collect();
        assert_eq!(
            ids,
            ["devops/odd", "research/broken", "research/web-search"]
        );
    }

    #[test]
    fn missing_skills_dir_is_empty() {
        let t = tempfile::tempdir().unwrap();
        assert!(discover(&t.path().join("skills")).is_empty());
    }

    #[test]
    fn fields_defaults_and_broken_front_matter() {
        let t = home();
        let dir = t.path().join("skills");
        let s = find(&dir, "research/web-search").unwrap();
        assert_eq!(s.name, "web-search");
        assert_eq!(s.tags, ["web", "lookup"]);
        let v = s.summary();
        assert_eq!(v["version"], "1.2.0");
        assert_eq!(v["author"], "joe");
        assert_eq!(v["path"], "skills/research/web-search/SKILL.md");
        assert_eq!(v["source"], "builtin");

        let b = find(&dir, "research/broken").unwrap();
        assert_eq!(b.name, "broken");
        assert_eq!(b.description, "First line here");
        assert_eq!(b.summary()["error"], "front_matter_invalid");

        let o = find(&dir, "devops/odd").unwrap();
        assert_eq!(o.name, "odd");
        assert_eq!(o.description, "42");
        assert_eq!(o.tags, ["x", "y"]);
    }

    #[test]
    fn detail_keeps_relay_fields_over_front_matter() {
        let t = home();
        write(
            &t.path().join("skills"),
            "a/b/SKILL.md",
            "---\nid: other\ncontent: fake\nextra: 1\n---\nbody text\n",
        );
        let d = find(&t.path().join("skills"), "a/b").unwrap().detail();
        assert_eq!(d["id"], "a/b");
        assert!(d["content"].as_str().unwrap().contains("body text"));
        assert_eq!(d["extra"], 1);
        assert_eq!(d["body_preview"], "body text\n");
    }

    #[test]
    fn traversal_is_refused() {
        let t = home();
        let dir = t.path().join("skills");
        for id in [
            "../outside/evil",
            "../../etc/passwd",
            "/etc/passwd",
            "research/../research/web-search",
            "research/web-search/../../outside/evil",
            "research\\web-search",
            ".hidden/x",
            "research",
            "research/",
            "",
        ] {
            assert!(
                matches!(find(&dir, id), Err(HermesFileError::NotFound(_))),
                "{id}"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_leaving_the_skills_dir_are_skipped() {
        let t = home();
        let dir = t.path().join("skills");
        std::os::unix::fs::symlink(t.path().join("outside"), dir.join("linked")).unwrap();
        std::os::unix::fs::symlink(t.path().join("outside/evil"), dir.join("research/evil"))
            .unwrap();
        fs::create_dir_all(dir.join("research/file-link")).unwrap();
        std::os::unix::fs::symlink(
            t.path().join("outside/evil/SKILL.md"),
            dir.join("research/file-link/SKILL.md"),
        )
        .unwrap();
        let ids: Vec<String> = discover(&dir).iter().map(SkillDir::id).collect();
        assert!(
            !ids.iter()
                .any(|i| i.contains("evil") || i.contains("linked") || i.contains("file-link")),
            "{ids:?}"
        );
        assert!(find(&dir, "linked/evil").is_err());
    }

    #[test]
    fn search_covers_name_description_and_tags() {
        let t = home();
        let s = find(&t.path().join("skills"), "research/web-search").unwrap();
        assert!(s.matches(Some("research"), Some("WEB")));
        assert!(s.matches(None, Some("LOOKUP")));
        assert!(s.matches(None, Some("search the")));
        assert!(!s.matches(Some("devops"), None));
        assert!(!s.matches(None, Some("nothing")));
    }
}
