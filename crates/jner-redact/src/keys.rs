//! The secret behind `hash` and `encrypt`: one key file, two keys derived from it with
//! HKDF-SHA256 (one for HMAC-SHA256, one for AES-256-GCM), so a pseudonym never reveals
//! anything about the encryption key and the other way round.
//!
//! * `hash`: HMAC-SHA256 of the entity's text, hex. The same text gives the same pseudonym
//!   under one key (records stay linkable); without the key a guess cannot be checked, which
//!   is what makes a bare SHA-256 of a name worthless (it is brute-forced from a list of names).
//! * `encrypt`: AES-256-GCM with a fresh random 96-bit nonce per entity and the label as
//!   associated data (a token moved to another label does not decrypt), written as
//!   URL-safe base64 without padding of `nonce || ciphertext || tag`.

use aes_gcm::aead::{Aead, KeyInit, OsRng, Payload};
use aes_gcm::{AeadCore, Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::Error;

/// Bytes of secret a key file must hold at least.
pub const MIN_SECRET: usize = 32;

/// The derived keys.
#[derive(Clone)]
pub struct Keys {
    hmac: [u8; 32],
    aead: Aes256Gcm,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(..)")
    }
}

impl Keys {
    /// Keys from a secret of at least [`MIN_SECRET`] bytes.
    pub fn from_secret(secret: &[u8]) -> Result<Self, Error> {
        if secret.len() < MIN_SECRET {
            return Err(Error::Key(format!(
                "the secret has {} bytes; at least {MIN_SECRET} are needed (e.g. `head -c 32 /dev/urandom | base64 > key`)",
                secret.len()
            )));
        }
        let hk = hkdf::Hkdf::<Sha256>::new(Some(b"jner-redact"), secret);
        let mut hmac = [0u8; 32];
        let mut enc = [0u8; 32];
        hk.expand(b"jner hash v1", &mut hmac)
            .and_then(|_| hk.expand(b"jner encrypt v1", &mut enc))
            .map_err(|_| Error::Key("key derivation failed".into()))?;
        let aead = Aes256Gcm::new_from_slice(&enc).map_err(|e| Error::Key(e.to_string()))?;
        Ok(Keys { hmac, aead })
    }

    /// Keys from a file: its bytes, surrounding whitespace trimmed (a base64 or hex line works
    /// as well as raw bytes).
    pub fn from_file(path: &std::path::Path) -> Result<Self, Error> {
        let raw = std::fs::read(path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        let start = raw.iter().position(|b| !b.is_ascii_whitespace());
        let end = raw.iter().rposition(|b| !b.is_ascii_whitespace());
        let secret = match (start, end) {
            (Some(s), Some(e)) => &raw[s..=e],
            _ => &raw[..0],
        };
        Self::from_secret(secret).map_err(|e| Error::Key(format!("{}: {e}", path.display())))
    }

    /// The keyed pseudonym of `text`: 64 hex digits.
    pub fn hash(&self, text: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.hmac).expect("any key length");
        mac.update(text.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// A token that [`Keys::decrypt`] turns back into `text` (for the same `label`).
    pub fn encrypt(&self, label: &str, text: &str) -> String {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ct = self
            .aead
            .encrypt(
                &nonce,
                Payload {
                    msg: text.as_bytes(),
                    aad: label.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of a bounded message cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// The text behind a token of [`Keys::encrypt`]; an error for a token made under another
    /// key or label, or altered.
    pub fn decrypt(&self, label: &str, token: &str) -> Result<String, String> {
        let raw = URL_SAFE_NO_PAD
            .decode(token.as_bytes())
            .map_err(|_| "not an encrypted token (bad base64)".to_string())?;
        if raw.len() < 12 + 16 {
            return Err("not an encrypted token (too short)".into());
        }
        let (nonce, ct) = raw.split_at(12);
        let pt = self
            .aead
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: label.as_bytes(),
                },
            )
            .map_err(|_| {
                "the token does not decrypt under this key and label (another key, another label, or altered)"
                    .to_string()
            })?;
        String::from_utf8(pt).map_err(|_| "the token decrypts to invalid UTF-8".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(b: u8) -> Keys {
        Keys::from_secret(&[b; 32]).unwrap()
    }

    #[test]
    fn hash_is_keyed_and_stable() {
        let k = keys(1);
        assert_eq!(k.hash("Tommy"), k.hash("Tommy"));
        assert_eq!(k.hash("Tommy").len(), 64);
        assert_ne!(k.hash("Tommy"), k.hash("Tom"));
        assert_ne!(k.hash("Tommy"), keys(2).hash("Tommy"));
        // not the bare SHA-256 of the text
        use sha2::Digest;
        let bare: String = Sha256::digest(b"Tommy")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_ne!(k.hash("Tommy"), bare);
    }

    #[test]
    fn encryption_round_trips_only_with_key_and_label() {
        let k = keys(1);
        let t = k.encrypt("MinorChild", "my 7 week old són");
        assert_ne!(
            t,
            k.encrypt("MinorChild", "my 7 week old són"),
            "fresh nonce"
        );
        assert_eq!(k.decrypt("MinorChild", &t).unwrap(), "my 7 week old són");
        assert!(k.decrypt("GenderIndication", &t).is_err());
        assert!(keys(2).decrypt("MinorChild", &t).is_err());
        let mut bad = t.clone().into_bytes();
        bad[20] = if bad[20] == b'A' { b'B' } else { b'A' };
        assert!(k
            .decrypt("MinorChild", std::str::from_utf8(&bad).unwrap())
            .is_err());
        assert!(k.decrypt("MinorChild", "@@").is_err());
        assert!(k.decrypt("MinorChild", "AAAA").is_err());
    }

    #[test]
    fn short_or_empty_secrets_are_refused() {
        let err = Keys::from_secret(b"short").unwrap_err().to_string();
        assert!(err.contains("at least 32"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("key");
        std::fs::write(&p, "  \n").unwrap();
        let err = Keys::from_file(&p).unwrap_err().to_string();
        assert!(err.contains("key") && err.contains("0 bytes"), "{err}");
        std::fs::write(&p, format!("{}\n", "k".repeat(40))).unwrap();
        let a = Keys::from_file(&p).unwrap();
        assert_eq!(
            a.hash("x"),
            Keys::from_secret("k".repeat(40).as_bytes())
                .unwrap()
                .hash("x")
        );
    }
}
