//! The vault envelope and its cipher: `$ANSIBLE_VAULT;1.1;AES256` (and 1.2 with a label), a
//! hex text of three hex lines (salt, HMAC, ciphertext); PBKDF2-HMAC-SHA256 (10000 rounds)
//! gives the AES-256-CTR key, the HMAC-SHA256 key and the counter's start.

use aes::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::VaultError;

pub const HEADER: &str = "$ANSIBLE_VAULT";
const ROUNDS: u32 = 10_000;

type Aes256Ctr = ctr::Ctr128BE<aes::Aes256>;

/// A parsed vault text: its label (1.2) and the three binary parts.
#[derive(Debug)]
pub struct Envelope {
    pub label: Option<String>,
    salt: Vec<u8>,
    mac: Vec<u8>,
    ciphertext: Vec<u8>,
}

/// Whether bytes are vault text (the header, maybe after whitespace as in an inline value).
pub fn is_vaulted(bytes: &[u8]) -> bool {
    bytes.trim_ascii_start().starts_with(HEADER.as_bytes())
}

impl Envelope {
    pub fn parse(text: &str) -> Result<Envelope, VaultError> {
        let text = text.trim();
        let (header, body) = text.split_once('\n').unwrap_or((text, ""));
        let fields: Vec<&str> = header.trim().split(';').map(str::trim).collect();
        let malformed = |why: &str| VaultError::Malformed(why.to_string());
        if fields.first() != Some(&HEADER) || fields.len() < 3 {
            return Err(malformed("the header is not `$ANSIBLE_VAULT;<version>;<cipher>`"));
        }
        if !matches!(fields[1], "1.1" | "1.2") {
            return Err(VaultError::Malformed(format!("vault format version {} is not supported", fields[1])));
        }
        if fields[2] != "AES256" {
            return Err(VaultError::Malformed(format!("vault cipher {} is not supported (only AES256)", fields[2])));
        }
        let label = fields.get(3).filter(|l| !l.is_empty()).map(|l| l.to_string());
        let hex: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let inner = unhex(&hex).ok_or_else(|| malformed("the body is not hexadecimal"))?;
        let inner = String::from_utf8(inner).map_err(|_| malformed("the body does not hold three hex lines"))?;
        let mut parts = inner.split('\n').map(|p| unhex(p.trim()));
        let (Some(Some(salt)), Some(Some(mac)), Some(Some(ciphertext))) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed("the body does not hold salt, HMAC and ciphertext"));
        };
        Ok(Envelope { label, salt, mac, ciphertext })
    }

    /// The plaintext, or `None` when this password's HMAC does not match (a wrong password).
    pub fn open(&self, password: &[u8]) -> Option<Vec<u8>> {
        let mut keys = [0u8; 80];
        pbkdf2::pbkdf2::<Hmac<Sha256>>(password, &self.salt, ROUNDS, &mut keys).ok()?;
        let (aes_key, rest) = keys.split_at(32);
        let (mac_key, iv) = rest.split_at(32);
        let mut mac = Hmac::<Sha256>::new_from_slice(mac_key).ok()?;
        mac.update(&self.ciphertext);
        // `verify_slice` compares in constant time.
        mac.verify_slice(&self.mac).ok()?;
        let mut data = self.ciphertext.clone();
        Aes256Ctr::new_from_slices(aes_key, iv).ok()?.apply_keystream(&mut data);
        unpad(data)
    }
}

/// Encrypt as ansible-vault does: format 1.2 with the label unless it is `default`, the hex
/// text in lines of 80 and a final newline.
pub fn seal(plain: &[u8], password: &[u8], salt: &[u8], label: Option<&str>) -> String {
    let mut keys = [0u8; 80];
    pbkdf2::pbkdf2::<Hmac<Sha256>>(password, salt, ROUNDS, &mut keys).expect("any output length below 2^32 blocks");
    let (aes_key, rest) = keys.split_at(32);
    let (mac_key, iv) = rest.split_at(32);
    let pad = 16 - plain.len() % 16;
    let mut data = plain.to_vec();
    data.resize(data.len() + pad, pad as u8);
    Aes256Ctr::new_from_slices(aes_key, iv).expect("32-byte key, 16-byte IV").apply_keystream(&mut data);
    let mut mac = Hmac::<Sha256>::new_from_slice(mac_key).expect("HMAC takes any key length");
    mac.update(&data);
    let inner = format!("{}\n{}\n{}", hex(salt), hex(&mac.finalize().into_bytes()), hex(&data));
    let body = hex(inner.as_bytes());
    let mut out = match label.filter(|l| !l.is_empty() && *l != "default") {
        Some(l) => format!("{HEADER};1.2;AES256;{l}"),
        None => format!("{HEADER};1.1;AES256"),
    };
    for chunk in body.as_bytes().chunks(80) {
        out.push('\n');
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
    }
    out.push('\n');
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// PKCS#7 padding removed; bad padding after a good HMAC means a broken file, not a password.
fn unpad(mut data: Vec<u8>) -> Option<Vec<u8>> {
    let n = *data.last()? as usize;
    if n == 0 || n > 16 || n > data.len() || !data[data.len() - n..].iter().all(|b| *b as usize == n) {
        return None;
    }
    data.truncate(data.len() - n);
    Some(data)
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}
