//! `community.crypto.openssl_privatekey_info` and `x509_certificate_info`: what a key or a
//! certificate on the task's host (`path`) or given inline (`content`) says, read by troupe.
//! The fields are community.crypto's; those troupe does not compute (policies, OCSP, issuer
//! URIs, private key numbers) are absent. `openssl_dhparam` makes DH parameters with the
//! host's `openssl`, as community.crypto's `openssl` backend does (native safe-prime search
//! would take minutes in Rust too), and keeps an existing file of the right size.

use async_trait::async_trait;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::args::{ArgSpec, Args};
use super::crypto_common::{asn1_time, fingerprints, load_key, pem_block, read_host, KeyType, NAME_FIELDS};
use super::crypto_x509::Names;
use super::script_out::run_ok;
use super::{Change, Ctx, Module, ModuleError, Query};
use crate::connection::{quote, Cmd};
use crate::value::{Map, Value};

const KEY_SPEC: ArgSpec = ArgSpec {
    names: &[&[
        "path",
        "content",
        "passphrase",
        "return_private_key_data",
        "check_consistency",
        "select_crypto_backend",
    ]],
    ..ArgSpec::NONE
};
const CERT_SPEC: ArgSpec =
    ArgSpec { names: &[&["path", "content", "valid_at", "select_crypto_backend", "name_encoding"]], ..ArgSpec::NONE };
const DH_SPEC: ArgSpec = ArgSpec {
    names: &[
        &["path", "state", "size", "force", "backup", "return_content", "select_crypto_backend"],
        super::crypto_common::FILE_ARGS,
    ],
    ..ArgSpec::NONE
};

pub struct OpensslPrivatekeyInfo;
pub struct X509CertificateInfo;
pub struct OpensslDhparam;

/// `path` read on the host, or `content`.
async fn input(cx: &Ctx<'_>, a: &Args) -> Result<String, ModuleError> {
    if let Some(c) = a.str("content")? {
        return Ok(c);
    }
    let path = a.str("path")?.ok_or_else(|| a.error("one of the following is required: path, content"))?;
    read_host(cx, &path)
        .await?
        .text
        .ok_or_else(|| ModuleError::failed(format!("Error while reading file {path}: not found")))
}

fn public_pem(spki: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(spki);
    let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect();
    format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", lines.join("\n"))
}

fn public_data(kind: &KeyType) -> Value {
    let mut m = Map::new();
    m.insert("size".into(), kind.size().into());
    if let KeyType::Ecc(c) = kind {
        m.insert("curve".into(), (*c).into());
    }
    Value::Object(m)
}

#[async_trait]
impl Module for OpensslPrivatekeyInfo {
    fn name(&self) -> &'static str {
        "openssl_privatekey_info"
    }
    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&KEY_SPEC)
    }
    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("openssl_privatekey_info", args, &KEY_SPEC)?;
        if a.str("passphrase")?.is_some() {
            return Err(a.error("passphrase-protected keys are not supported natively by troupe"));
        }
        let text = input(cx, &a).await?;
        let mut q = Query::ok();
        match load_key(&text) {
            Err(e) => {
                q.result.insert("can_load_key".into(), false.into());
                q.result.insert("can_parse_key".into(), false.into());
                q.result.insert("key_is_consistent".into(), Value::Null);
                return Err(ModuleError::Failed {
                    msg: format!("Error while loading private key: {e}"),
                    result: q.result,
                });
            }
            Ok(k) => {
                q.result.insert("can_load_key".into(), true.into());
                q.result.insert("can_parse_key".into(), true.into());
                let consistent =
                    if a.bool("check_consistency", false)? { Value::Bool(k.signer().is_ok()) } else { Value::Null };
                q.result.insert("key_is_consistent".into(), consistent);
                q.result.insert("public_key".into(), public_pem(&k.spki()).into());
                q.result.insert("public_key_fingerprints".into(), fingerprints(&k.spki()));
                q.result.insert("type".into(), k.kind.name().into());
                q.result.insert("public_data".into(), public_data(&k.kind));
            }
        }
        Ok(q)
    }
}

