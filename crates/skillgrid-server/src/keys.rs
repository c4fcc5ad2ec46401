//! The keys that sign and verify access tokens (HMAC-SHA256), and where they come from.
//!
//! By default the key is made on first use and kept in the database: nothing to set up, but
//! whoever can read the database can mint tokens. An operator may instead hand the server its
//! keys in a file (`--signing-key-file`) or in the environment (`SKILLGRID_SIGNING_KEY`), newest
//! first: the first key signs, every key verifies. Each key's id (`kid` in a token's header)
//! is derived from the key itself, so every process given the same keys names them alike,
//! and rotation is: add the new key second everywhere, then move it first, then, once the
//! tokens it replaced have expired (one hour), remove the old one.

use anyhow::Context;
use base64::Engine;
use jsonwebtoken::{DecodingKey, EncodingKey};
use sha2::{Digest, Sha256};
use skillgrid_store::DynStore;
use std::path::{Path, PathBuf};

/// The shortest key accepted: 256 bits, the size of HS256's hash.
pub const MIN_KEY_BYTES: usize = 32;

/// The environment variable that may hold the keys.
pub const KEY_ENV: &str = "SKILLGRID_SIGNING_KEY";

/// A ring of keys, newest first: the first signs, each verifies the tokens naming its id.
pub struct Keys {
    ring: Vec<Key>,
    /// The tokens these keys verified lately (they stay valid until they expire).
    verified: crate::auth::VerifiedTokens,
}

struct Key {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl Keys {
    /// One key.
    pub fn from_secret(secret: &[u8]) -> Self {
        Keys {
            ring: vec![Key::new(secret)],
            verified: Default::default(),
        }
    }

    /// Several keys, newest first; a key given twice is kept once. At least one.
    pub fn from_secrets(secrets: &[Vec<u8>]) -> anyhow::Result<Self> {
        let mut ring: Vec<Key> = Vec::new();
        for s in secrets {
            let k = Key::new(s);
            if !ring.iter().any(|r| r.kid == k.kid) {
                ring.push(k);
            }
        }
        anyhow::ensure!(!ring.is_empty(), "no signing key was given");
        Ok(Keys {
            ring,
            verified: Default::default(),
        })
    }

    /// The signing key's id and key.
    pub fn signing(&self) -> (&str, &EncodingKey) {
        let k = &self.ring[0];
        (&k.kid, &k.encoding)
    }

    /// The key a token names; a token that names none was signed by a version that did not
    /// name keys, with the key that signs now.
    pub fn verifying(&self, kid: Option<&str>) -> Option<&DecodingKey> {
        match kid {
            None => Some(&self.ring[0].decoding),
            Some(kid) => self.ring.iter().find(|k| k.kid == kid).map(|k| &k.decoding),
        }
    }

    pub(crate) fn verified(&self) -> &crate::auth::VerifiedTokens {
        &self.verified
    }

    /// The keys' ids, newest first (they say nothing of the keys: logging them is safe).
    pub fn ids(&self) -> Vec<&str> {
        self.ring.iter().map(|k| k.kid.as_str()).collect()
    }
}

impl Key {
    fn new(secret: &[u8]) -> Self {
        Key {
            kid: kid(secret),
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }
}

/// A key's id: the first 96 bits of its SHA-256, base64url. Anyone holding a token can check
/// guesses of a key against its signature anyway, so this reveals nothing more.
pub fn kid(secret: &[u8]) -> String {
    let d = Sha256::digest(secret);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&d[..12])
}

/// Where the keys come from.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum KeySource {
    /// Made on first use and kept in the database (the default).
    #[default]
    Database,
    /// A file of keys, newest first.
    File(PathBuf),
    /// The value of [`KEY_ENV`]: keys, newest first.
    Env(String),
}

// Never the keys themselves in a log or a panic message.
impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Database => f.write_str("Database"),
            KeySource::File(p) => f.debug_tuple("File").field(p).finish(),
            KeySource::Env(_) => write!(f, "Env({KEY_ENV})"),
        }
    }
}

impl KeySource {
    /// From `--signing-key-file` and the value of [`KEY_ENV`]: at most one of them.
    pub fn choose(file: Option<PathBuf>, env: Option<String>) -> anyhow::Result<Self> {
        match (file, env.filter(|v| !v.trim().is_empty())) {
            (Some(_), Some(_)) => anyhow::bail!(
                "both --signing-key-file (SKILLGRID_SIGNING_KEY_FILE) and {KEY_ENV} are set; give the keys one way"
            ),
            (Some(p), None) => Ok(KeySource::File(p)),
            (None, Some(v)) => Ok(KeySource::Env(v)),
            (None, None) => Ok(KeySource::Database),
        }
    }

