//! Holographic reduced representations exactly as Hermes's `plugins/memory/holographic/
//! holographic.py` computes them (phase vectors, atoms from SHA-256 counter blocks, bind = phase
//! addition, bundle = circular mean, float64 little-endian bytes), so vectors the relay writes
//! into `memory_store.db` are the ones Hermes would write. Pure math; no I/O.
//!
//! Exactness: atoms are bit-identical everywhere. Bundles use `cos`, `sin` and `atan2` from the
//! platform libm, as numpy's portable loops do; numpy builds that dispatch `arctan2` to AVX-512
//! SVML differ from libm by at most 1 ulp in some elements (similarities agree to ~1e-16).

use sha2::{Digest, Sha256};

pub const DEFAULT_DIM: usize = 1024;
const TWO_PI: f64 = 2.0 * std::f64::consts::PI;
pub const ROLE_CONTENT: &str = "__hrr_role_content__";
pub const ROLE_ENTITY: &str = "__hrr_role_entity__";
const EMPTY: &str = "__hrr_empty__";

/// numpy's `%` for floats (result has the divisor's sign), as `npy_divmod` computes it.
fn py_mod(a: f64, b: f64) -> f64 {
    let m = a % b;
    if m != 0.0 {
        if (b < 0.0) != (m < 0.0) {
            m + b
        } else {
            m
        }
    } else {
        0.0f64.copysign(b)
    }
}

/// `encode_atom`: SHA-256 of `"{word}:{i}"`, read as little-endian u16, scaled to [0, 2π).
pub fn encode_atom(word: &str, dim: usize) -> Vec<f64> {
    let scale = TWO_PI / 65536.0;
    let mut out = Vec::with_capacity(dim + 16);
    let mut i = 0usize;
    while out.len() < dim {
        let digest = Sha256::digest(format!("{word}:{i}").as_bytes());
        for pair in digest.chunks_exact(2) {
            out.push(f64::from(u16::from_le_bytes([pair[0], pair[1]])) * scale);
        }
        i += 1;
    }
    out.truncate(dim);
    out
}

pub fn bind(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter()
        .zip(b)
        .map(|(x, y)| py_mod(x + y, TWO_PI))
        .collect()
}

#[cfg(test)]
pub fn unbind(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter()
        .zip(b)
        .map(|(x, y)| py_mod(x - y, TWO_PI))
        .collect()
}

/// `bundle`: angle of the sum of unit phasors, summed in argument order (as numpy reduces
/// axis 0), mapped to [0, 2π).
pub fn bundle(vectors: &[Vec<f64>]) -> Vec<f64> {
    let Some(first) = vectors.first() else {
        return Vec::new();
    };
    let mut re: Vec<f64> = first.iter().map(|v| v.cos()).collect();
    let mut im: Vec<f64> = first.iter().map(|v| v.sin()).collect();
    for v in &vectors[1..] {
        for (k, x) in v.iter().enumerate() {
            re[k] += x.cos();
            im[k] += x.sin();
        }
    }
    re.iter()
        .zip(&im)
        .map(|(r, i)| py_mod(i.atan2(*r), TWO_PI))
        .collect()
}

/// Phase cosine similarity in [-1, 1].
pub fn similarity(a: &[f64], b: &[f64]) -> f64 {
    if a.is_empty() || a.len() != b.len() {
        return 0.0;
    }
    a.iter().zip(b).map(|(x, y)| (x - y).cos()).sum::<f64>() / a.len() as f64
}

