//! `/api/skills`, `/api/skills/categories`, `/api/skills/{category}/{name}`: HTTP shapes over
//! `hermes_files::skills`. Reads only; ids never become paths (see that module).

use crate::error::ApiError;
use crate::hermes_files::{self, skills};
use crate::state::AppState;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

#[derive(Deserialize, Default)]
pub struct SkillQuery {
    category: Option<String>,
    search: Option<String>,
}

/// Every skill that parses far enough to be listed (unreadable files are skipped).
async fn all_skills(state: &AppState) -> Result<Vec<skills::Skill>, ApiError> {
    let dir = state.hermes_home.skills_dir();
    let found = hermes_files::blocking(move || {
        Ok(skills::discover(&dir)
            .iter()
            .filter_map(|d| skills::load(d).ok())
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(found)
}

/// `GET /api/skills?category=&search=` → `{skills, items, total, categories}`.
pub async fn list(
    State(state): State<AppState>,
    query: Result<Query<SkillQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::Invalid(e.body_text()))?;
    let category = q.category.as_deref().filter(|c| !c.is_empty());
    let search = q.search.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let matching: Vec<skills::Skill> = all_skills(&state)
        .await?
        .into_iter()
        .filter(|s| s.matches(category, search))
        .collect();
    let mut categories: Vec<&str> = matching.iter().map(|s| s.dir.category.as_str()).collect();
    categories.sort_unstable();
    categories.dedup();
    let summaries: Vec<Value> = matching.iter().map(skills::Skill::summary).collect();
    Ok(Json(json!({
        "success": true,
        "skills": summaries,
        "items": summaries,
        "total": summaries.len(),
        "count": summaries.len(),
        "categories": categories,
    })))
}

/// `GET /api/skills/categories` → `{categories:[{name, count}]}`, sorted by name.
pub async fn categories(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for s in all_skills(&state).await? {
        *counts.entry(s.dir.category).or_default() += 1;
    }
    let list: Vec<Value> = counts
        .into_iter()
        .map(|(name, count)| json!({"name": name, "count": count}))
        .collect();
    Ok(Json(json!({"total": list.len(), "categories": list})))
}

/// `GET /api/skills/{*id}` → `{id, name, …front matter, content, body_preview}`; 404 otherwise.
pub async fn detail(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(id) = id.map_err(|_| ApiError::NotFound("no such skill".into()))?;
    let dir = state.hermes_home.skills_dir();
    let skill = hermes_files::blocking(move || skills::find(&dir, &id)).await?;
    Ok(Json(skill.detail()))
}
