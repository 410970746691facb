//! What the community.crypto modules share: private keys (RSA through the `rsa` crate, ECDSA
//! and Ed25519 through rcgen/ring), fingerprints, subjects, relative times, and the file on
//! the task's host they read and write.
//!
//! Where they run: as in Ansible, on the task's host — the files are read and written through
//! the task's connection (a `delegate_to: localhost` / `connection: local` task writes on the
//! controller, any other on the target, with become). The keys and certificates themselves are
//! computed by troupe on the controller and sent over stdin: the host needs no Python and no
//! `cryptography`, and the result (files, modes, owner) is the one Ansible leaves.

use rcgen::{KeyPair, SignatureAlgorithm, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384, PKCS_ED25519};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use sha1::Digest;

use super::args::Args;
use super::content::Content;
use super::file_mode::Mode;
use super::lineinfile::read_text;
use super::remote_file::{apply_write, query_write, Attrs, WriteOpts};
use super::{Ctx, ModuleError, Query};
use crate::connection::{quote, Cmd};
use crate::facts::FileFacts;
use crate::value::{Map, Value};

/// The file arguments every community.crypto module that writes takes (SELinux ones are
/// accepted and have no effect, as on a host without SELinux).
pub const FILE_ARGS: &[&str] =
    &["mode", "owner", "group", "seuser", "serole", "setype", "selevel", "unsafe_writes", "attributes"];

/// The kind of a private key, as `type` names it.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyType {
    Rsa(usize),
    Ecc(&'static str),
    Ed25519,
}

impl KeyType {
    pub fn name(&self) -> &'static str {
        match self {
            KeyType::Rsa(_) => "RSA",
            KeyType::Ecc(_) => "ECC",
            KeyType::Ed25519 => "Ed25519",
        }
    }
    pub fn size(&self) -> usize {
        match self {
            KeyType::Rsa(bits) => *bits,
            KeyType::Ecc("secp384r1") => 384,
            KeyType::Ecc(_) => 256,
            KeyType::Ed25519 => 256,
        }
    }
}

/// A loaded private key: its kind, its PKCS#8 DER, and the public key (SubjectPublicKeyInfo DER).
pub struct PrivKey {
    pub kind: KeyType,
    pkcs8: Vec<u8>,
    spki: Vec<u8>,
    /// The PEM label it was stored under (`RSA PRIVATE KEY`, `PRIVATE KEY`).
    pub label: String,
}

impl PrivKey {
    pub fn spki(&self) -> Vec<u8> {
        self.spki.clone()
    }

    /// The key as a signer (ring refuses RSA keys under 2048 bits).
    pub fn signer(&self) -> Result<KeyPair, String> {
        KeyPair::from_pkcs8_der_and_sign_algo(&self.pkcs8.as_slice().into(), algo_of(&self.kind))
            .map_err(|e| format!("the private key cannot sign: {e}"))
    }
}

fn algo_of(kind: &KeyType) -> &'static SignatureAlgorithm {
    match kind {
        KeyType::Rsa(_) => &rcgen::PKCS_RSA_SHA256,
        KeyType::Ecc("secp384r1") => &PKCS_ECDSA_P384_SHA384,
        KeyType::Ecc(_) => &PKCS_ECDSA_P256_SHA256,
        KeyType::Ed25519 => &PKCS_ED25519,
    }
}

