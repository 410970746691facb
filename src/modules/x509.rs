//! `x509`: a small PKI on the controller (no connection): a CA, private keys, and
//! certificates signed by that CA, for etcd's client/peer/server TLS.
//!
//! Arguments:
//! - `kind`: `ca` (self-signed CA) or `cert` (signed by `ca_path`/`ca_key_path`). Default `cert`.
//! - `path` (required): certificate PEM path on the controller.
//! - `key_path`: private key PEM path (PKCS#8). Default: `path` with its extension replaced
//!   by `-key.pem` (`ca.pem` → `ca-key.pem`, cfssl's layout). Written 0600; a missing folder
//!   is created 0700. An existing key is always reused: certificates are re-issued, keys kept.
//! - `ca_path`, `ca_key_path` (kind=cert): the issuing CA; `ca_key_path` defaults like `key_path`.
//! - `common_name` (required), `organization` (optional subject O).
//! - `sans`: list (or comma string) of subject alternative names; IP addresses and DNS names
//!   are told apart automatically.
//! - `usage` (kind=cert): `server` (serverAuth), `client` (clientAuth), `peer` or `both`
//!   (both). Default `both`, which suits etcd members.
//! - `validity_days`: default 3650 for a CA, 825 for a certificate.
//! - `renew_before_days`: re-issue when fewer days remain. Default 30.
//! - `force`: re-issue the certificate now (the key is still kept).
//!
//! Keys are ECDSA P-256. A certificate is re-issued only when it is missing or unreadable,
//! does not match the key, expires within `renew_before_days`, its CN, SANs, usages or
//! CA flag differ, or (kind=cert) it is not signed by the given CA. Relative paths are taken
//! from the controller's working folder. Results: `path`, `key_path`, `sans`, `not_after`
//! (RFC 3339, UTC), `serial` (hex), `reissued_reason` (null when nothing was done). Key
//! material is never part of a result or a message.

use crate::modules::Change;
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SerialNumber,
};
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use super::args::{ArgSpec, Args, Opt};
use super::local_write::{create_dir, write_atomic};
use super::{Ctx, Module, ModuleError, Query};
use crate::value::{Map, Value};

pub struct X509;

const ALIASES: &[(&str, &str)] = &[("cn", "common_name"), ("subject_alt_names", "sans")];

/// The arguments, declared once (parsing, aliases, choices, docs).
const SPEC: ArgSpec = ArgSpec {
    options: &[&[
        Opt::str("kind", "a CA, or a certificate signed by one").choices(&["ca", "cert"]).default("cert"),
        Opt::path("path", "where the certificate goes on the target (PEM)").required(),
        Opt::path("key_path", "where its key goes (default: `path` with `-key.pem`)"),
        Opt::path("ca_path", "the CA certificate that signs (`kind=cert`)"),
        Opt::path("ca_key_path", "the CA's key"),
        Opt::str("common_name", "the subject's CN").required(),
        Opt::str("organization", "the subject's O"),
        Opt::list("sans", "subject alternative names: DNS names and IP addresses"),
        Opt::str("usage", "extended key usage").choices(&["server", "client", "peer", "both"]).default("both"),
        Opt::int("validity_days", "how long it is valid (a CA 3650 days, a certificate 825)"),
        Opt::int("renew_before_days", "re-issue this many days before it expires").default("30"),
        Opt::bool("force", "re-issue even when nothing changed").default("false"),
    ]],
    aliases: ALIASES,
    ..ArgSpec::NONE
};

#[derive(Debug, Clone, PartialEq)]
pub struct Want {
    pub ca: bool,
    pub path: PathBuf,
    pub key_path: PathBuf,
    pub ca_path: Option<PathBuf>,
    pub ca_key_path: Option<PathBuf>,
    pub common_name: String,
    pub organization: Option<String>,
    /// Normalised SANs: IPs in canonical form, DNS names lower-cased.
    pub sans: BTreeSet<String>,
    pub server_auth: bool,
    pub client_auth: bool,
    pub validity_days: i64,
    pub renew_before_days: i64,
    pub force: bool,
}

/// `dir/name.pem` → `dir/name-key.pem`.
pub fn default_key_path(cert: &Path) -> PathBuf {
    let stem = cert.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    cert.with_file_name(format!("{stem}-key.pem"))
}

fn normalise_san(s: &str) -> String {
    match s.trim().parse::<IpAddr>() {
        Ok(ip) => ip.to_string(),
        Err(_) => s.trim().to_ascii_lowercase(),
    }
}

