//! Static word vectors from a word2vec/fastText **text** file: an optional first line
//! `N DIM`, then one `word v1 … vDIM` per line. Looked up by exact form, then lower-cased.

use crate::{CnnError, Result};
use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

/// A frozen table of word vectors.
#[derive(Clone, Debug, Default)]
pub struct Vectors {
    pub dim: usize,
    pub words: Vec<String>,
    pub data: Vec<f32>,
    index: HashMap<String, u32>,
}

impl Vectors {
    /// Build from words and row-major data (`data.len() == words.len() * dim`).
    pub fn from_parts(words: Vec<String>, data: Vec<f32>, dim: usize) -> Result<Self> {
        if dim == 0 || data.len() != words.len() * dim {
            return Err(CnnError::Data(format!(
                "vectors: {} words × {dim} dims does not match {} values",
                words.len(),
                data.len()
            )));
        }
        let mut index = HashMap::with_capacity(words.len());
        for (i, w) in words.iter().enumerate() {
            index.entry(w.clone()).or_insert(i as u32);
        }
        Ok(Vectors {
            dim,
            words,
            data,
            index,
        })
    }

    /// Read a word2vec/fastText text file; a malformed line is an error naming file and line.
    pub fn read_text(path: &Path) -> Result<Self> {
        let f = std::fs::File::open(path).map_err(|e| CnnError::io(path, e))?;
        let mut words = Vec::new();
        let mut data = Vec::new();
        let mut dim = 0usize;
        let bad = |line: usize, m: String| CnnError::Line {
            path: path.to_path_buf(),
            line,
            message: m,
        };
        for (i, line) in std::io::BufReader::new(f).lines().enumerate() {
            let lineno = i + 1;
            let line = line.map_err(|e| bad(lineno, format!("cannot read line: {e}")))?;
            let line = line.trim_end();
            if line.is_empty() {
                continue;
            }
            let mut parts = line.split(' ').filter(|s| !s.is_empty());
            let word = parts.next().unwrap_or("");
            let vals: Vec<&str> = parts.collect();
            if lineno == 1 && vals.len() == 1 && word.parse::<usize>().is_ok() {
                // header "N DIM"
                dim = vals[0]
                    .parse::<usize>()
                    .map_err(|_| bad(1, format!("bad header dimension {:?}", vals[0])))?;
                if dim == 0 {
                    return Err(bad(1, "dimension 0 in header".into()));
                }
                continue;
            }
            if dim == 0 {
                dim = vals.len();
                if dim == 0 {
                    return Err(bad(lineno, "a word without values".into()));
                }
            }
            if vals.len() != dim {
                return Err(bad(
                    lineno,
                    format!("expected {dim} values, found {}", vals.len()),
                ));
            }
            for v in vals {
                let x: f32 = v
                    .parse()
                    .map_err(|_| bad(lineno, format!("not a number: {v:?}")))?;
                if !x.is_finite() {
                    return Err(bad(lineno, format!("not a finite number: {v:?}")));
                }
                data.push(x);
            }
            words.push(word.to_string());
        }
        if words.is_empty() {
            return Err(CnnError::file(path, "no vectors in file"));
        }
        Self::from_parts(words, data, dim)
    }

    /// Row of `word` (exact form first, then lower-cased), if any.
    /// The vectors in word2vec's text format (`COUNT DIM` header, then `word v1 … vD`), which
    /// [`Vectors::read_text`] reads back exactly (floats in shortest round-trip form).
    pub fn to_text(&self) -> Vec<u8> {
        use std::fmt::Write;
        let mut s = String::with_capacity(self.data.len() * 11 + self.words.len() * 8);
        let _ = writeln!(s, "{} {}", self.words.len(), self.dim);
        for (w, row) in self.words.iter().zip(self.data.chunks(self.dim)) {
            s.push_str(w);
            for x in row {
                let _ = write!(s, " {x}");
            }
            s.push('\n');
        }
        s.into_bytes()
    }

    pub fn lookup(&self, word: &str, lower_buf: &mut String) -> Option<u32> {
        if let Some(&r) = self.index.get(word) {
            return Some(r);
        }
        lower_buf.clear();
        for c in word.chars() {
            lower_buf.extend(c.to_lowercase());
        }
        self.index.get(lower_buf.as_str()).copied()
    }

    pub fn len(&self) -> usize {
        self.words.len()
    }
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_with_and_without_header() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v.txt");
        std::fs::write(&p, "2 3\nfever 0.1 0.2 0.3\nCough 1 2 3\n").unwrap();
        let v = Vectors::read_text(&p).unwrap();
        assert_eq!((v.len(), v.dim), (2, 3));
        let mut b = String::new();
        assert_eq!(v.lookup("fever", &mut b), Some(0));
        assert_eq!(v.lookup("FEVER", &mut b), Some(0));
        assert_eq!(v.lookup("Cough", &mut b), Some(1));
        assert_eq!(v.lookup("cough", &mut b), None);
        std::fs::write(&p, "a 1 2\nb 3 4\n").unwrap();
        assert_eq!(Vectors::read_text(&p).unwrap().dim, 2);
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.vec");
        std::fs::write(&p, "2 3\nfever 0.1 0.2 0.3\ncough 1 x 3\n").unwrap();
        let e = Vectors::read_text(&p).unwrap_err().to_string();
        assert!(e.contains("bad.vec:3"), "{e}");
        std::fs::write(&p, "fever 0.1 0.2\ncough 1\n").unwrap();
        let e = Vectors::read_text(&p).unwrap_err().to_string();
        assert!(e.contains("bad.vec:2") && e.contains("expected 2"), "{e}");
        let e = Vectors::read_text(&dir.path().join("missing.vec"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing.vec"), "{e}");
    }
}