/// Parse a PEM private key (PKCS#1 RSA or PKCS#8 RSA/ECDSA P-256/P-384/Ed25519).
pub fn load_key(pem_text: &str) -> Result<PrivKey, String> {
    let block = pem_block(pem_text)?;
    let label = block.0.clone();
    if label.contains("ENCRYPTED") {
        return Err("the private key is encrypted; passphrases are not supported natively".into());
    }
    let rsa_key = match label.as_str() {
        "RSA PRIVATE KEY" => {
            Some(rsa::RsaPrivateKey::from_pkcs1_der(&block.1).map_err(|e| format!("not an RSA key: {e}"))?)
        }
        "PRIVATE KEY" => rsa::RsaPrivateKey::from_pkcs8_der(&block.1).ok(),
        other => return Err(format!("unsupported private key format ({other})")),
    };
    if let Some(k) = rsa_key {
        use rsa::pkcs8::EncodePublicKey;
        let pkcs8 = k.to_pkcs8_der().map_err(|e| e.to_string())?.as_bytes().to_vec();
        let spki = k.to_public_key().to_public_key_der().map_err(|e| e.to_string())?.as_bytes().to_vec();
        return Ok(PrivKey { kind: KeyType::Rsa(k.size() * 8), pkcs8, spki, label });
    }
    let pair = KeyPair::try_from(block.1.as_slice()).map_err(|e| format!("unsupported private key: {e}"))?;
    let kind = match pair.algorithm() {
        a if a == &PKCS_ED25519 => KeyType::Ed25519,
        a if a == &PKCS_ECDSA_P384_SHA384 => KeyType::Ecc("secp384r1"),
        _ => KeyType::Ecc("secp256r1"),
    };
    let spki = rcgen::PublicKeyData::subject_public_key_info(&pair);
    Ok(PrivKey { kind, pkcs8: block.1, spki, label })
}

/// Generate a key of `kind`; RSA keys are written PKCS#1 as Ansible's default format does,
/// the others PKCS#8.
pub fn generate_key(kind: &KeyType, pkcs8: bool) -> Result<String, String> {
    match kind {
        KeyType::Rsa(bits) => {
            let mut rng = rsa::rand_core::OsRng;
            let k = rsa::RsaPrivateKey::new(&mut rng, *bits).map_err(|e| format!("RSA key generation failed: {e}"))?;
            if pkcs8 {
                k.to_pkcs8_pem(LineEnding::LF).map(|p| p.to_string()).map_err(|e| e.to_string())
            } else {
                k.to_pkcs1_pem(LineEnding::LF).map(|p| p.to_string()).map_err(|e| e.to_string())
            }
        }
        other => KeyPair::generate_for(algo_of(other)).map(|k| k.serialize_pem()).map_err(|e| e.to_string()),
    }
}

/// The first PEM block: (label, DER bytes).
pub fn pem_block(text: &str) -> Result<(String, Vec<u8>), String> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(text.as_bytes()).map_err(|e| format!("not PEM: {e}"))?;
    Ok((pem.label, pem.contents))
}

/// Hex digest pairs joined by `:`, as community.crypto prints fingerprints.
fn colon_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

/// `{md5: .., sha1: .., sha256: ..}` of `der` (a public key or certificate).
pub fn fingerprints(der: &[u8]) -> Value {
    let mut m = Map::new();
    m.insert("md5".into(), colon_hex(&md5::Md5::digest(der)).into());
    m.insert("sha1".into(), colon_hex(&sha1::Sha1::digest(der)).into());
    m.insert("sha224".into(), colon_hex(&sha2::Sha224::digest(der)).into());
    m.insert("sha256".into(), colon_hex(&sha2::Sha256::digest(der)).into());
    m.insert("sha384".into(), colon_hex(&sha2::Sha384::digest(der)).into());
    m.insert("sha512".into(), colon_hex(&sha2::Sha512::digest(der)).into());
    Value::Object(m)
}

/// Subject fields as community.crypto names them (short and long), to their OID text.
pub const NAME_FIELDS: &[(&str, &str, rcgen::DnType)] = &[
    ("CN", "commonName", rcgen::DnType::CommonName),
    ("O", "organizationName", rcgen::DnType::OrganizationName),
    ("OU", "organizationalUnitName", rcgen::DnType::OrganizationalUnitName),
    ("C", "countryName", rcgen::DnType::CountryName),
    ("ST", "stateOrProvinceName", rcgen::DnType::StateOrProvinceName),
    ("L", "localityName", rcgen::DnType::LocalityName),
];

