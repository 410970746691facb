//! Subjects and extensions of CSRs and certificates as community.crypto spells them
//! (`IP:10.0.0.1`, `DNS:a`, `digitalSignature`, `serverAuth`, `CA:TRUE`), for openssl_csr,
//! x509_certificate and x509_certificate_info: what the arguments ask for, what a DER file
//! holds, and the rcgen parameters that make it.

use std::collections::BTreeSet;
use std::net::IpAddr;

use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose, SanType};
use x509_parser::extensions::{GeneralName, ParsedExtension, X509Extension};
use x509_parser::x509::X509Name;

use super::args::Args;
use super::crypto_common::NAME_FIELDS;
use super::ModuleError;
use crate::value::{Map, Value};

/// Key usages: (community.crypto name, the long form it also accepts, rcgen purpose).
const KEY_USAGES: &[(&str, &str, KeyUsagePurpose)] = &[
    ("digitalSignature", "Digital Signature", KeyUsagePurpose::DigitalSignature),
    ("nonRepudiation", "Non Repudiation", KeyUsagePurpose::ContentCommitment),
    ("keyEncipherment", "Key Encipherment", KeyUsagePurpose::KeyEncipherment),
    ("dataEncipherment", "Data Encipherment", KeyUsagePurpose::DataEncipherment),
    ("keyAgreement", "Key Agreement", KeyUsagePurpose::KeyAgreement),
    ("keyCertSign", "Certificate Sign", KeyUsagePurpose::KeyCertSign),
    ("cRLSign", "CRL Sign", KeyUsagePurpose::CrlSign),
    ("encipherOnly", "Encipher Only", KeyUsagePurpose::EncipherOnly),
    ("decipherOnly", "Decipher Only", KeyUsagePurpose::DecipherOnly),
];

const EXT_KEY_USAGES: &[(&str, &str, ExtendedKeyUsagePurpose)] = &[
    ("serverAuth", "TLS Web Server Authentication", ExtendedKeyUsagePurpose::ServerAuth),
    ("clientAuth", "TLS Web Client Authentication", ExtendedKeyUsagePurpose::ClientAuth),
    ("codeSigning", "Code Signing", ExtendedKeyUsagePurpose::CodeSigning),
    ("emailProtection", "E-mail Protection", ExtendedKeyUsagePurpose::EmailProtection),
    ("timeStamping", "Time Stamping", ExtendedKeyUsagePurpose::TimeStamping),
    ("OCSPSigning", "OCSP Signing", ExtendedKeyUsagePurpose::OcspSigning),
    ("anyExtendedKeyUsage", "Any Extended Key Usage", ExtendedKeyUsagePurpose::Any),
];

/// What a CSR (or a certificate made from it) should say about its subject.
#[derive(Debug, Clone, Default)]
pub struct Names {
    /// (short name, value), in order.
    pub subject: Vec<(String, String)>,
    /// `DNS:x`, `IP:1.2.3.4`, `email:a@b`, `URI:u` (IPs in canonical form).
    pub sans: BTreeSet<String>,
    pub key_usage: BTreeSet<String>,
    pub ext_key_usage: BTreeSet<String>,
    /// `CA:TRUE`/`CA:FALSE`, `pathlen:N`.
    pub basic_constraints: BTreeSet<String>,
    /// The SANs in the order given or found (written and returned in it; compared as a set).
    pub san_order: Vec<String>,
}

impl PartialEq for Names {
    fn eq(&self, o: &Names) -> bool {
        (&self.subject, &self.sans, &self.key_usage, &self.ext_key_usage, &self.basic_constraints)
            == (&o.subject, &o.sans, &o.key_usage, &o.ext_key_usage, &o.basic_constraints)
    }
}

impl Names {
    fn add_san(&mut self, san: String) {
        if self.sans.insert(san.clone()) {
            self.san_order.push(san);
        }
    }
}

fn canonical(
    table: &[(&'static str, &'static str, impl Clone)],
    given: &str,
    what: &str,
) -> Result<&'static str, String> {
    let squash = |s: &str| s.replace(' ', "").to_ascii_lowercase();
    table
        .iter()
        .find(|(short, long, _)| squash(short) == squash(given) || squash(long) == squash(given))
        .map(|(short, _, _)| *short)
        .ok_or_else(|| format!("{what} {given:?} is not supported natively"))
}