/// Python's `str.split()` separators (Unicode whitespace plus the ASCII file/group/record/unit
/// separators, which Python counts and Rust does not).
fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// `encode_text`'s tokens: lower-cased, split on whitespace, punctuation stripped at both ends.
pub fn text_tokens(text: &str) -> Vec<String> {
    const STRIP: &[char] = &[
        '.', ',', '!', '?', ';', ':', '"', '\'', '(', ')', '[', ']', '{', '}',
    ];
    text.to_lowercase()
        .split(py_space)
        .map(|t| t.trim_matches(STRIP))
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// `encode_text`: bundle of the atoms of every token (duplicates included).
pub fn encode_text(text: &str, dim: usize) -> Vec<f64> {
    let tokens = text_tokens(text);
    if tokens.is_empty() {
        return encode_atom(EMPTY, dim);
    }
    let atoms: Vec<Vec<f64>> = tokens.iter().map(|t| encode_atom(t, dim)).collect();
    bundle(&atoms)
}

/// `encode_fact`: content bound to the content role, each entity (lower-cased) bound to the
/// entity role, all bundled in that order.
pub fn encode_fact(content: &str, entities: &[String], dim: usize) -> Vec<f64> {
    let role_content = encode_atom(ROLE_CONTENT, dim);
    let role_entity = encode_atom(ROLE_ENTITY, dim);
    let mut parts = vec![bind(&encode_text(content, dim), &role_content)];
    for e in entities {
        parts.push(bind(&encode_atom(&e.to_lowercase(), dim), &role_entity));
    }
    bundle(&parts)
}

pub fn to_bytes(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn from_bytes(b: &[u8]) -> Vec<f64> {
    b.chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoms_are_deterministic_and_in_range() {
        let a = encode_atom("hello", DEFAULT_DIM);
        assert_eq!(a.len(), DEFAULT_DIM);
        assert_eq!(a, encode_atom("hello", DEFAULT_DIM));
        assert!(a.iter().all(|x| (0.0..TWO_PI).contains(x)));
        // struct.unpack("<16H", sha256(b"hello:0").digest())[0] * (2π / 65536)
        let first = Sha256::digest(b"hello:0");
        assert_eq!(
            a[0],
            f64::from(u16::from_le_bytes([first[0], first[1]])) * (TWO_PI / 65536.0)
        );
    }

    #[test]
    fn bind_unbind_and_bundle_behave() {
        let a = encode_atom("a", 256);
        let b = encode_atom("b", 256);
        let r = unbind(&bind(&a, &b), &b);
        assert!(similarity(&r, &a) > 0.999);
        let s = bundle(&[a.clone(), b.clone()]);
        assert!(similarity(&s, &a) > 0.5 && similarity(&s, &b) > 0.5);
        assert!(similarity(&a, &b).abs() < 0.2);
        assert_eq!(from_bytes(&to_bytes(&s)), s);
    }

    #[test]
    fn tokens_follow_python_split_and_strip() {
        assert_eq!(
            text_tokens("Hello, World! (x) ..."),
            vec!["hello", "world", "x"]
        );
        assert_eq!(text_tokens("a\u{1f}b"), vec!["a", "b"]);
        assert_eq!(encode_text("", 64), encode_atom(EMPTY, 64));
    }

    /// SHA-256 of the vectors' bytes as Hermes 0.17 + numpy 2.4.3 (portable loops,
    /// `NPY_DISABLE_CPU_FEATURES=X86_V4`) computes them; the integration test checks live ones.
    #[test]
    fn bytes_match_hermes_reference_digests() {
        let hex = |v: &[f64]| {
            Sha256::digest(to_bytes(v))
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        };
        assert_eq!(
            hex(&encode_atom("hello", DEFAULT_DIM)),
            "1afe51c3d9a50479a07192b95b5cc1e1ee40f4446da082e55b6e033e7f58ee6d"
        );
        assert_eq!(
            hex(&encode_text("Hello, world! Hello again.", DEFAULT_DIM)),
            "24b5f10a35a89ae98e443408ffcbc40c9376183d69d9ac527be68d8a9018f9a3"
        );
        let entities = ["Alice Smith".to_string(), "tea".to_string()];
        assert_eq!(
            hex(&encode_fact(
                "Alice Smith likes \"tea\"",
                &entities,
                DEFAULT_DIM
            )),
            "65d1414117d4d0d289e810d9c67c690c14bbd3312f96585d6b814f96f67adbeb"
        );
    }

    #[test]
    fn py_mod_matches_python() {
        assert_eq!(py_mod(-1.0, TWO_PI), TWO_PI - 1.0);
        assert_eq!(py_mod(7.0, TWO_PI), 7.0 - TWO_PI);
        assert_eq!(py_mod(0.0, TWO_PI), 0.0);
    }
}