/// A relative (`+32w1d2h`, `-1h`) or absolute (`20250101120000Z`) time, or `now` = `+0s`.
pub fn parse_time(text: &str, now: i64) -> Result<i64, String> {
    let t = text.trim();
    if t == "now" || t.is_empty() {
        return Ok(now);
    }
    let (sign, rest) = match t.as_bytes()[0] {
        b'+' => (1, &t[1..]),
        b'-' => (-1, &t[1..]),
        _ => {
            return parse_asn1_time(t)
                .ok_or_else(|| format!("{t:?} is not a valid time (use +NNNd or YYYYMMDDHHMMSSZ)"))
        }
    };
    let mut total = 0i64;
    let mut num = String::new();
    for c in rest.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            'w' => 7 * 86_400,
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return Err(format!("{t:?} is not a valid relative time")),
        };
        let n: i64 = num.parse().map_err(|_| format!("{t:?} is not a valid relative time"))?;
        total += n * unit;
        num.clear();
    }
    if !num.is_empty() {
        return Err(format!("{t:?} is not a valid relative time (a number without unit)"));
    }
    Ok(now + sign * total)
}

fn parse_asn1_time(t: &str) -> Option<i64> {
    let t = t.strip_suffix('Z').unwrap_or(t);
    let t = t.split(['+', '-']).next()?;
    if t.len() < 14 || !t[..14].bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |a: usize, b: usize| t[a..b].parse::<i32>().ok();
    let month = time::Month::try_from(n(4, 6)? as u8).ok()?;
    let date = time::Date::from_calendar_date(n(0, 4)?, month, n(6, 8)? as u8).ok()?;
    let tm = time::Time::from_hms(n(8, 10)? as u8, n(10, 12)? as u8, n(12, 14)? as u8).ok()?;
    Some(time::PrimitiveDateTime::new(date, tm).assume_utc().unix_timestamp())
}

/// `YYYYMMDDHHMMSSZ`, as community.crypto returns times.
pub fn asn1_time(ts: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(ts) {
        Ok(t) => format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => ts.to_string(),
    }
}

/// A file of the task's host: its facts and text (None when absent).
pub struct HostFile {
    pub facts: FileFacts,
    pub text: Option<String>,
}

/// Read `path` on the task's host (through become when the task has it).
pub async fn read_host(cx: &Ctx<'_>, path: &str) -> Result<HostFile, ModuleError> {
    let f = read_text(cx, path).await?;
    let text = f.content.map(|c| String::from_utf8_lossy(&c).into_owned());
    Ok(HostFile { facts: f.facts, text })
}

/// The owner/group/mode arguments; `new_mode` is used when none is given and the file is new.
pub fn attrs(a: &Args, new_mode: Option<u32>, exists: bool) -> Result<Attrs, ModuleError> {
    let mode = a.mode("mode")?.or_else(|| new_mode.filter(|_| !exists).map(Mode::Octal));
    Ok(Attrs::new(mode, a.str("owner")?, a.str("group")?))
}

/// What a crypto module's apply does with the file.
pub enum FilePlan {
    /// Write new bytes (made in apply: keys are generated only when they are written).
    Write { path: String, backup: bool, attrs: Attrs, facts: Box<FileFacts> },
    /// Only owner/group/mode differ.
    Attrs { path: String, attrs: Attrs },
    /// `state: absent`.
    Remove { path: String, backup: bool },
}

/// Say what differs for an existing file whose content is fine: only its attributes.
pub fn attrs_query(q: &mut Query, path: &str, attrs: &Attrs, facts: &FileFacts) -> Option<FilePlan> {
    let differ = attrs.differing(facts);
    if differ.is_empty() {
        return None;
    }
    q.changed = true;
    Some(FilePlan::Attrs { path: path.to_string(), attrs: differ })
}