fn name_dict(names: &[(String, String)]) -> Value {
    let mut m = Map::new();
    for (k, v) in names {
        let long = NAME_FIELDS.iter().find(|(s, _, _)| s == k).map_or(k.as_str(), |(_, l, _)| *l);
        m.insert(long.into(), v.clone().into());
    }
    Value::Object(m)
}

#[async_trait]
impl Module for X509CertificateInfo {
    fn name(&self) -> &'static str {
        "x509_certificate_info"
    }
    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&CERT_SPEC)
    }
    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("x509_certificate_info", args, &CERT_SPEC)?;
        let text = input(cx, &a).await?;
        let (_, der) =
            pem_block(&text).map_err(|e| ModuleError::failed(format!("Error while decoding certificate: {e}")))?;
        let (_, cert) = X509Certificate::from_der(&der)
            .map_err(|e| ModuleError::failed(format!("Error while decoding certificate: {e}")))?;
        let names = Names::from_parsed(cert.subject(), cert.extensions().iter());
        let issuer = Names::from_parsed(cert.issuer(), std::iter::empty());
        let list = |s: &std::collections::BTreeSet<String>| match s.is_empty() {
            true => Value::Null,
            false => Value::Array(s.iter().cloned().map(Value::from).collect()),
        };
        let not_after = cert.validity().not_after.timestamp();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let spki = cert.public_key().raw.to_vec();
        let mut r = Map::new();
        r.insert("subject".into(), name_dict(&names.subject));
        r.insert(
            "subject_ordered".into(),
            Value::Array(
                names.subject.iter().map(|(k, v)| Value::Array(vec![k.clone().into(), v.clone().into()])).collect(),
            ),
        );
        r.insert("issuer".into(), name_dict(&issuer.subject));
        r.insert("not_before".into(), asn1_time(cert.validity().not_before.timestamp()).into());
        r.insert("not_after".into(), asn1_time(not_after).into());
        r.insert("expired".into(), (not_after < now).into());
        r.insert(
            "serial_number".into(),
            u64::try_from(cert.serial.clone()).map(Value::from).unwrap_or_else(|_| cert.serial.to_string().into()),
        );
        r.insert("version".into(), (cert.version().0 + 1).into());
        r.insert("fingerprints".into(), fingerprints(&der));
        r.insert("public_key".into(), public_pem(&spki).into());
        r.insert("public_key_fingerprints".into(), fingerprints(&spki));
        r.insert(
            "subject_alt_name".into(),
            if names.san_order.is_empty() {
                Value::Null
            } else {
                names.san_order.iter().cloned().map(Value::from).collect()
            },
        );
        r.insert("key_usage".into(), list(&names.key_usage));
        r.insert("extended_key_usage".into(), list(&names.ext_key_usage));
        r.insert("basic_constraints".into(), list(&names.basic_constraints));
        let mut q = Query::ok();
        q.result = r;
        Ok(q)
    }
}

/// The prime's size in bits of PEM DH parameters (`SEQUENCE { INTEGER p, INTEGER g }`).
pub fn dh_bits(pem_text: &str) -> Option<usize> {
    let (label, der) = pem_block(pem_text).ok()?;
    if label != "DH PARAMETERS" {
        return None;
    }
    let (_, obj) = x509_parser::der_parser::parse_der(&der).ok()?;
    let seq = obj.as_sequence().ok()?;
    let p = seq.first()?.as_slice().ok()?;
    let p: Vec<u8> = p.iter().copied().skip_while(|b| *b == 0).collect();
    Some(p.len() * 8 - p.first().map_or(0, |b| b.leading_zeros() as usize))
}