/// `IP:…`/`DNS:…` in one spelling (the type as community.crypto writes it, IPs canonical).
pub fn normalise_san(s: &str) -> Result<String, String> {
    let (kind, value) =
        s.split_once(':').ok_or_else(|| format!("subject_alt_name {s:?} needs a type (DNS:, IP:, email:, URI:)"))?;
    match kind.trim().to_ascii_uppercase().as_str() {
        "DNS" => Ok(format!("DNS:{}", value.trim())),
        "IP" => value
            .trim()
            .parse::<IpAddr>()
            .map(|ip| format!("IP:{ip}"))
            .map_err(|_| format!("{s:?} is not an IP address")),
        "EMAIL" => Ok(format!("email:{}", value.trim())),
        "URI" => Ok(format!("URI:{}", value.trim())),
        other => Err(format!("subject_alt_name type {other} is not supported natively")),
    }
}

impl Names {
    /// The subject and extension arguments of openssl_csr.
    pub fn from_args(a: &Args) -> Result<Names, ModuleError> {
        let mut n = Names::default();
        let mut fields: Vec<(&str, Option<String>)> = vec![
            ("C", a.str("country_name")?),
            ("ST", a.str("state_or_province_name")?),
            ("L", a.str("locality_name")?),
            ("O", a.str("organization_name")?),
            ("OU", a.str("organizational_unit_name")?),
            ("CN", a.str("common_name")?),
        ];
        if let Some(Value::Object(subject)) = a.get("subject") {
            for (k, v) in subject {
                let short = NAME_FIELDS
                    .iter()
                    .find(|(s, l, _)| s.eq_ignore_ascii_case(k) || l.eq_ignore_ascii_case(k))
                    .map(|(s, _, _)| *s)
                    .ok_or_else(|| a.error(format_args!("subject field {k} is not supported natively")))?;
                fields.push((short, Some(crate::value::to_text(v))));
            }
        }
        n.subject = fields.into_iter().filter_map(|(k, v)| v.map(|v| (k.to_string(), v))).collect();
        for s in a.list("subject_alt_name")?.unwrap_or_default() {
            n.add_san(normalise_san(&s).map_err(|e| a.error(e))?);
        }
        if n.sans.is_empty() && a.bool("use_common_name_for_san", true)? {
            if let Some((_, cn)) = n.subject.iter().find(|(k, _)| k == "CN") {
                let san = format!("DNS:{cn}");
                n.add_san(san);
            }
        }
        for s in a.list("key_usage")?.unwrap_or_default() {
            n.key_usage.insert(canonical(KEY_USAGES, &s, "key_usage").map_err(|e| a.error(e))?.to_string());
        }
        for s in a.list("extended_key_usage")?.unwrap_or_default() {
            n.ext_key_usage
                .insert(canonical(EXT_KEY_USAGES, &s, "extended_key_usage").map_err(|e| a.error(e))?.to_string());
        }
        for s in a.list("basic_constraints")?.unwrap_or_default() {
            let t = s.replace(' ', "");
            let norm = match t.split_once(':') {
                Some((k, v)) if k.eq_ignore_ascii_case("CA") => format!("CA:{}", v.to_ascii_uppercase()),
                Some((k, v)) if k.eq_ignore_ascii_case("pathlen") => format!("pathlen:{v}"),
                _ => return Err(a.error(format_args!("basic_constraints entry {s:?} is not CA:… or pathlen:…"))),
            };
            n.basic_constraints.insert(norm);
        }
        Ok(n)
    }