impl Want {
    pub fn parse(raw: &Map) -> Result<Want, ModuleError> {
        let a = Args::parse("x509", raw, &SPEC)?;
        let ca = a.choice("kind", &["ca", "cert"])?.unwrap_or("cert") == "ca";
        let path = PathBuf::from(a.req_str("path")?);
        let key_path = a.str("key_path")?.map(PathBuf::from).unwrap_or_else(|| default_key_path(&path));
        let (ca_path, ca_key_path) = if ca {
            (None, None)
        } else {
            let cp =
                PathBuf::from(a.str("ca_path")?.ok_or_else(|| {
                    a.error("'ca_path' is required with kind=cert (the CA certificate to sign with)")
                })?);
            let ck = a.str("ca_key_path")?.map(PathBuf::from).unwrap_or_else(|| default_key_path(&cp));
            (Some(cp), Some(ck))
        };
        let usage = a.choice("usage", &["server", "client", "peer", "both"])?.unwrap_or("both");
        let validity_days = a.int("validity_days")?.unwrap_or(if ca { 3650 } else { 825 });
        let renew_before_days = a.int("renew_before_days")?.unwrap_or(30);
        if validity_days <= 0 || renew_before_days < 0 || renew_before_days >= validity_days {
            return Err(a.error(format_args!(
                "need validity_days > 0 and 0 <= renew_before_days < validity_days (got {validity_days} and {renew_before_days})"
            )));
        }
        Ok(Want {
            ca,
            path,
            key_path,
            ca_path,
            ca_key_path,
            common_name: a.req_str("common_name")?,
            organization: a.str("organization")?,
            sans: a.list("sans")?.unwrap_or_default().iter().map(|s| normalise_san(s)).collect(),
            server_auth: !ca && usage != "client",
            client_auth: !ca && usage != "server",
            validity_days,
            renew_before_days,
            force: a.bool("force", false)?,
        })
    }
}

/// What an existing certificate says about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Existing {
    pub common_name: String,
    pub sans: BTreeSet<String>,
    pub is_ca: bool,
    pub server_auth: bool,
    pub client_auth: bool,
    pub not_after: i64,
    pub serial: String,
    pub spki: Vec<u8>,
    /// Signed by the CA given (always true for kind=ca).
    pub signed_by_ca: bool,
}

fn pem_der(text: &str, what: &Path) -> Result<Vec<u8>, String> {
    let (_, pem) =
        x509_parser::pem::parse_x509_pem(text.as_bytes()).map_err(|e| format!("{}: not PEM: {e}", what.display()))?;
    Ok(pem.contents)
}

/// Read a certificate; `ca_der` is the issuer to check the signature against.
pub fn inspect(der: &[u8], ca_der: Option<&[u8]>) -> Result<Existing, String> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| format!("not an X.509 certificate: {e}"))?;
    let common_name =
        cert.subject().iter_common_name().next().and_then(|a| a.as_str().ok()).unwrap_or_default().to_string();
    let mut sans = BTreeSet::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for n in &ext.value.general_names {
            match n {
                GeneralName::DNSName(d) => {
                    sans.insert(d.to_ascii_lowercase());
                }
                GeneralName::IPAddress(b) => {
                    let ip = match b.len() {
                        4 => <[u8; 4]>::try_from(*b).ok().map(IpAddr::from),
                        16 => <[u8; 16]>::try_from(*b).ok().map(IpAddr::from),
                        _ => None,
                    };
                    if let Some(ip) = ip {
                        sans.insert(ip.to_string());
                    }
                }
                _ => {}
            }
        }
    }
    let (server_auth, client_auth) = match cert.extended_key_usage() {
        Ok(Some(e)) => (e.value.server_auth, e.value.client_auth),
        _ => (false, false),
    };
    let signed_by_ca = match ca_der {
        None => true,
        Some(ca) => match X509Certificate::from_der(ca) {
            Ok((_, ca)) => {
                cert.issuer().as_raw() == ca.subject().as_raw() && cert.verify_signature(Some(ca.public_key())).is_ok()
            }
            Err(_) => false,
        },
    };
    Ok(Existing {
        common_name,
        sans,
        is_ca: cert.is_ca(),
        server_auth,
        client_auth,
        not_after: cert.validity().not_after.timestamp(),
        serial: cert.raw_serial_as_string(),
        spki: cert.public_key().raw.to_vec(),
        signed_by_ca,
    })
}

