//! `community.crypto.openssl_csr`: a certificate signing request on the task's host, signed
//! with `privatekey_path` (read from that host) or `privatekey_content`. The CSR is rewritten
//! when it is missing, unreadable, `force` is set, its subject or extensions (SANs, key
//! usages, extended key usages, basic constraints) differ from the arguments, or it is not for
//! the given key. Name constraints, OCSP must-staple, CRL distribution points, key identifiers
//! and passphrases are not supported natively and are refused when set. Criticality flags are
//! accepted; the extensions are written as rcgen writes them (key usage and basic constraints
//! critical), and they are not compared.

use async_trait::async_trait;

use super::args::{ArgSpec, Args};
use super::crypto_common::{apply_plan, attrs, attrs_query, load_key, read_host, write_or_remove, FilePlan, FILE_ARGS};
use super::crypto_x509::{parse_csr, Names};
use super::{Change, Ctx, Module, ModuleError, Query};
use crate::value::{Map, Value};

const OWN: &[&str] = &[
    "path",
    "state",
    "digest",
    "privatekey_path",
    "privatekey_content",
    "privatekey_passphrase",
    "version",
    "subject",
    "subject_ordering",
    "country_name",
    "state_or_province_name",
    "locality_name",
    "organization_name",
    "organizational_unit_name",
    "common_name",
    "email_address",
    "subject_alt_name",
    "subject_alt_name_critical",
    "use_common_name_for_san",
    "key_usage",
    "key_usage_critical",
    "extended_key_usage",
    "extended_key_usage_critical",
    "basic_constraints",
    "basic_constraints_critical",
    "ocsp_must_staple",
    "ocsp_must_staple_critical",
    "name_constraints_permitted",
    "name_constraints_excluded",
    "name_constraints_critical",
    "backup",
    "create_subject_key_identifier",
    "subject_key_identifier",
    "authority_key_identifier",
    "authority_cert_issuer",
    "authority_cert_serial_number",
    "crl_distribution_points",
    "select_crypto_backend",
    "return_content",
    "force",
];

const ALIASES: &[(&str, &str)] = &[
    ("C", "country_name"),
    ("countryName", "country_name"),
    ("ST", "state_or_province_name"),
    ("stateOrProvinceName", "state_or_province_name"),
    ("L", "locality_name"),
    ("localityName", "locality_name"),
    ("O", "organization_name"),
    ("organizationName", "organization_name"),
    ("OU", "organizational_unit_name"),
    ("organizationalUnitName", "organizational_unit_name"),
    ("CN", "common_name"),
    ("commonName", "common_name"),
    ("E", "email_address"),
    ("emailAddress", "email_address"),
    ("subjectAltName", "subject_alt_name"),
    ("subjectAltName_critical", "subject_alt_name_critical"),
    ("ucnfs", "use_common_name_for_san"),
    ("keyUsage", "key_usage"),
    ("keyUsage_critical", "key_usage_critical"),
    ("extKeyUsage", "extended_key_usage"),
    ("extendedKeyUsage", "extended_key_usage"),
    ("extKeyUsage_critical", "extended_key_usage_critical"),
    ("extendedKeyUsage_critical", "extended_key_usage_critical"),
    ("basicConstraints", "basic_constraints"),
    ("basicConstraints_critical", "basic_constraints_critical"),
    ("ocspMustStaple", "ocsp_must_staple"),
    ("ocspMustStaple_critical", "ocsp_must_staple_critical"),
];

const SPEC: ArgSpec = ArgSpec { names: &[OWN, FILE_ARGS], aliases: ALIASES, ..ArgSpec::NONE };

/// Arguments troupe refuses when they ask for something it does not write.
const UNSUPPORTED: &[&str] = &[
    "privatekey_passphrase",
    "email_address",
    "name_constraints_permitted",
    "name_constraints_excluded",
    "subject_key_identifier",
    "authority_key_identifier",
    "authority_cert_issuer",
    "authority_cert_serial_number",
    "crl_distribution_points",
];