    /// What a parsed subject and extension list say.
    pub fn from_parsed<'a>(subject: &X509Name<'_>, exts: impl Iterator<Item = &'a X509Extension<'a>>) -> Names {
        let mut n = Names::default();
        for rdn in subject.iter() {
            for attr in rdn.iter() {
                let oid = attr.attr_type().to_id_string();
                let short =
                    NAME_FIELDS.iter().find(|(_, _, t)| dn_oid(t) == oid).map(|(s, _, _)| s.to_string()).unwrap_or(oid);
                n.subject.push((short, attr.as_str().unwrap_or_default().to_string()));
            }
        }
        for ext in exts {
            match ext.parsed_extension() {
                ParsedExtension::SubjectAlternativeName(san) => {
                    for g in &san.general_names {
                        let s = match g {
                            GeneralName::DNSName(d) => format!("DNS:{d}"),
                            GeneralName::RFC822Name(e) => format!("email:{e}"),
                            GeneralName::URI(u) => format!("URI:{u}"),
                            GeneralName::IPAddress(b) => match b.len() {
                                4 => format!("IP:{}", IpAddr::from(<[u8; 4]>::try_from(*b).unwrap_or_default())),
                                16 => format!("IP:{}", IpAddr::from(<[u8; 16]>::try_from(*b).unwrap_or_default())),
                                _ => continue,
                            },
                            _ => continue,
                        };
                        n.add_san(s);
                    }
                }
                ParsedExtension::KeyUsage(ku) => {
                    let flags = [
                        ku.digital_signature(),
                        ku.non_repudiation(),
                        ku.key_encipherment(),
                        ku.data_encipherment(),
                        ku.key_agreement(),
                        ku.key_cert_sign(),
                        ku.crl_sign(),
                        ku.encipher_only(),
                        ku.decipher_only(),
                    ];
                    for (i, on) in flags.iter().enumerate() {
                        if *on {
                            n.key_usage.insert(KEY_USAGES[i].0.to_string());
                        }
                    }
                }
                ParsedExtension::ExtendedKeyUsage(e) => {
                    let flags = [
                        e.server_auth,
                        e.client_auth,
                        e.code_signing,
                        e.email_protection,
                        e.time_stamping,
                        e.ocsp_signing,
                        e.any,
                    ];
                    for (i, on) in flags.iter().enumerate() {
                        if *on {
                            n.ext_key_usage.insert(EXT_KEY_USAGES[i].0.to_string());
                        }
                    }
                }
                ParsedExtension::BasicConstraints(bc) => {
                    n.basic_constraints.insert(if bc.ca { "CA:TRUE".into() } else { "CA:FALSE".into() });
                    if let Some(p) = bc.path_len_constraint {
                        n.basic_constraints.insert(format!("pathlen:{p}"));
                    }
                }
                _ => {}
            }
        }
        n
    }

    /// rcgen parameters carrying this subject and these extensions.
    pub fn params(&self) -> Result<CertificateParams, String> {
        let mut p = CertificateParams::default();
        p.distinguished_name = rcgen::DistinguishedName::new();
        for (k, v) in &self.subject {
            let t = NAME_FIELDS
                .iter()
                .find(|(s, _, _)| s == k)
                .map(|(_, _, t)| t.clone())
                .ok_or(format!("subject field {k}"))?;
            p.distinguished_name.push(t, v.as_str());
        }
        for s in &self.san_order {
            let (kind, value) = s.split_once(':').unwrap_or(("DNS", s));
            let san = match kind {
                "IP" => SanType::IpAddress(value.parse().map_err(|_| format!("{s} is not an IP address"))?),
                "email" => SanType::Rfc822Name(value.try_into().map_err(|e| format!("{s}: {e}"))?),
                "URI" => SanType::URI(value.try_into().map_err(|e| format!("{s}: {e}"))?),
                _ => SanType::DnsName(value.try_into().map_err(|e| format!("{s}: {e}"))?),
            };
            p.subject_alt_names.push(san);
        }
        for k in &self.key_usage {
            if let Some((_, _, u)) = KEY_USAGES.iter().find(|(s, _, _)| s == k) {
                p.key_usages.push(*u);
            }
        }
        for k in &self.ext_key_usage {
            if let Some((_, _, u)) = EXT_KEY_USAGES.iter().find(|(s, _, _)| s == k) {
                p.extended_key_usages.push(u.clone());
            }
        }
        if self.basic_constraints.contains("CA:TRUE") {
            let len =
                self.basic_constraints.iter().find_map(|c| c.strip_prefix("pathlen:")).and_then(|l| l.parse().ok());
            p.is_ca = IsCa::Ca(len.map(BasicConstraints::Constrained).unwrap_or(BasicConstraints::Unconstrained));
        } else if self.basic_constraints.contains("CA:FALSE") {
            p.is_ca = IsCa::ExplicitNoCa;
        }
        Ok(p)
    }

    /// The result values openssl_csr returns.
    pub fn insert_into(&self, m: &mut Map) {
        // Absent extensions are null, as community.crypto returns them.
        let list = |s: &BTreeSet<String>| match s.is_empty() {
            true => Value::Null,
            false => Value::Array(s.iter().cloned().map(Value::String).collect()),
        };
        m.insert(
            "subject".into(),
            Value::Array(
                self.subject.iter().map(|(k, v)| Value::Array(vec![k.clone().into(), v.clone().into()])).collect(),
            ),
        );
        m.insert(
            "subjectAltName".into(),
            match self.san_order.is_empty() {
                true => Value::Null,
                false => Value::Array(self.san_order.iter().cloned().map(Value::String).collect()),
            },
        );
        m.insert("keyUsage".into(), list(&self.key_usage));
        m.insert("extendedKeyUsage".into(), list(&self.ext_key_usage));
        m.insert("basicConstraints".into(), list(&self.basic_constraints));
        m.insert("ocspMustStaple".into(), false.into());
        m.insert("name_constraints_permitted".into(), Value::Array(vec![]));
        m.insert("name_constraints_excluded".into(), Value::Array(vec![]));
    }
}