/// Why the certificate must be (re-)issued, or None when it is fine.
pub fn reissue_reason(want: &Want, existing: Option<&Existing>, key_spki: Option<&[u8]>, now: i64) -> Option<String> {
    if want.force {
        return Some("forced".into());
    }
    let Some(e) = existing else {
        return Some("missing".into());
    };
    if key_spki.is_some_and(|k| k != e.spki.as_slice()) {
        return Some("key does not match certificate".into());
    }
    if e.not_after - now < want.renew_before_days * 86_400 {
        return Some(format!("expires within {} days", want.renew_before_days));
    }
    if e.common_name != want.common_name {
        return Some("common_name changed".into());
    }
    if e.sans != want.sans {
        return Some("sans changed".into());
    }
    if e.is_ca != want.ca || (!want.ca && (e.server_auth != want.server_auth || e.client_auth != want.client_auth)) {
        return Some("usage changed".into());
    }
    if !e.signed_by_ca {
        return Some("not signed by the given CA".into());
    }
    None
}

fn read_opt(path: &Path) -> Result<Option<String>, ModuleError> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ModuleError::failed(format!("cannot read {}: {e}", path.display()))),
    }
}

fn load_key(path: &Path) -> Result<Option<KeyPair>, ModuleError> {
    read_opt(path)?
        .map(|pem| {
            KeyPair::from_pem(&pem).map_err(|e| {
                ModuleError::failed(format!(
                    "{} is not a usable PEM private key ({e}); move it away to generate a new one",
                    path.display()
                ))
            })
        })
        .transpose()
}

