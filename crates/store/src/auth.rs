//! Passwords (argon2id) and session tokens (random, stored only as a SHA-256 hash).

use crate::{StoreError, StoreResult};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use base64::Engine;
use rand::RngCore;

/// A hash of a random password, verified against when the user does not exist so that a
/// login takes as long for an unknown name as for a known one.
pub fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(new_token().as_bytes(), &salt)
                .map(|h| h.to_string())
                .unwrap_or_default()
        })
        .clone()
}

/// A session ends after this long without a request, and at the latest this long after login.
pub const IDLE_SECS: i64 = 30 * 60;
pub const ABSOLUTE_SECS: i64 = 12 * 60 * 60;

pub async fn hash_password(password: String) -> StoreResult<String> {
    if let Err(reason) = taizhang_domain::access::check_password_policy(&password) {
        return Err(StoreError::invalid("password", "password.weak", reason));
    }
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| StoreError::Internal(format!("argon2: {e}")))
    })
    .await
    .map_err(|e| StoreError::Internal(e.to_string()))?
}

pub async fn verify_password(password: String, hash: String) -> StoreResult<bool> {
    tokio::task::spawn_blocking(move || {
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
    .await
    .map_err(|e| StoreError::Internal(e.to_string()))
}

pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn token_hash(token: &str) -> String {
    crate::audit::sha256_hex(token.as_bytes())
}

/// A random password for the demo's administrator when none is given.
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    loop {
        let pw: String = (0..16)
            .map(|_| ALPHABET[(rng.next_u32() as usize) % ALPHABET.len()] as char)
            .collect();
        // Drawn until it meets the policy (almost always the first draw).
        if taizhang_domain::access::check_password_policy(&pw).is_ok() {
            return pw;
        }
    }
}
