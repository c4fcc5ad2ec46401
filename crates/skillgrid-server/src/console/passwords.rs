//! Console passwords: hashed with Argon2id (the `argon2` crate's defaults, a random salt per
//! hash, stored as a PHC string that names its own parameters), and the one-time passwords
//! given to new users.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier};
use argon2::{password_hash::SaltString, Argon2};
use rand::Rng;

/// Characters of a one-time password: letters and digits that cannot be mistaken for one
/// another when read off a screen (no 0/O, 1/l/I).
const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
/// 24 of 57 characters: about 140 bits.
const ONE_TIME_LEN: usize = 24;

/// The shortest password a user may choose.
pub const MIN_LEN: usize = 12;
/// The longest: Argon2 takes any length, but nobody types more, and a huge one costs time.
pub const MAX_LEN: usize = 1024;

/// A password for a new user, from a cryptographically secure generator seeded by the
/// operating system, to be shown once.
pub fn one_time() -> String {
    let mut rng = rand::rng();
    (0..ONE_TIME_LEN)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// The Argon2id hash of `password` (PHC string format).
pub fn hash(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

/// Whether `password` is the one `stored` is the hash of; a stored value that is no hash
/// matches nothing.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// [`hash`] on a thread for blocking work: Argon2 takes its tens of milliseconds of CPU by
/// design, which must not hold up the requests sharing the runtime's threads.
pub async fn hash_apart(password: &str) -> anyhow::Result<String> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || hash(&password)).await?
}

/// [`verify`] on a thread for blocking work.
pub async fn verify_apart(password: &str, stored: &str) -> bool {
    let (password, stored) = (password.to_string(), stored.to_string());
    tokio::task::spawn_blocking(move || verify(&password, &stored))
        .await
        .unwrap_or(false)
}

/// Why a password a user chose is refused, if it is.
pub fn refusal(password: &str) -> Option<String> {
    let n = password.chars().count();
    if n < MIN_LEN {
        Some(format!(
            "Choose a password of at least {MIN_LEN} characters."
        ))
    } else if n > MAX_LEN {
        Some(format!(
            "Choose a password of at most {MAX_LEN} characters."
        ))
    } else {
        None
    }
}

/// A hash of nothing anyone can type, to verify against when a sign-in names no user: the
/// answer then takes as long as for a wrong password, and says nothing of who exists.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash(&one_time()).expect("hashing the decoy password"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_is_argon2id_salted_and_verifies_only_its_password() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse batterY", &h));
        assert_ne!(h, hash("correct horse battery").unwrap(), "a salt per hash");
        assert!(!verify("", ""));
        assert!(!verify("x", "not a hash"));
    }

    #[test]
    fn one_time_passwords_are_long_and_differ() {
        let (a, b) = (one_time(), one_time());
        assert!(a.len() >= 20);
        assert!(a.bytes().all(|c| ALPHABET.contains(&c)));
        assert_ne!(a, b);
        assert_eq!(refusal(&a), None);
        assert!(refusal("short").is_some());
    }
}