#[async_trait]
impl Module for OpensslDhparam {
    fn name(&self) -> &'static str {
        "openssl_dhparam"
    }
    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&DH_SPEC)
    }
    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("openssl_dhparam", args, &DH_SPEC)?;
        let path = a.req_str("path")?;
        let present = a.choice("state", &["present", "absent"])?.unwrap_or("present") == "present";
        let size = a.int("size")?.unwrap_or(4096);
        let file = read_host(cx, &path).await?;
        let mut q = Query::ok();
        q.result.insert("filename".into(), path.clone().into());
        q.result.insert("size".into(), size.into());
        let attrs = super::crypto_common::attrs(&a, None, false)?;
        let plan = if !present {
            file.text.is_some().then(|| format!("rm -f -- {}", quote(&path)))
        } else if a.bool("force", false)? || file.text.as_deref().and_then(dh_bits) != Some(size as usize) {
            let p = quote(&path);
            let t = quote(&format!("{path}.troupe-tmp"));
            Some(format!("openssl dhparam -out {t} {size} 2>/dev/null || {{ rm -f -- {t}; echo 'openssl dhparam failed' >&2; exit 1; }}\n{}mv -f -- {t} {p}", attrs.script(&t, false)))
        } else {
            let differ = attrs.differing(&file.facts);
            (!differ.is_empty()).then(|| differ.script(&quote(&path), false))
        };
        if let Some(t) = file.text.as_deref().filter(|_| a.bool("return_content", false).unwrap_or(false)) {
            q.result.insert("dhparams".into(), t.into());
        }
        if let Some(script) = plan {
            q.changed = true;
            q.change = Change::new(script);
        }
        Ok(q)
    }
    async fn apply(&self, cx: &Ctx<'_>, _args: &Map, mut q: Query) -> Result<Map, ModuleError> {
        let script: String = q.change.take("openssl_dhparam")?;
        run_ok(cx, Cmd::new(format!("set -e\n{script}")), "making the DH parameters failed").await?;
        Ok(std::mem::take(&mut q.result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::crypto_common::generate_key;
    use crate::modules::testutil::Harness;
    use serde_json::json;

    #[tokio::test]
    async fn key_and_certificate_info() {
        let h = Harness::new();
        let pem = generate_key(&KeyType::Ecc("secp256r1"), true).unwrap();
        let (changed, r) = h.run(&OpensslPrivatekeyInfo, json!({"content": pem})).await.unwrap();
        assert!(!changed);
        assert_eq!((r["type"].clone(), r["public_data"]["curve"].clone()), (json!("ECC"), json!("secp256r1")));
        assert!(r["public_key"].as_str().unwrap().starts_with("-----BEGIN PUBLIC KEY-----\n"));
        let err = h.run(&OpensslPrivatekeyInfo, json!({"content": "junk"})).await.unwrap_err();
        assert!(err.to_string().starts_with("Error while loading private key"));

        let key = rcgen::KeyPair::generate().unwrap();
        let mut p = rcgen::CertificateParams::new(vec!["a.example".into()]).unwrap();
        p.distinguished_name.push(rcgen::DnType::CommonName, "a");
        let cert = p.self_signed(&key).unwrap().pem();
        let (_, r) = h.run(&X509CertificateInfo, json!({"content": cert})).await.unwrap();
        assert_eq!(r["subject"], json!({"commonName": "a"}));
        assert_eq!(r["subject_alt_name"], json!(["DNS:a.example"]));
        assert_eq!(r["expired"], false);
        assert_eq!(r["version"], 3);
    }

    #[test]
    fn dh_sizes() {
        // 512-bit parameters made with `openssl dhparam 512`.
        let pem = "-----BEGIN DH PARAMETERS-----\nMEYCQQDZIngNxq8A+CKYy6tQ7eTkG4Ul/dbJhOsMxePgQkAMW1gJazksFSP+Dics\nGRQHUfxkHd2+ZSNRgVXb6F7GgF4/AgEC\n-----END DH PARAMETERS-----\n";
        assert_eq!(dh_bits(pem), Some(512));
        assert_eq!(dh_bits("junk"), None);
    }
}
