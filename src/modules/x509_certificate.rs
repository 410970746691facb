//! `community.crypto.x509_certificate` (and its old name `openssl_certificate`): a certificate
//! on the task's host made from a CSR, by the `selfsigned` provider (signed with
//! `privatekey_path`) or the `ownca` provider (signed by `ownca_path`/`ownca_privatekey_path`).
//! All files are read on the task's host; the certificate is signed by troupe.
//!
//! Rewritten, as community.crypto decides, when it is missing or unreadable, `force` is set,
//! its public key is not the CSR's (or, self-signed, the private key's), its subject or
//! extensions differ from the CSR's, or (ownca) it is not signed by the CA or its issuer is
//! not the CA's subject. Timestamps are compared only with `ignore_timestamps: false`.
//! Serial numbers are 63-bit random integers (returned as integers, as Ansible returns them).

use async_trait::async_trait;
use rcgen::{Issuer, SerialNumber, SubjectPublicKeyInfo};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::args::{ArgSpec, Args};
use super::crypto_common::{
    apply_plan, asn1_time, attrs, attrs_query, load_key, parse_time, pem_block, read_host, write_or_remove, FilePlan,
    FILE_ARGS,
};
use super::crypto_x509::{parse_csr, Names};
use super::openssl_csr::key_text;
use super::{Change, Ctx, Module, ModuleError, Query};
use crate::value::{Map, Value};

const OWN: &[&str] = &[
    "path",
    "state",
    "provider",
    "force",
    "csr_path",
    "csr_content",
    "privatekey_path",
    "privatekey_content",
    "privatekey_passphrase",
    "ignore_timestamps",
    "select_crypto_backend",
    "backup",
    "return_content",
    "selfsigned_version",
    "selfsigned_digest",
    "selfsigned_not_before",
    "selfsigned_not_after",
    "selfsigned_create_subject_key_identifier",
    "ownca_path",
    "ownca_content",
    "ownca_privatekey_path",
    "ownca_privatekey_content",
    "ownca_privatekey_passphrase",
    "ownca_digest",
    "ownca_version",
    "ownca_not_before",
    "ownca_not_after",
    "ownca_create_subject_key_identifier",
    "ownca_create_authority_key_identifier",
];

const ALIASES: &[(&str, &str)] =
    &[("selfsigned_notBefore", "selfsigned_not_before"), ("selfsigned_notAfter", "selfsigned_not_after")];

const SPEC: ArgSpec = ArgSpec { names: &[OWN, FILE_ARGS], aliases: ALIASES, ..ArgSpec::NONE };