pub struct OpensslCsr;

struct Planned {
    names: Names,
    key_pem: String,
    plan: FilePlan,
}

/// The private key's PEM: `privatekey_content`, or the file `privatekey_path` on the host.
pub async fn key_text(
    cx: &Ctx<'_>,
    a: &Args,
    path_arg: &str,
    content_arg: &str,
) -> Result<Option<String>, ModuleError> {
    if let Some(c) = a.str(content_arg)? {
        return Ok(Some(c));
    }
    let Some(path) = a.str(path_arg)? else { return Ok(None) };
    let f = read_host(cx, &path).await?;
    match f.text {
        Some(t) => Ok(Some(t)),
        None if cx.check_mode => Ok(None),
        None => Err(ModuleError::failed(format!("The private key file {path} does not exist"))),
    }
}

#[async_trait]
impl Module for OpensslCsr {
    fn name(&self) -> &'static str {
        "openssl_csr"
    }

    fn args(&self) -> Option<&'static ArgSpec> {
        Some(&SPEC)
    }

    async fn query(&self, cx: &Ctx<'_>, args: &Map) -> Result<Query, ModuleError> {
        let a = Args::parse("openssl_csr", args, &SPEC)?;
        for u in UNSUPPORTED {
            if a.get(u).is_some_and(|v| !v.is_null() && v != &Value::Array(vec![])) {
                return Err(a.error(format_args!("{u} is not supported natively by troupe")));
            }
        }
        if a.bool("ocsp_must_staple", false)? || a.bool("create_subject_key_identifier", false)? {
            return Err(
                a.error("ocsp_must_staple and create_subject_key_identifier are not supported natively by troupe")
            );
        }
        if a.str("digest")?.is_some_and(|d| d != "sha256") {
            return Err(a.error("only digest sha256 is supported natively"));
        }
        let path = a.req_str("path")?;
        let present = a.choice("state", &["present", "absent"])?.unwrap_or("present") == "present";
        let backup = a.bool("backup", false)?;
        let names = Names::from_args(&a)?;
        let file = read_host(cx, &path).await?;
        let mut q = Query::ok();
        q.result.insert("filename".into(), path.clone().into());
        q.result.insert("privatekey".into(), a.str("privatekey_path")?.map(Value::String).unwrap_or(Value::Null));
        names.insert_into(&mut q.result);
        let attrs = attrs(&a, None, false)?;
        if !present {
            if file.text.is_some() {
                q.changed = true;
                q.change = Change::new(Planned {
                    names,
                    key_pem: String::new(),
                    plan: write_or_remove(&path, false, backup, attrs, &file.facts),
                });
            }
            return Ok(q);
        }
        if a.get("privatekey_path").is_none() && a.get("privatekey_content").is_none() {
            return Err(a.error("one of the following is required: privatekey_path, privatekey_content"));
        }
        let key_pem = key_text(cx, &a, "privatekey_path", "privatekey_content").await?;
        let key = key_pem.as_deref().map(load_key).transpose().map_err(ModuleError::failed)?;
        let current = file.text.as_deref().and_then(|t| parse_csr(t).ok());
        let fine = !a.bool("force", false)?
            && current.as_ref().is_some_and(|c| c.names == names && key.as_ref().is_some_and(|k| k.spki() == c.spki));
        if let Some(t) = file.text.as_deref().filter(|_| a.bool("return_content", false).unwrap_or(false)) {
            q.result.insert("csr".into(), t.into());
        }
        let plan = if fine {
            attrs_query(&mut q, &path, &attrs, &file.facts)
        } else {
            Some(write_or_remove(&path, true, backup, attrs, &file.facts))
        };
        if let Some(plan) = plan {
            q.changed = true;
            q.change = Change::new(Planned { names, key_pem: key_pem.unwrap_or_default(), plan });
        }
        Ok(q)
    }

    async fn apply(&self, cx: &Ctx<'_>, args: &Map, mut q: Query) -> Result<Map, ModuleError> {
        let p: Planned = q.change.take("openssl_csr")?;
        let mut result = std::mem::take(&mut q.result);
        let mut made = None;
        apply_plan(cx, p.plan, &mut result, || {
            let key = load_key(&p.key_pem).map_err(ModuleError::failed)?;
            let signer = key.signer().map_err(ModuleError::failed)?;
            let params = p.names.params().map_err(ModuleError::failed)?;
            let csr = params
                .serialize_request(&signer)
                .and_then(|c| c.pem())
                .map_err(|e| ModuleError::failed(format!("cannot make the CSR: {e}")))?;
            made = Some(csr.clone());
            Ok(csr.into_bytes())
        })
        .await?;
        if let Some(csr) = made.filter(|_| args.get("return_content").and_then(crate::value::to_bool) == Some(true)) {
            result.insert("csr".into(), csr.into());
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::crypto_common::{generate_key, KeyType};
    use crate::modules::testutil::Harness;
    use serde_json::json;

    #[tokio::test]
    async fn writes_then_keeps_then_follows_the_arguments() {
        let tmp = tempfile::tempdir().unwrap();
        let key = tmp.path().join("k.key");
        std::fs::write(&key, generate_key(&KeyType::Ecc("secp256r1"), true).unwrap()).unwrap();
        let csr = tmp.path().join("r.csr");
        let h = Harness::new();
        let args = json!({"path": csr, "privatekey_path": key, "CN": "etcd-1", "organization_name": "pigsty",
                          "subject_alt_name": ["IP:127.0.0.1", "DNS:localhost"], "extKeyUsage": ["serverAuth"]});
        let (changed, res) = h.run(&OpensslCsr, args.clone()).await.unwrap();
        assert!(changed);
        assert_eq!(res["subject"], json!([["O", "pigsty"], ["CN", "etcd-1"]]));
        assert_eq!(res["subjectAltName"], json!(["IP:127.0.0.1", "DNS:localhost"]));
        let parsed = parse_csr(&std::fs::read_to_string(&csr).unwrap()).unwrap();
        assert!(parsed.names.ext_key_usage.contains("serverAuth"));
        assert!(!h.run(&OpensslCsr, args.clone()).await.unwrap().0, "second run keeps the CSR");
        let mut more = args.clone();
        more["subject_alt_name"] = json!(["IP:127.0.0.1"]);
        assert!(h.run(&OpensslCsr, more.clone()).await.unwrap().0, "SANs differ");
        assert!(!h.run(&OpensslCsr, more.clone()).await.unwrap().0);
        std::fs::write(&key, generate_key(&KeyType::Ecc("secp256r1"), true).unwrap()).unwrap();
        assert!(h.run(&OpensslCsr, more.clone()).await.unwrap().0, "another key");
        more["force"] = json!(true);
        assert!(h.run(&OpensslCsr, more.clone()).await.unwrap().0, "force always rewrites");
        let err =
            h.run(&OpensslCsr, json!({"path": csr, "privatekey_path": tmp.path().join("none")})).await.unwrap_err();
        assert!(err.to_string().contains("does not exist"));
        let err =
            h.run(&OpensslCsr, json!({"path": csr, "privatekey_path": key, "crl_distribution_points": [{}]})).await;
        assert!(err.unwrap_err().to_string().contains("not supported natively"));
    }

    #[tokio::test]
    async fn common_name_is_the_san_by_default() {
        let tmp = tempfile::tempdir().unwrap();
        let key = tmp.path().join("k.key");
        std::fs::write(&key, generate_key(&KeyType::Ed25519, true).unwrap()).unwrap();
        let h = Harness::new();
        let (_, res) = h
            .run(&OpensslCsr, json!({"path": tmp.path().join("c"), "privatekey_path": key, "common_name": "Web"}))
            .await
            .unwrap();
        assert_eq!(res["subjectAltName"], json!(["DNS:Web"]));
    }
}