/// Carry out a [`FilePlan`]; `make` produces the new content (only called for a write).
pub async fn apply_plan(
    cx: &Ctx<'_>,
    plan: FilePlan,
    result: &mut Map,
    make: impl FnOnce() -> Result<Vec<u8>, ModuleError>,
) -> Result<(), ModuleError> {
    match plan {
        FilePlan::Write { path: _, backup, attrs, facts } => {
            let bytes = make()?;
            let opts = WriteOpts { backup, validate: None };
            let mut facts = *facts;
            facts.checksum = None;
            let q = query_write(cx, &facts, &Content::Bytes(&bytes), &attrs, &opts, true).await?;
            let written = apply_write(cx, q).await?;
            if let Some(b) = written.get("backup_file") {
                result.insert("backup_file".into(), b.clone());
            }
        }
        FilePlan::Attrs { path, attrs } => {
            let script = format!("set -e\n{}", attrs.script(&quote(&path), false));
            super::script_out::run_ok(cx, Cmd::new(script), &format!("setting the attributes of {path} failed"))
                .await?;
        }
        FilePlan::Remove { path, backup } => {
            let p = quote(&path);
            let mut script = String::from("set -e\n");
            if backup {
                script.push_str(&format!(
                    "b={p}.$$.$(date +%Y-%m-%d@%H:%M:%S)~\ncp -p -- {p} \"$b\"\necho \"@troupe-backup $b\"\n"
                ));
            }
            script.push_str(&format!("rm -f -- {p}\n"));
            let out = super::script_out::run_ok(cx, Cmd::new(script), &format!("removing {path} failed")).await?;
            if let Some(b) = out.stdout_text().lines().find_map(|l| l.strip_prefix("@troupe-backup ")) {
                result.insert("backup_file".into(), b.into());
            }
        }
    }
    Ok(())
}

/// The plan for `state: absent` / a write, given the file's facts.
pub fn write_or_remove(path: &str, present: bool, backup: bool, attrs: Attrs, facts: &FileFacts) -> FilePlan {
    if present {
        FilePlan::Write { path: path.to_string(), backup, attrs, facts: Box::new(facts.clone()) }
    } else {
        FilePlan::Remove { path: path.to_string(), backup }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("+0s", 100), Ok(100));
        assert_eq!(parse_time("+7300d", 0), Ok(7300 * 86_400));
        assert_eq!(parse_time("+1w2d3h4m5s", 0), Ok(7 * 86_400 + 2 * 86_400 + 3 * 3600 + 4 * 60 + 5));
        assert_eq!(parse_time("-1h", 7200), Ok(3600));
        assert_eq!(parse_time("20000101000000Z", 0), Ok(946_684_800));
        assert_eq!(asn1_time(946_684_800), "20000101000000Z");
        assert!(parse_time("+12", 0).is_err());
        assert!(parse_time("+1y", 0).is_err());
        assert!(parse_time("tomorrow", 0).is_err());
    }

    #[test]
    fn keys_round_trip() {
        let pem = generate_key(&KeyType::Rsa(1024), false).unwrap();
        assert!(pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        let k = load_key(&pem).unwrap();
        assert_eq!(k.kind, KeyType::Rsa(1024));
        assert!(k.signer().unwrap_err().contains("cannot sign"), "ring signs with 2048 bits and more");
        let k = load_key(&generate_key(&KeyType::Rsa(2048), true).unwrap()).unwrap();
        assert!(k.signer().is_ok() && k.label == "PRIVATE KEY");
        let pem = generate_key(&KeyType::Ecc("secp384r1"), true).unwrap();
        assert_eq!(load_key(&pem).unwrap().kind, KeyType::Ecc("secp384r1"));
        let pem = generate_key(&KeyType::Ed25519, true).unwrap();
        let k = load_key(&pem).unwrap();
        assert_eq!((k.kind.name(), k.kind.size()), ("Ed25519", 256));
        assert!(load_key("junk").err().unwrap().contains("not PEM"));
        let fp = fingerprints(b"abc");
        assert_eq!(fp["sha1"], "a9:99:3e:36:47:06:81:6a:ba:3e:25:71:78:50:c2:6c:9c:d0:d8:9d");
    }
}
