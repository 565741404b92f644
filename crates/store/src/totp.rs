//! The second factor: time-based one-time passwords (RFC 6238, HMAC-SHA-1, 30 s, 6 digits), the
//! kind every authenticator app on a phone reads from a QR code or a typed secret.

use hmac::{Mac, SimpleHmac};
use rand::RngCore;

pub const STEP_SECS: i64 = 30;
const DIGITS: u32 = 6;

/// A new random secret (160 bits), in base32 as authenticator apps expect it.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::thread_rng().fill_bytes(&mut bytes);
    base32_encode(&bytes)
}

/// The `otpauth://` address an authenticator app imports.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &str) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!(
        "otpauth://totp/{}:{}?secret={secret}&issuer={}&algorithm=SHA1&digits=6&period=30",
        enc(issuer),
        enc(account),
        enc(issuer)
    )
}

/// The code of one time step.
pub fn code_at(secret: &[u8], step: i64) -> String {
    let mut mac = <SimpleHmac<sha1::Sha1> as Mac>::new_from_slice(secret).expect("any key length");
    mac.update(&(step as u64).to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = (h[h.len() - 1] & 0x0f) as usize;
    let bin = u32::from_be_bytes([
        h[offset] & 0x7f,
        h[offset + 1],
        h[offset + 2],
        h[offset + 3],
    ]);
    format!(
        "{:0width$}",
        bin % 10u32.pow(DIGITS),
        width = DIGITS as usize
    )
}

/// Checks a typed code against the steps around `now` (one step either side, for clock drift).
/// Returns the matching step, which must be later than `last_used_step`: a code works once.
pub fn verify(secret_b32: &str, code: &str, now: i64, last_used_step: i64) -> Option<i64> {
    let secret = base32_decode(secret_b32)?;
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now_step = now.div_euclid(STEP_SECS);
    (now_step - 1..=now_step + 1)
        .filter(|s| *s > last_used_step)
        .find(|s| constant_time_eq(code_at(&secret, *s).as_bytes(), code.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    let (mut buf, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buf = (buf << 8) | b as u32;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buf >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buf << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Decodes base32, ignoring spaces, dashes, padding and case (as people type it).
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buf, mut bits) = (0u32, 0u32);
    for c in text.chars() {
        if matches!(c, ' ' | '-' | '=') {
            continue;
        }
        let v = ALPHABET
            .iter()
            .position(|a| *a as char == c.to_ascii_uppercase())? as u32;
        buf = (buf << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 column (the 8-digit values, of which a 6-digit code is the tail).
    #[test]
    fn rfc6238_vectors() {
        let secret = b"12345678901234567890";
        for (t, eight) in [
            (59i64, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
        ] {
            assert_eq!(code_at(secret, t / STEP_SECS), eight[2..], "t={t}");
        }
    }

    #[test]
    fn base32_round_trip_and_typing_tolerance() {
        let bytes = b"12345678901234567890";
        let enc = base32_encode(bytes);
        assert_eq!(enc, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(base32_decode(&enc).unwrap(), bytes);
        assert_eq!(
            base32_decode("gezd gnbv-gy3t qojq gezd gnbv gy3t qojq").unwrap(),
            bytes
        );
        assert_eq!(base32_decode("1!"), None);
    }

    #[test]
    fn a_code_works_once_and_only_near_its_time() {
        let secret = new_secret();
        let raw = base32_decode(&secret).unwrap();
        let now = 1_700_000_000;
        let code = code_at(&raw, now / STEP_SECS);
        let step = verify(&secret, &code, now, 0).expect("current code");
        assert_eq!(verify(&secret, &code, now, step), None, "replayed");
        assert!(
            verify(&secret, &code, now + 30, 0).is_some(),
            "one step late"
        );
        assert_eq!(verify(&secret, &code, now + 120, 0), None, "too late");
        assert_eq!(verify(&secret, "12345", now, 0), None);
        assert_eq!(verify(&secret, "abcdef", now, 0), None);
    }
}