fn dn_oid(t: &DnType) -> String {
    match t {
        DnType::CommonName => "2.5.4.3",
        DnType::CountryName => "2.5.4.6",
        DnType::LocalityName => "2.5.4.7",
        DnType::StateOrProvinceName => "2.5.4.8",
        DnType::OrganizationName => "2.5.4.10",
        DnType::OrganizationalUnitName => "2.5.4.11",
        _ => "",
    }
    .to_string()
}

/// A CSR read from PEM: what it says, and its public key (SubjectPublicKeyInfo DER).
pub struct Csr {
    pub names: Names,
    pub spki: Vec<u8>,
    /// The DER, for rcgen to sign.
    pub der: Vec<u8>,
}

pub fn parse_csr(pem_text: &str) -> Result<Csr, String> {
    use x509_parser::prelude::FromDer;
    let (label, der) = super::crypto_common::pem_block(pem_text)?;
    if !label.contains("CERTIFICATE REQUEST") {
        return Err(format!("expected a CERTIFICATE REQUEST, found {label}"));
    }
    let (_, csr) = x509_parser::certification_request::X509CertificationRequest::from_der(&der)
        .map_err(|e| format!("not a certificate signing request: {e}"))?;
    csr.verify_signature().map_err(|_| "the CSR's signature is invalid".to_string())?;
    let info = &csr.certification_request_info;
    let names = Names::from_parsed(&info.subject, ext_list(&csr).into_iter());
    Ok(Csr { names, spki: info.subject_pki.raw.to_vec(), der: der.clone() })
}

fn ext_list<'a>(
    csr: &'a x509_parser::certification_request::X509CertificationRequest<'a>,
) -> Vec<&'a X509Extension<'a>> {
    let mut v = Vec::new();
    for attr in csr.certification_request_info.iter_attributes() {
        if let x509_parser::cri_attributes::ParsedCriAttribute::ExtensionRequest(req) = attr.parsed_attribute() {
            v.extend(req.extensions.iter());
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sans_and_names() {
        assert_eq!(normalise_san("IP:10.0.0.01").ok(), None);
        assert_eq!(normalise_san("ip: ::0:1").unwrap(), "IP:::1");
        assert_eq!(normalise_san("dns: Etcd-1").unwrap(), "DNS:Etcd-1");
        assert!(normalise_san("localhost").is_err());
        assert_eq!(canonical(KEY_USAGES, "Digital Signature", "k"), Ok("digitalSignature"));
        assert_eq!(canonical(EXT_KEY_USAGES, "TLS Web Server Authentication", "e"), Ok("serverAuth"));
        assert!(canonical(EXT_KEY_USAGES, "1.2.3", "e").is_err());
    }

    #[test]
    fn params_round_trip_through_a_csr() {
        let mut n =
            Names { subject: vec![("CN".into(), "etcd-1".into()), ("O".into(), "pigsty".into())], ..Names::default() };
        n.add_san("IP:127.0.0.1".into());
        n.add_san("DNS:localhost".into());
        n.key_usage.insert("digitalSignature".into());
        n.ext_key_usage.insert("serverAuth".into());
        n.basic_constraints.insert("CA:FALSE".into());
        let key = rcgen::KeyPair::generate().unwrap();
        let csr = n.params().unwrap().serialize_request(&key).unwrap().pem().unwrap();
        let parsed = parse_csr(&csr).unwrap();
        assert_eq!(parsed.names, n);
        assert_eq!(parsed.names.san_order, ["IP:127.0.0.1", "DNS:localhost"], "order kept");
        assert_eq!(parsed.spki, rcgen::PublicKeyData::subject_public_key_info(&key));
    }
}
