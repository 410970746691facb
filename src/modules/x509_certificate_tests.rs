use super::*;
use crate::modules::crypto_common::{generate_key, KeyType};
use crate::modules::openssl_csr::OpensslCsr;
use crate::modules::testutil::{mode_of, Harness};
use serde_json::json;

/// A CA (key, CSR with CA:TRUE, self-signed certificate) under `dir`.
async fn make_ca(h: &Harness, dir: &std::path::Path) {
    std::fs::write(dir.join("ca.key"), generate_key(&KeyType::Rsa(2048), false).unwrap()).unwrap();
    let csr = json!({"path": dir.join("ca.csr"), "privatekey_path": dir.join("ca.key"), "common_name": "pigsty-ca",
                     "basic_constraints": ["CA:TRUE"], "key_usage": ["keyCertSign", "cRLSign"], "use_common_name_for_san": false});
    h.run(&OpensslCsr, csr).await.unwrap();
    let ca = json!({"path": dir.join("ca.crt"), "csr_path": dir.join("ca.csr"), "privatekey_path": dir.join("ca.key"),
                    "provider": "selfsigned", "selfsigned_not_after": "+7300d"});
    let (changed, res) = h.run(&X509_CERTIFICATE, ca.clone()).await.unwrap();
    assert!(changed);
    assert!(res["serial_number"].is_u64());
    assert!(!h.run(&X509_CERTIFICATE, ca).await.unwrap().0, "the CA is kept");
    let e = inspect(&std::fs::read_to_string(dir.join("ca.crt")).unwrap(), None).unwrap();
    assert!(e.names.basic_constraints.contains("CA:TRUE"));
    assert_eq!(e.issuer_raw, e.subject_raw);
}

#[tokio::test]
async fn ownca_issues_once_and_follows_the_csr() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let h = Harness::new();
    make_ca(&h, d).await;
    std::fs::write(d.join("etcd-1.key"), generate_key(&KeyType::Rsa(2048), false).unwrap()).unwrap();
    let csr = json!({"path": d.join("etcd-1.csr"), "privatekey_path": d.join("etcd-1.key"), "common_name": "etcd-1",
                     "organization_name": "pigsty", "force": true,
                     "subject_alt_name": ["IP:127.0.0.1", "DNS:localhost"]});
    let cert = json!({"path": d.join("etcd-1.crt"), "csr_path": d.join("etcd-1.csr"), "ownca_path": d.join("ca.crt"),
                      "ownca_privatekey_path": d.join("ca.key"), "provider": "ownca",
                      "selfsigned_not_after": "+7300d", "mode": "0644"});
    assert!(h.run(&OpensslCsr, csr.clone()).await.unwrap().0);
    let (changed, res) = h.run(&OPENSSL_CERTIFICATE, cert.clone()).await.unwrap();
    assert!(changed);
    assert_eq!(res["filename"], json!(d.join("etcd-1.crt")));
    assert_eq!(res["ca_cert"], json!(d.join("ca.crt")));
    assert_eq!(mode_of(&d.join("etcd-1.crt")), 0o644);
    let ca_der = pem_block(&std::fs::read_to_string(d.join("ca.crt")).unwrap()).unwrap().1;
    let e = inspect(&std::fs::read_to_string(d.join("etcd-1.crt")).unwrap(), Some(&ca_der)).unwrap();
    assert_eq!(e.signed_by, Some(true));
    assert!(e.names.sans.contains("IP:127.0.0.1"));
    assert_eq!(e.not_after - e.not_before, 3650 * 86_400, "ownca_not_after applies, not selfsigned_not_after");
    assert!(h.run(&OpensslCsr, csr.clone()).await.unwrap().0, "force rewrites the CSR");
    let (changed, res) = h.run(&OPENSSL_CERTIFICATE, cert.clone()).await.unwrap();
    assert!(!changed, "same key, subject and extensions: kept {res:?}");
    assert_eq!(res["serial_number"], e.serial);

    let mut other = csr.clone();
    other["subject_alt_name"] = json!(["IP:10.0.0.1"]);
    h.run(&OpensslCsr, other).await.unwrap();
    assert!(h.run(&OPENSSL_CERTIFICATE, cert.clone()).await.unwrap().0, "the CSR's SANs changed");
    assert!(!h.run(&OPENSSL_CERTIFICATE, cert.clone()).await.unwrap().0);

    let mut strict = cert.clone();
    strict["ignore_timestamps"] = json!(false);
    strict["ownca_not_before"] = json!("20200101000000Z");
    strict["ownca_not_after"] = json!("20400101000000Z");
    let (changed, res) = h.run(&OPENSSL_CERTIFICATE, strict.clone()).await.unwrap();
    assert!(changed, "the times differ");
    assert_eq!(
        (res["notBefore"].as_str(), res["notAfter"].as_str()),
        (Some("20200101000000Z"), Some("20400101000000Z"))
    );
    assert!(!h.run(&OPENSSL_CERTIFICATE, strict).await.unwrap().0, "absolute times match");
}

#[tokio::test]
async fn check_mode_and_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let mut h = Harness::new();
    let cert = json!({"path": d.join("c.crt"), "csr_path": d.join("none.csr"), "provider": "ownca",
                      "ownca_path": d.join("ca.crt"), "ownca_privatekey_path": d.join("ca.key")});
    let err = h.run(&X509_CERTIFICATE, cert.clone()).await.unwrap_err().to_string();
    assert!(err.contains("does not exist"), "{err}");
    h.check_mode = true;
    assert!(h.run(&X509_CERTIFICATE, cert.clone()).await.unwrap().0);
    assert!(!d.join("c.crt").exists());
    let mut acme = cert.clone();
    acme["provider"] = json!("acme");
    assert!(h.run(&X509_CERTIFICATE, acme).await.unwrap_err().to_string().contains("not supported natively"));
    let mut none = cert.clone();
    none.as_object_mut().unwrap().remove("provider");
    assert!(h.run(&X509_CERTIFICATE, none).await.unwrap_err().to_string().contains("provider"));
}
