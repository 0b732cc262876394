//! The in-relay search index of the spacetimedb backend: an inverted index over `memory_entry`
//! rows (content + category), kept in step by the SDK's insert/update/delete callbacks, ranked
//! by BM25 blended with importance and recency. Holds no row data beyond what ranking and
//! filtering need; rows themselves are read from the subscription cache.

use super::text::terms;
use super::Filters;
use std::collections::HashMap;
use std::sync::RwLock;

const K1: f64 = 1.2;
const B: f64 = 0.75;

/// What the index keeps of one row.
#[derive(Debug, Clone)]
pub struct DocInfo {
    pub category: String,
    pub owner: String,
    pub session_id: String,
    pub importance: u8,
    pub updated_us: i64,
    pub expires_us: i64,
}

/// One row as the index sees it.
pub struct IndexDoc<'a> {
    pub id: u64,
    pub content: &'a str,
    pub info: DocInfo,
}

#[derive(Default)]
struct Inner {
    /// term → (doc id → term frequency)
    postings: HashMap<String, HashMap<u64, u32>>,
    /// doc id → (its distinct terms, length in terms, info)
    docs: HashMap<u64, (Vec<String>, u32, DocInfo)>,
    total_len: u64,
}

#[derive(Default)]
pub struct SearchIndex {
    inner: RwLock<Inner>,
}

impl Inner {
    fn remove(&mut self, id: u64) {
        if let Some((terms, len, _)) = self.docs.remove(&id) {
            self.total_len -= u64::from(len);
            for t in terms {
                if let Some(p) = self.postings.get_mut(&t) {
                    p.remove(&id);
                    if p.is_empty() {
                        self.postings.remove(&t);
                    }
                }
            }
        }
    }
}

impl SearchIndex {
    /// Adds or replaces a document.
    pub fn upsert(&self, doc: IndexDoc<'_>) {
        let mut tf: HashMap<String, u32> = HashMap::new();
        let mut len = 0u32;
        for t in terms(doc.content).into_iter().chain(terms(
            &doc.info.category.replace(['_', '-', ':', '/', '.'], " "),
        )) {
            *tf.entry(t).or_default() += 1;
            len += 1;
        }
        let Ok(mut g) = self.inner.write() else {
            return;
        };
        g.remove(doc.id);
        for (t, n) in &tf {
            g.postings.entry(t.clone()).or_default().insert(doc.id, *n);
        }
        g.total_len += u64::from(len);
        g.docs
            .insert(doc.id, (tf.into_keys().collect(), len, doc.info));
    }

    pub fn remove(&self, id: u64) {
        if let Ok(mut g) = self.inner.write() {
            g.remove(id);
        }
    }

    /// Forgets everything (a new connection's subscription refills it).
    pub fn clear(&self) {
        if let Ok(mut g) = self.inner.write() {
            *g = Inner::default();
        }
    }

    pub fn len(&self) -> usize {
        self.inner.read().map(|g| g.docs.len()).unwrap_or(0)
    }

    /// Ids of every indexed document the filters admit, with their info (for listings).
    pub fn filtered(&self, filters: &Filters, now_us: i64) -> Vec<(u64, DocInfo)> {
        let Ok(g) = self.inner.read() else {
            return Vec::new();
        };
        g.docs
            .iter()
            .filter(|(_, (_, _, i))| live(i, now_us) && admits(filters, i))
            .map(|(id, (_, _, i))| (*id, i.clone()))
            .collect()
    }