    /// Loads the keys; the database's key is made if there is none yet.
    pub async fn load(&self, store: &DynStore) -> anyhow::Result<Keys> {
        match self {
            KeySource::Database => {
                let key = store
                    .signing_key(crate::auth::random_bytes())
                    .await
                    .context("failed to read the signing key from the database")?;
                Ok(Keys::from_secret(&key))
            }
            KeySource::File(path) => {
                warn_if_readable_by_others(path);
                let text = std::fs::read_to_string(path).with_context(|| {
                    format!("failed to read the signing key file {}", path.display())
                })?;
                let keys = parse(&text)
                    .with_context(|| format!("in the signing key file {}", path.display()))?;
                Keys::from_secrets(&keys)
            }
            KeySource::Env(text) => {
                let keys = parse(text).with_context(|| format!("in {KEY_ENV}"))?;
                Keys::from_secrets(&keys)
            }
        }
    }
}

/// Keys as an operator writes them: base64 (standard or URL-safe, padded or not) of at least
/// [`MIN_KEY_BYTES`] random bytes, newest first, separated by line breaks, spaces or commas;
/// `#` starts a comment that runs to the end of its line.
pub fn parse(text: &str) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut keys = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default();
        for word in line.split(|c: char| c.is_whitespace() || c == ',') {
            if word.is_empty() {
                continue;
            }
            let n = keys.len() + 1;
            let key = decode(word).filter(|k| k.len() >= MIN_KEY_BYTES).with_context(|| {
                format!(
                    "key {n} is not base64 of at least {MIN_KEY_BYTES} bytes; make one with `openssl rand -base64 32`"
                )
            })?;
            keys.push(key);
        }
    }
    anyhow::ensure!(
        !keys.is_empty(),
        "no key found; write one (`openssl rand -base64 32`) per line, newest first"
    );
    Ok(keys)
}

fn decode(word: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let bare = word.trim_end_matches('=');
    STANDARD_NO_PAD
        .decode(bare)
        .or_else(|_| URL_SAFE_NO_PAD.decode(bare))
        .ok()
}

/// A key file that others may read is as good as a key in the database: say so.
fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    file = %path.display(),
                    mode = format!("{mode:04o}"),
                    "the signing key file can be read by other users, who could sign tokens with it; chmod 600 it"
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=";

    #[test]
    fn keys_are_read_newest_first_in_any_base64_with_comments() {
        let b = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([0xfbu8; 40]);
        let text = format!("# rotated 2026-12-01\n{b}   # new\n\n{A}\n");
        let keys = parse(&text).unwrap();
        assert_eq!(keys, vec![vec![0xfb; 40], decode(A).unwrap()]);
        // Spaces or commas between them, as one environment variable holds them.
        assert_eq!(parse(&format!("{b},{A}")).unwrap(), keys);
        assert_eq!(parse(&format!(" {b} {A} ")).unwrap(), keys);
    }

    #[test]
    fn short_or_garbled_keys_and_empty_files_are_refused_without_echoing_them() {
        for text in ["", "# only a comment\n", "c2hvcnQ=", "bm90IGJhc2U2NA!!"] {
            let e = format!("{:#}", parse(text).unwrap_err());
            assert!(e.contains("openssl rand -base64 32"), "{e}");
            let secret = text.trim_end_matches(['=', '!', '\n']);
            assert!(
                secret.starts_with('#') || !e.contains(secret) || secret.is_empty(),
                "{e}"
            );
        }
    }

    #[test]
    fn the_first_key_signs_and_each_verifies_its_own_id() {
        let (new, old) = (vec![1u8; 32], vec![2u8; 32]);
        let ring = Keys::from_secrets(&[new.clone(), old.clone(), new.clone()]).unwrap();
        assert_eq!(ring.ids(), vec![kid(&new), kid(&old)]);
        assert_eq!(ring.signing().0, kid(&new));
        assert!(ring.verifying(Some(&kid(&old))).is_some());
        assert!(ring.verifying(Some("unknown")).is_none());
        assert!(ring.verifying(None).is_some());
        assert_ne!(kid(&new), kid(&old));
        assert_eq!(kid(&new).len(), 16);
    }

    #[test]
    fn a_source_is_one_of_file_or_environment() {
        let file = PathBuf::from("/etc/skillgrid/keys");
        assert!(KeySource::choose(Some(file.clone()), Some(A.into())).is_err());
        assert_eq!(
            KeySource::choose(None, Some(" ".into())).unwrap(),
            KeySource::Database
        );
        assert_eq!(
            KeySource::choose(Some(file.clone()), None).unwrap(),
            KeySource::File(file)
        );
        assert!(!format!("{:?}", KeySource::Env(A.into())).contains(A));
    }
}