fn rfc3339(ts: i64) -> String {
    match OffsetDateTime::from_unix_timestamp(ts) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
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

fn result(want: &Want, not_after: Option<i64>, serial: Option<String>, reason: Option<String>) -> Map {
    let mut m = Map::new();
    m.insert("path".into(), want.path.display().to_string().into());
    m.insert("key_path".into(), want.key_path.display().to_string().into());
    m.insert("sans".into(), Value::Array(want.sans.iter().cloned().map(Value::String).collect()));
    m.insert("not_after".into(), not_after.map(rfc3339).map(Value::String).unwrap_or(Value::Null));
    m.insert("serial".into(), serial.map(Value::String).unwrap_or(Value::Null));
    m.insert("reissued_reason".into(), reason.map(Value::String).unwrap_or(Value::Null));
    m
}

/// The CA certificate and key for kind=cert: (cert PEM, key PEM), or None when missing.
fn load_ca(want: &Want) -> Result<Option<(String, KeyPair)>, ModuleError> {
    let (Some(cp), Some(kp)) = (&want.ca_path, &want.ca_key_path) else {
        return Ok(None);
    };
    match (read_opt(cp)?, load_key(kp)?) {
        (Some(c), Some(k)) => Ok(Some((c, k))),
        _ => Ok(None),
    }
}

fn params(want: &Want, now: OffsetDateTime) -> Result<CertificateParams, ModuleError> {
    let sans: Vec<String> = want.sans.iter().cloned().collect();
    let mut p = CertificateParams::new(sans).map_err(|e| ModuleError::Args(format!("x509: bad sans: {e}")))?;
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(DnType::CommonName, want.common_name.as_str());
    if let Some(o) = &want.organization {
        p.distinguished_name.push(DnType::OrganizationName, o.as_str());
    }
    p.not_before = now - time::Duration::hours(1);
    p.not_after = now + time::Duration::days(want.validity_days);
    let mut serial: [u8; 16] = rand::random();
    serial[0] = (serial[0] & 0x7f) | 0x01;
    p.serial_number = Some(SerialNumber::from_slice(&serial));
    if want.ca {
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    } else {
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        if want.server_auth {
            p.extended_key_usages.push(ExtendedKeyUsagePurpose::ServerAuth);
        }
        if want.client_auth {
            p.extended_key_usages.push(ExtendedKeyUsagePurpose::ClientAuth);
        }
        p.use_authority_key_identifier_extension = true;
    }
    Ok(p)
}

fn write_err(path: &Path, e: std::io::Error) -> ModuleError {
    ModuleError::failed(format!("cannot write {}: {e}", path.display()))
}

#[async_trait]
impl Module for X509 {
    fn name(&self) -> &'static str {
        "x509"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    fn controller_only(&self) -> bool {
        true
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let want = Want::parse(args)?;
        let key = load_key(&want.key_path)?;
        let ca = load_ca(&want)?;
        if !want.ca && ca.is_none() && !cx.check_mode {
            let cp = want.ca_path.as_deref().unwrap_or(Path::new("")).display().to_string();
            return Err(ModuleError::failed(format!(
                "the CA ({cp} and its key) does not exist: create it first with kind=ca"
            )));
        }
        let ca_der = match &ca {
            Some((pem, _)) => {
                Some(pem_der(pem, want.ca_path.as_deref().unwrap_or(Path::new(""))).map_err(ModuleError::failed)?)
            }
            None => None,
        };
        let existing = read_opt(&want.path)?.and_then(|pem| {
            let der = pem_der(&pem, &want.path).ok()?;
            inspect(&der, if want.ca { None } else { Some(ca_der.as_deref().unwrap_or(&[])) }).ok()
        });
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let spki = key.as_ref().map(rcgen::PublicKeyData::subject_public_key_info);
        let reason = reissue_reason(&want, existing.as_ref(), spki.as_deref(), now);
        let q = match (&reason, &existing) {
            (None, Some(e)) => {
                Query { result: result(&want, Some(e.not_after), Some(e.serial.clone()), None), ..Query::default() }
            }
            _ => Query {
                changed: true,
                result: result(&want, Some(now + want.validity_days * 86_400), None, reason.clone()),
                change: Change::new(reason.unwrap_or_default()),
                ..Query::default()
            },
        };
        Ok(q)
    }

    async fn apply(&self, _cx: &Ctx<'_>, args: &Map, mut q: Query) -> Result<Map, ModuleError> {
        let want = Want::parse(args)?;
        let key = match load_key(&want.key_path)? {
            Some(k) => k,
            None => {
                let k = KeyPair::generate().map_err(|e| ModuleError::failed(format!("cannot generate a key: {e}")))?;
                if let Some(dir) = want.key_path.parent() {
                    create_dir(dir, 0o700).map_err(|e| write_err(dir, e))?;
                }
                write_atomic(&want.key_path, k.serialize_pem().as_bytes(), 0o600)
                    .map_err(|e| write_err(&want.key_path, e))?;
                k
            }
        };
        let now = OffsetDateTime::now_utc();
        let p = params(&want, now)?;
        let sign_err = |e: rcgen::Error| ModuleError::failed(format!("cannot sign {}: {e}", want.path.display()));
        let cert = if want.ca {
            p.self_signed(&key).map_err(sign_err)?
        } else {
            let (ca_pem, ca_key) =
                load_ca(&want)?.ok_or_else(|| ModuleError::failed("the CA disappeared while running"))?;
            let issuer = Issuer::from_ca_cert_pem(&ca_pem, ca_key).map_err(sign_err)?;
            p.signed_by(&key, &issuer).map_err(sign_err)?
        };
        if let Some(dir) = want.path.parent() {
            create_dir(dir, 0o755).map_err(|e| write_err(dir, e))?;
        }
        write_atomic(&want.path, cert.pem().as_bytes(), 0o644).map_err(|e| write_err(&want.path, e))?;
        let serial = p
            .serial_number
            .as_ref()
            .map(|s| s.to_bytes().iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":"));
        let reason: Option<String> = Some(q.change.take("x509")?);
        Ok(result(&want, Some(p.not_after.unix_timestamp()), serial, reason))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testutil::Harness;
    use serde_json::json;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    fn read_cert(p: &Path, ca: Option<&Path>) -> Existing {
        let der = pem_der(&std::fs::read_to_string(p).unwrap(), p).unwrap();
        let ca_der = ca.map(|c| pem_der(&std::fs::read_to_string(c).unwrap(), c).unwrap());
        inspect(&der, ca_der.as_deref()).unwrap()
    }

    #[tokio::test]
    async fn ca_and_server_cert_lifecycle() {
        let tmp = tempfile::tempdir().unwrap();
        let pki = tmp.path().join("pki");
        let h = Harness::new();
        let ca_path = pki.join("ca.pem");
        let ca_args = json!({"kind": "ca", "path": ca_path, "common_name": "etcd-ca"});
        let (changed, res) = h.run(&X509, ca_args.clone()).await.unwrap();
        assert!(changed);
        assert_eq!(res["reissued_reason"], "missing");
        assert_eq!(mode(&pki.join("ca-key.pem")), 0o600);
        assert_eq!(mode(&pki), 0o700, "key folder created private");
        assert_eq!(mode(&ca_path), 0o644);
        assert!(read_cert(&ca_path, None).is_ca);
        assert!(!h.run(&X509, ca_args.clone()).await.unwrap().0, "CA is idempotent");

        let cert = pki.join("member1.pem");
        let args = json!({"path": cert, "ca_path": ca_path, "common_name": "member1",
                          "sans": ["10.0.0.1", "Member1.example", "::1"], "usage": "server"});
        let (changed, res) = h.run(&X509, args.clone()).await.unwrap();
        assert!(changed);
        let text = serde_json::to_string(&res).unwrap();
        assert!(!text.contains("PRIVATE KEY"));
        let e = read_cert(&cert, Some(&ca_path));
        assert_eq!(e.sans, BTreeSet::from(["10.0.0.1".to_string(), "member1.example".into(), "::1".into()]));
        assert!(e.server_auth && !e.client_auth && !e.is_ca && e.signed_by_ca);
        assert_eq!(e.common_name, "member1");
        assert_eq!(res["serial"], Value::String(e.serial.clone()));
        assert_eq!(mode(&pki.join("member1-key.pem")), 0o600);

        let (changed, res) = h.run(&X509, args.clone()).await.unwrap();
        assert!(!changed, "second run is ok: {res:?}");
        assert_eq!(res["reissued_reason"], Value::Null);

        let key_before = std::fs::read(pki.join("member1-key.pem")).unwrap();
        let mut more = args.clone();
        more["sans"] = json!(["10.0.0.1", "member1.example", "::1", "10.0.0.9"]);
        let (changed, res) = h.run(&X509, more.clone()).await.unwrap();
        assert!(changed);
        assert_eq!(res["reissued_reason"], "sans changed");
        assert_eq!(std::fs::read(pki.join("member1-key.pem")).unwrap(), key_before, "key reused");
        let e2 = read_cert(&cert, Some(&ca_path));
        assert!(e2.sans.contains("10.0.0.9") && e2.spki == e.spki);

        let mut peer = more.clone();
        peer["usage"] = json!("peer");
        assert_eq!(h.run(&X509, peer.clone()).await.unwrap().1["reissued_reason"], "usage changed");
    }

    #[tokio::test]
    async fn foreign_ca_and_missing_ca() {
        let tmp = tempfile::tempdir().unwrap();
        let mut h = Harness::new();
        let d = tmp.path();
        for name in ["a", "b"] {
            let ca = json!({"kind": "ca", "path": d.join(format!("{name}.pem")), "common_name": "etcd-ca"});
            h.run(&X509, ca.clone()).await.unwrap();
        }
        let cert = json!({"path": d.join("c.pem"), "ca_path": d.join("a.pem"), "common_name": "c"});
        h.run(&X509, cert.clone()).await.unwrap();
        let mut other = cert.clone();
        other["ca_path"] = json!(d.join("b.pem"));
        let (_, res) = h.run(&X509, other.clone()).await.unwrap();
        assert_eq!(res["reissued_reason"], "not signed by the given CA", "same CA name, different key");

        let missing = json!({"path": d.join("x.pem"), "ca_path": d.join("nope.pem"), "common_name": "x"});
        let err = h.run(&X509, missing.clone()).await.unwrap_err().to_string();
        assert!(err.contains("create it first with kind=ca"));
        h.check_mode = true;
        assert!(h.run(&X509, missing.clone()).await.unwrap().0, "check mode reports the change");
        assert!(!d.join("x.pem").exists());
    }

    #[test]
    fn reasons_for_expiry_and_args() {
        let w =
            Want::parse(json!({"path": "/p/c.pem", "ca_path": "/p/ca.pem", "common_name": "c"}).as_object().unwrap())
                .unwrap();
        assert_eq!(w.key_path, PathBuf::from("/p/c-key.pem"));
        assert_eq!(w.ca_key_path, Some(PathBuf::from("/p/ca-key.pem")));
        assert_eq!(w.validity_days, 825);
        let e = Existing {
            common_name: "c".into(),
            sans: BTreeSet::new(),
            is_ca: false,
            server_auth: true,
            client_auth: true,
            not_after: 1_000 + 10 * 86_400,
            serial: "01".into(),
            spki: vec![1],
            signed_by_ca: true,
        };
        assert_eq!(reissue_reason(&w, Some(&e), Some(&[1]), 1_000).as_deref(), Some("expires within 30 days"));
        assert_eq!(reissue_reason(&w, Some(&e), Some(&[1]), 1_000 - 30 * 86_400), None);
        assert_eq!(reissue_reason(&w, Some(&e), Some(&[2]), 0).as_deref(), Some("key does not match certificate"));
        let bad = json!({"path": "/c.pem", "common_name": "c"});
        assert!(Want::parse(bad.as_object().unwrap()).unwrap_err().to_string().contains("'ca_path' is required"));
        let bad = json!({"kind": "ca", "path": "/c.pem", "common_name": "c", "usage": "web"});
        assert!(Want::parse(bad.as_object().unwrap()).is_err());
    }
}