    /// The best `limit` documents for `query`: BM25 normalised to the best hit, blended with
    /// importance and recency; ties broken by newer update, then higher id.
    pub fn search(
        &self,
        query: &str,
        filters: &Filters,
        limit: usize,
        now_us: i64,
    ) -> Vec<(u64, f64)> {
        let mut q = terms(query);
        q.sort();
        q.dedup();
        let Ok(g) = self.inner.read() else {
            return Vec::new();
        };
        let n = g.docs.len() as f64;
        if n == 0.0 || q.is_empty() {
            return Vec::new();
        }
        let avg = (g.total_len as f64 / n).max(1.0);
        let mut acc: HashMap<u64, f64> = HashMap::new();
        for t in &q {
            let Some(p) = g.postings.get(t) else { continue };
            let df = p.len() as f64;
            let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
            for (id, tf) in p {
                let (_, len, info) = &g.docs[id];
                if !live(info, now_us) || !admits(filters, info) {
                    continue;
                }
                let tf = f64::from(*tf);
                let norm = K1 * (1.0 - B + B * f64::from(*len) / avg);
                *acc.entry(*id).or_default() += idf * tf * (K1 + 1.0) / (tf + norm);
            }
        }
        let best = acc.values().cloned().fold(0.0f64, f64::max);
        if best <= 0.0 {
            return Vec::new();
        }
        let mut scored: Vec<(u64, f64, i64)> = acc
            .into_iter()
            .map(|(id, s)| {
                let i = &g.docs[&id].2;
                (
                    id,
                    super::blend(s / best, i.importance, i.updated_us, now_us),
                    i.updated_us,
                )
            })
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.2.cmp(&a.2)).then(b.0.cmp(&a.0)));
        scored.truncate(limit);
        scored.into_iter().map(|(id, s, _)| (id, s)).collect()
    }
}

fn live(i: &DocInfo, now_us: i64) -> bool {
    i.expires_us == 0 || i.expires_us > now_us
}

fn admits(f: &Filters, i: &DocInfo) -> bool {
    f.admits(&i.category, &i.owner, &i.session_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(category: &str, importance: u8) -> DocInfo {
        DocInfo {
            category: category.into(),
            owner: String::new(),
            session_id: String::new(),
            importance,
            updated_us: 1,
            expires_us: 0,
        }
    }

    fn add(ix: &SearchIndex, id: u64, content: &str, cat: &str, imp: u8) {
        ix.upsert(IndexDoc {
            id,
            content,
            info: info(cat, imp),
        });
    }

    #[test]
    fn ranks_by_relevance_and_follows_updates_and_deletes() {
        let ix = SearchIndex::default();
        add(&ix, 1, "hedgehog spines and hedgehog food", "general", 5);
        add(&ix, 2, "a hedgehog was seen", "general", 5);
        add(&ix, 3, "zebra stripes", "general", 5);
        let f = Filters::default();
        let r: Vec<u64> = ix
            .search("hedgehogs", &f, 10, 2)
            .into_iter()
            .map(|x| x.0)
            .collect();
        assert_eq!(r, vec![1, 2]);
        ix.remove(1);
        add(&ix, 2, "zebra crossing", "general", 5);
        assert!(ix.search("hedgehog", &f, 10, 2).is_empty());
        assert_eq!(ix.search("zebra", &f, 10, 2).len(), 2);
        assert_eq!(ix.len(), 2);
    }

    #[test]
    fn filters_importance_and_ties_are_deterministic() {
        let ix = SearchIndex::default();
        add(&ix, 1, "deploy the relay", "ops", 3);
        add(&ix, 2, "deploy the relay", "ops", 9);
        add(&ix, 3, "deploy the relay", "dev", 9);
        let ops = Filters {
            category: Some("ops".into()),
            ..Default::default()
        };
        let r: Vec<u64> = ix
            .search("deploy", &ops, 10, 2)
            .into_iter()
            .map(|x| x.0)
            .collect();
        assert_eq!(r, vec![2, 1]);
        let all: Vec<u64> = ix
            .search("deploy", &Filters::default(), 10, 2)
            .into_iter()
            .map(|x| x.0)
            .collect();
        assert_eq!(all, vec![3, 2, 1]);
        assert!(ix.search("!!!", &Filters::default(), 10, 2).is_empty());
    }
}
