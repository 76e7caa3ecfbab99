//! Lexical features of a token (spaCy's NORM, PREFIX, SUFFIX, SHAPE) hashed without
//! allocation, and the seeded sub-hashes that pick hash-embedding rows.
//!
//! * NORM: lower-cased text (`n't` → `not`, curly apostrophes → `'`).
//! * PREFIX: first character. SUFFIX: last three characters.
//! * SHAPE: `X`/`x`/`d` per character, other characters kept, runs of the same shape
//!   character capped at 4 (`LONG` marker for tokens of 100+ characters).
//!
//! Every value is hashed with a 64-bit FNV-1a over its characters, mixed with the
//! attribute's id; the `n_hashes` row indices of table `a` are
//! `mix64(key ^ seed(a, q)) mod rows[a]` (SplitMix64 finaliser as the mixer).

pub const N_ATTRS: usize = 4;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

#[inline]
fn fnv_char(h: u64, c: char) -> u64 {
    let mut h = h;
    let mut buf = [0u8; 4];
    for &b in c.encode_utf8(&mut buf).as_bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn norm_char(c: char) -> char {
    match c {
        '’' | '‘' | '`' => '\'',
        _ => c,
    }
}

/// The four attribute keys of a token's text.
pub fn keys(tok: &str, is_space: bool) -> [u64; N_ATTRS] {
    let seed = |a: u64| FNV_OFFSET ^ mix64(a + 1);
    // NORM
    let mut norm = seed(0);
    let lower_is = |s: &str| s.eq_ignore_ascii_case("n't") || s.eq_ignore_ascii_case("n’t");
    if is_space {
        // all separator runs with a newline share one key, others another
        let nl = tok.contains('\n') || tok.contains('\r');
        norm = fnv_char(norm, if nl { '\n' } else { ' ' });
    } else if lower_is(tok) {
        for c in "not".chars() {
            norm = fnv_char(norm, c);
        }
    } else {
        for c in tok.chars() {
            for l in norm_char(c).to_lowercase() {
                norm = fnv_char(norm, l);
            }
        }
    }
    // PREFIX
    let mut prefix = seed(1);
    if let Some(c) = tok.chars().next() {
        prefix = fnv_char(prefix, c);
    }
    // SUFFIX: last three characters, in order
    let mut suffix = seed(2);
    let n_chars = tok.chars().count();
    for c in tok.chars().skip(n_chars.saturating_sub(3)) {
        suffix = fnv_char(suffix, c);
    }
    // SHAPE
    let mut shape = seed(3);
    if n_chars >= 100 {
        for c in "LONG".chars() {
            shape = fnv_char(shape, c);
        }
    } else if is_space {
        shape = fnv_char(shape, if tok.contains('\n') { '\n' } else { ' ' });
    } else {
        let mut last = '\0';
        let mut run = 0;
        for c in tok.chars() {
            let s = if c.is_alphabetic() {
                if c.is_uppercase() {
                    'X'
                } else {
                    'x'
                }
            } else if c.is_numeric() {
                'd'
            } else {
                norm_char(c)
            };
            if s == last {
                run += 1;
            } else {
                last = s;
                run = 1;
            }
            if run <= 4 {
                shape = fnv_char(shape, s);
            }
        }
    }
    [norm, prefix, suffix, shape]
}

/// Row indices for each attribute and sub-hash, written to `out[a * n_hashes + q]`.
pub fn rows_of(keys: &[u64; N_ATTRS], rows: &[usize; N_ATTRS], n_hashes: usize, out: &mut [u32]) {
    for a in 0..N_ATTRS {
        for q in 0..n_hashes {
            let s = 0x5851_F42D_4C95_7F2Du64.wrapping_mul((a * 16 + q + 1) as u64);
            let h = mix64(keys[a] ^ s);
            out[a * n_hashes + q] = ((h >> 32) % rows[a] as u64) as u32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_case_insensitive_for_norm_only() {
        let a = keys("Fever", false);
        let b = keys("fever", false);
        assert_eq!(a[0], b[0]);
        assert_ne!(a[1], b[1]);
        assert_eq!(a[2], b[2]);
        assert_ne!(a[3], b[3]);
        // shape runs capped at 4
        assert_eq!(keys("xxxxxxx", false)[3], keys("abcdefgh", false)[3]);
        assert_ne!(keys("abc", false)[3], keys("abcdefgh", false)[3]);
        assert_eq!(keys("n't", false)[0], keys("not", false)[0]);
        let mut out = [0u32; 16];
        rows_of(&a, &[5000, 1000, 2500, 2500], 4, &mut out);
        assert!(out[..4].iter().all(|&r| r < 5000));
        assert!(out[4..8].iter().all(|&r| r < 1000));
        assert!(out[0] != out[1] || out[1] != out[2]);
    }
}