/// `x509_certificate` and `openssl_certificate`: one implementation, two names.
pub struct X509Certificate_(pub &'static str);
pub const X509_CERTIFICATE: X509Certificate_ = X509Certificate_("x509_certificate");
pub const OPENSSL_CERTIFICATE: X509Certificate_ = X509Certificate_("openssl_certificate");

/// What an existing certificate says, for the comparison.
pub struct Existing {
    pub names: Names,
    pub spki: Vec<u8>,
    pub issuer_raw: Vec<u8>,
    pub subject_raw: Vec<u8>,
    pub not_before: i64,
    pub not_after: i64,
    pub serial: Value,
    /// Verifies with the given CA's public key (None: not checked).
    pub signed_by: Option<bool>,
}

/// Read a PEM certificate; `ca` is a CA certificate's DER to check the signature against.
pub fn inspect(pem_text: &str, ca: Option<&[u8]>) -> Result<Existing, String> {
    let (_, der) = pem_block(pem_text)?;
    let (_, cert) = X509Certificate::from_der(&der).map_err(|e| format!("not a certificate: {e}"))?;
    let names = Names::from_parsed(cert.subject(), cert.extensions().iter());
    let signed_by = ca.map(|ca| match X509Certificate::from_der(ca) {
        Ok((_, ca)) => {
            cert.verify_signature(Some(ca.public_key())).is_ok() && cert.issuer().as_raw() == ca.subject().as_raw()
        }
        Err(_) => false,
    });
    let serial = u64::try_from(cert.serial.clone()).map(Value::from).unwrap_or_else(|_| cert.serial.to_string().into());
    Ok(Existing {
        names,
        spki: cert.public_key().raw.to_vec(),
        issuer_raw: cert.issuer().as_raw().to_vec(),
        subject_raw: cert.subject().as_raw().to_vec(),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        serial,
        signed_by,
    })
}

struct Planned {
    ownca: bool,
    csr_pem: String,
    /// The signing key: the CA's (ownca) or the certificate's own (selfsigned).
    key_pem: String,
    ca_pem: Option<String>,
    not_before: i64,
    not_after: i64,
    plan: FilePlan,
}

fn set_times(result: &mut Map, not_before: i64, not_after: i64, serial: Value) {
    result.insert("notBefore".into(), asn1_time(not_before).into());
    result.insert("notAfter".into(), asn1_time(not_after).into());
    result.insert("serial_number".into(), serial);
}

#[async_trait]
impl Module for X509Certificate_ {
    fn name(&self) -> &'static str {
        self.0
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse(self.0, args, &SPEC)?;
        let path = a.req_str("path")?;
        let present = a.choice("state", &["present", "absent"])?.unwrap_or("present") == "present";
        let backup = a.bool("backup", false)?;
        let file = read_host(cx, &path).await?;
        let mut q = Query::ok();
        q.result.insert("filename".into(), path.clone().into());
        q.result.insert("privatekey".into(), a.str("privatekey_path")?.map(Value::String).unwrap_or(Value::Null));
        q.result.insert("csr".into(), a.str("csr_path")?.map(Value::String).unwrap_or(Value::Null));
        let attrs = attrs(&a, None, false)?;
        if !present {
            if file.text.is_some() {
                q.changed = true;
                let plan = write_or_remove(&path, false, backup, attrs, &file.facts);
                q.change = Change::new(Planned {
                    ownca: false,
                    csr_pem: String::new(),
                    key_pem: String::new(),
                    ca_pem: None,
                    not_before: 0,
                    not_after: 0,
                    plan,
                });
            }
            return Ok(q);
        }
        if a.str("privatekey_passphrase")?.is_some() || a.str("ownca_privatekey_passphrase")?.is_some() {
            return Err(a.error("passphrase-protected keys are not supported natively by troupe"));
        }
        let provider = match a.str("provider")?.as_deref() {
            Some("selfsigned") => "selfsigned",
            Some("ownca") => "ownca",
            None => return Err(a.error("state is present but all of the following are missing: provider")),
            Some(p) => return Err(a.error(format_args!("provider {p} is not supported natively (selfsigned, ownca)"))),
        };
        let ownca = provider == "ownca";
        for d in ["selfsigned_digest", "ownca_digest"] {
            if a.str(d)?.is_some_and(|v| v != "sha256") {
                return Err(a.error(format_args!("only {d} sha256 is supported natively")));
            }
        }
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let (nb, na) = if ownca {
            ("ownca_not_before", "ownca_not_after")
        } else {
            ("selfsigned_not_before", "selfsigned_not_after")
        };
        let not_before = parse_time(&a.str(nb)?.unwrap_or("+0s".into()), now).map_err(|e| a.error(e))?;
        let not_after = parse_time(&a.str(na)?.unwrap_or("+3650d".into()), now).map_err(|e| a.error(e))?;
        let csr_pem = key_text(cx, &a, "csr_path", "csr_content").await?;
        let key_pem = if ownca {
            key_text(cx, &a, "ownca_privatekey_path", "ownca_privatekey_content").await?
        } else {
            key_text(cx, &a, "privatekey_path", "privatekey_content").await?
        };
        let ca_pem = if ownca { key_text(cx, &a, "ownca_path", "ownca_content").await? } else { None };
        if ownca {
            q.result.insert("ca_cert".into(), a.str("ownca_path")?.map(Value::String).unwrap_or(Value::Null));
            q.result.insert(
                "ca_privatekey".into(),
                a.str("ownca_privatekey_path")?.map(Value::String).unwrap_or(Value::Null),
            );
        }
        let csr = match &csr_pem {
            Some(t) => Some(parse_csr(t).map_err(|e| ModuleError::failed(format!("cannot read the CSR: {e}")))?),
            None if cx.check_mode => None,
            None => return Err(a.error("csr_path or csr_content is required (a certificate is made from a CSR)")),
        };
        let ca_der = ca_pem.as_deref().map(pem_block).transpose().map_err(ModuleError::failed)?.map(|b| b.1);
        let existing = file.text.as_deref().and_then(|t| inspect(t, ca_der.as_deref()).ok());
        let own_key_spki =
            if ownca { None } else { key_pem.as_deref().and_then(|k| load_key(k).ok()).map(|k| k.spki()) };
        let ignore_ts = a.bool("ignore_timestamps", true)?;
        let fine = !a.bool("force", false)?
            && match (&existing, &csr) {
                (Some(e), Some(c)) => {
                    e.spki == c.spki
                        && own_key_spki.as_ref().map_or(true, |k| *k == e.spki)
                        && e.names == c.names
                        && e.signed_by != Some(false)
                        && (ignore_ts || (e.not_before == not_before && e.not_after == not_after))
                }
                _ => false,
            };
        if let Some(t) = file.text.as_deref().filter(|_| a.bool("return_content", false).unwrap_or(false)) {
            q.result.insert("certificate".into(), t.into());
        }
        let plan = if fine {
            let e = existing.as_ref().expect("fine implies existing");
            set_times(&mut q.result, e.not_before, e.not_after, e.serial.clone());
            attrs_query(&mut q, &path, &attrs, &file.facts)
        } else {
            set_times(&mut q.result, not_before, not_after, Value::Null);
            Some(write_or_remove(&path, true, backup, attrs, &file.facts))
        };
        if let Some(plan) = plan {
            q.changed = true;
            q.change = Change::new(Planned {
                ownca,
                csr_pem: csr_pem.unwrap_or_default(),
                key_pem: key_pem.unwrap_or_default(),
                ca_pem,
                not_before,
                not_after,
                plan,
            });
        }
        Ok(q)
    }

    async fn apply(&self, cx: &Ctx<'_>, args: &Map, mut q: Query) -> Result<Map, ModuleError> {
        let mut result = std::mem::take(&mut q.result);
        let p: Planned = q.change.take(self.0)?;
        let writes = matches!(p.plan, FilePlan::Write { .. });
        let mut made = None;
        let serial = rand::random::<u64>() >> 1 | 1;
        apply_plan(cx, p.plan, &mut result, || {
            let fail = |what: &str, e: String| ModuleError::failed(format!("cannot {what}: {e}"));
            let csr = parse_csr(&p.csr_pem).map_err(|e| fail("read the CSR", e))?;
            let key = load_key(&p.key_pem).map_err(|e| fail("read the signing key", e))?;
            let signer = key.signer().map_err(|e| fail("sign", e))?;
            let mut params = csr.names.params().map_err(|e| fail("sign", e))?;
            params.not_before =
                time::OffsetDateTime::from_unix_timestamp(p.not_before).map_err(|e| fail("sign", e.to_string()))?;
            params.not_after =
                time::OffsetDateTime::from_unix_timestamp(p.not_after).map_err(|e| fail("sign", e.to_string()))?;
            params.serial_number = Some(SerialNumber::from_slice(&serial.to_be_bytes()));
            let cert = if p.ownca {
                params.use_authority_key_identifier_extension = true;
                let issuer = Issuer::from_ca_cert_pem(p.ca_pem.as_deref().unwrap_or_default(), signer)
                    .map_err(|e| fail("read the CA certificate", e.to_string()))?;
                let public =
                    SubjectPublicKeyInfo::from_der(&csr.spki).map_err(|e| fail("read the CSR's key", e.to_string()))?;
                params.signed_by(&public, &issuer)
            } else {
                if key.spki() != csr.spki {
                    return Err(ModuleError::failed("the private key does not match the CSR's public key"));
                }
                params.self_signed(&signer)
            }
            .map_err(|e| fail("sign", e.to_string()))?;
            made = Some(cert.pem());
            Ok(cert.pem().into_bytes())
        })
        .await?;
        if writes {
            result.insert("serial_number".into(), serial.into());
        }
        if let Some(pem) = made.filter(|_| args.get("return_content").and_then(crate::value::to_bool) == Some(true)) {
            result.insert("certificate".into(), pem.into());
        }
        Ok(result)
    }
}

#[cfg(test)]
#[path = "x509_certificate_tests.rs"]
mod tests;
