//! Task dependency graph rules: bounded cycle detection for one new edge and for a whole batch.
//!
//! Pure: the caller supplies a neighbour function (index lookups in a reducer, a map in tests).
//! Every walk is bounded so a reducer can never block the database on a huge graph.

use crate::errors::invalid;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Most tasks a single cycle check may visit; beyond it the edge is refused (`E_INVALID`).
pub const MAX_VISIT: usize = 10_000;
/// Most prerequisites one task may have.
pub const MAX_PREREQUISITES: usize = 64;

/// Would adding `prerequisite → dependent` close a cycle? True when `prerequisite` is reachable
/// from `dependent` by following existing prerequisite→dependent edges (or they are equal).
/// `dependents_of(x)` returns the tasks that depend on `x`. Visits at most `limit` tasks.
pub fn creates_cycle(
    prerequisite: &str,
    dependent: &str,
    mut dependents_of: impl FnMut(&str) -> Vec<String>,
    limit: usize,
) -> Result<bool, String> {
    if prerequisite == dependent {
        return Ok(true);
    }
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut queue: VecDeque<String> = VecDeque::new();
    seen.insert(dependent.to_string());
    queue.push_back(dependent.to_string());
    while let Some(node) = queue.pop_front() {
        for next in dependents_of(&node) {
            if next == prerequisite {
                return Ok(true);
            }
            if seen.insert(next.clone()) {
                if seen.len() > limit {
                    return Err(invalid(format!(
                        "dependency graph below '{dependent}' has more than {limit} tasks; \
                         cycle check refused"
                    )));
                }
                queue.push_back(next);
            }
        }
    }
    Ok(false)
}

/// Checks a batch of new tasks with edges among themselves (and to existing tasks, which cannot
/// depend on new ones, so they cannot be on a cycle). Returns the batch ids in a topological
/// order, or `E_INVALID` naming a task on a cycle. `edges` are (prerequisite, dependent) pairs.
pub fn topo_order(ids: &[String], edges: &[(String, String)]) -> Result<Vec<String>, String> {
    let batch: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
    let mut indegree: BTreeMap<&str, usize> = ids.iter().map(|i| (i.as_str(), 0)).collect();
    let mut out: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (p, d) in edges {
        if batch.contains(p.as_str()) && batch.contains(d.as_str()) {
            *indegree.entry(d.as_str()).or_default() += 1;
            out.entry(p.as_str()).or_default().push(d.as_str());
        }
    }
    // Kahn's algorithm, seeded in input order for a stable result.
    let mut ready: VecDeque<&str> = ids
        .iter()
        .map(String::as_str)
        .filter(|i| indegree[i] == 0)
        .collect();
    let mut order = Vec::with_capacity(ids.len());
    while let Some(n) = ready.pop_front() {
        order.push(n.to_string());
        for d in out.get(n).cloned().unwrap_or_default() {
            let e = indegree.get_mut(d).expect("batch member");
            *e -= 1;
            if *e == 0 {
                ready.push_back(d);
            }
        }
    }
    if order.len() < ids.len() {
        let stuck = ids
            .iter()
            .find(|i| indegree[i.as_str()] > 0)
            .cloned()
            .unwrap_or_default();
        return Err(invalid(format!(
            "dependencies form a cycle (through task '{stuck}')"
        )));
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn graph(edges: &[(&str, &str)]) -> HashMap<String, Vec<String>> {
        let mut g: HashMap<String, Vec<String>> = HashMap::new();
        for (p, d) in edges {
            g.entry(p.to_string()).or_default().push(d.to_string());
        }
        g
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn detects_direct_and_transitive_cycles() {
        let g = graph(&[("a", "b"), ("b", "c")]);
        let f = |x: &str| g.get(x).cloned().unwrap_or_default();
        assert!(
            creates_cycle("c", "a", f, 100).unwrap(),
            "c→a closes a→b→c→a"
        );
        assert!(creates_cycle("b", "a", f, 100).unwrap());
        assert!(creates_cycle("a", "a", f, 100).unwrap(), "self loop");
        assert!(
            !creates_cycle("a", "c", f, 100).unwrap(),
            "shortcut is fine"
        );
        assert!(!creates_cycle("x", "a", f, 100).unwrap());
    }

    #[test]
    fn walk_is_bounded() {
        let edges: Vec<(String, String)> = (0..50)
            .map(|i| (format!("n{i}"), format!("n{}", i + 1)))
            .collect();
        let mut g: HashMap<String, Vec<String>> = HashMap::new();
        for (p, d) in &edges {
            g.entry(p.clone()).or_default().push(d.clone());
        }
        let f = |x: &str| g.get(x).cloned().unwrap_or_default();
        let e = creates_cycle("zz", "n0", f, 10).unwrap_err();
        assert!(e.starts_with("E_INVALID"), "{e}");
        assert!(!creates_cycle("zz", "n0", f, 100).unwrap());
    }

    #[test]
    fn topo_order_of_a_batch() {
        let ids = s(&["c", "b", "a"]);
        let edges = vec![
            ("a".to_string(), "b".to_string()),
            ("b".to_string(), "c".to_string()),
            ("old".to_string(), "a".to_string()),
        ];
        assert_eq!(topo_order(&ids, &edges).unwrap(), s(&["a", "b", "c"]));
    }

    #[test]
    fn topo_order_rejects_a_cycle() {
        let ids = s(&["a", "b", "c"]);
        let edges = vec![
            ("a".to_string(), "b".to_string()),
            ("b".to_string(), "c".to_string()),
            ("c".to_string(), "a".to_string()),
        ];
        let e = topo_order(&ids, &edges).unwrap_err();
        assert!(e.starts_with("E_INVALID: dependencies form a cycle"), "{e}");
    }
}
