//! sha256 of files, as lowercase hex.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::{Result, RunError};

/// The sha256 of a file's bytes, read in 1 MiB blocks.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| RunError::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| RunError::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

/// The sha256 of bytes in memory.
pub fn sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Checks that `path` has the recorded digest.
pub fn verify_file(path: &Path, want: &str) -> Result<()> {
    let got = sha256_file(path)?;
    if got != want {
        return Err(RunError::invalid(
            path,
            format!("sha256 {got} differs from the {want} recorded in jner.json: the file is damaged or was replaced (--no-verify skips this check)"),
        ));
    }
    Ok(())
}

/// The key under which `jner.json` records the digests of a model folder's weight files.
pub const DIGESTS_KEY: &str = "sha256";

/// Digests of the named files of `dir`, as the JSON object `jner.json` records.
pub fn digest_files(dir: &Path, names: &[&str]) -> Result<serde_json::Value> {
    let mut m = serde_json::Map::new();
    for n in names {
        m.insert((*n).to_string(), sha256_file(&dir.join(n))?.into());
    }
    Ok(serde_json::Value::Object(m))
}

/// Checks every file that `meta` (the parsed `jner.json` of `dir`) records a digest for.
/// Returns how many files were checked (0: the folder records none, as models written by
/// jner before digests were kept).
pub fn verify_dir(dir: &Path, meta: &serde_json::Value) -> Result<usize> {
    let Some(rec) = meta.get(DIGESTS_KEY) else {
        return Ok(0);
    };
    let json = dir.join("jner.json");
    let rec = rec.as_object().ok_or_else(|| {
        RunError::invalid(
            &json,
            format!("\"{DIGESTS_KEY}\" must be an object of file: digest"),
        )
    })?;
    for (name, want) in rec {
        let want = want.as_str().ok_or_else(|| {
            RunError::invalid(&json, format!("\"{DIGESTS_KEY}\".{name}: not a string"))
        })?;
        // only plain names inside the folder
        if name.contains('/') || name.contains('\\') || name.starts_with('.') {
            return Err(RunError::invalid(
                &json,
                format!("\"{DIGESTS_KEY}\": {name:?} is not a file name of this folder"),
            ));
        }
        verify_file(&dir.join(name), want)?;
    }
    Ok(rec.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // FIPS 180-2 test vectors
        assert_eq!(
            sha256(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            sha256(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("w");
        std::fs::write(&p, vec![7u8; 3 << 20]).unwrap();
        assert_eq!(sha256_file(&p).unwrap(), sha256(&vec![7u8; 3 << 20]));
        verify_file(&p, &sha256(&vec![7u8; 3 << 20])).unwrap();
        let e = verify_file(&p, &sha256(b"abc")).unwrap_err().to_string();
        assert!(e.contains("damaged or was replaced"), "{e}");
    }

    #[test]
    fn verify_dir_names_the_damaged_file_and_rejects_paths() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("model.safetensors"), b"weights").unwrap();
        let rec = digest_files(d.path(), &["model.safetensors"]).unwrap();
        let meta = serde_json::json!({ "sha256": rec });
        assert_eq!(verify_dir(d.path(), &meta).unwrap(), 1);
        assert_eq!(verify_dir(d.path(), &serde_json::json!({})).unwrap(), 0);
        std::fs::write(d.path().join("model.safetensors"), b"weightz").unwrap();
        let e = verify_dir(d.path(), &meta).unwrap_err().to_string();
        assert!(
            e.contains("model.safetensors") && e.contains("--no-verify"),
            "{e}"
        );
        let bad = serde_json::json!({"sha256": {"../x": "00"}});
        assert!(verify_dir(d.path(), &bad).is_err());
    }
}
