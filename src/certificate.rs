//! The server's TLS certificate, read for what an operator watches: when it expires.
//! Takes PEM bytes, wherever they come from (`server.tls_cert`, or certificates the
//! server obtains itself), and parses them with `x509-parser`: no ASN.1 by hand.

/// A certificate file that could not be read as one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// No `-----BEGIN CERTIFICATE-----` block in it.
    #[error("it holds no PEM certificate (-----BEGIN CERTIFICATE-----)")]
    NoCertificate,
    /// A PEM block that is not well-formed.
    #[error("its PEM is damaged: {0}")]
    Pem(String),
    /// A certificate block whose contents are not an X.509 certificate.
    #[error("its first certificate is not a readable X.509 certificate: {0}")]
    X509(String),
}

/// When the first certificate in `pem` stops being valid (its `notAfter`), in Unix
/// seconds. The first is the server's own: a chain file lists the leaf first, then the
/// certificates that signed it. Blocks of other kinds (a private key in the same file)
/// are skipped.
pub fn expiry(pem: &[u8]) -> Result<i64, CertificateError> {
    use x509_parser::pem::Pem;
    for block in Pem::iter_from_buffer(pem) {
        let block = block.map_err(|e| CertificateError::Pem(e.to_string()))?;
        if block.label != "CERTIFICATE" {
            continue;
        }
        let certificate = block
            .parse_x509()
            .map_err(|e| CertificateError::X509(e.to_string()))?;
        return Ok(certificate.validity().not_after.timestamp());
    }
    Err(CertificateError::NoCertificate)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{FIXTURES}/{name}")).unwrap()
    }

    #[test]
    fn the_first_certificates_expiry_is_read() {
        // `openssl x509 -enddate`: Oct 30 20:51:30 2126 GMT, and Nov  1 18:18:50 2126 GMT.
        let leaf = expiry(&fixture("tls-cert.pem")).unwrap();
        assert_eq!(leaf, 4_949_067_090);
        let other = expiry(&fixture("tls-cert-2.pem")).unwrap();
        assert_eq!(other, 4_949_230_730);
        // A key before the chain, then the leaf and its CA: the leaf's date.
        let mut chain = fixture("tls-key-2.pem");
        chain.extend_from_slice(&fixture("tls-cert-2.pem"));
        chain.extend_from_slice(&fixture("tls-ca.pem"));
        assert_eq!(expiry(&chain).unwrap(), other);
    }

    #[test]
    fn anything_else_is_refused_with_a_reason() {
        assert!(matches!(
            expiry(b"not a certificate"),
            Err(CertificateError::NoCertificate)
        ));
        assert!(matches!(
            expiry(&fixture("tls-key.pem")),
            Err(CertificateError::NoCertificate)
        ));
        let junk = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(matches!(expiry(junk), Err(CertificateError::X509(_))));
        let cut = b"-----BEGIN CERTIFICATE-----\nAAAA\n";
        assert!(matches!(expiry(cut), Err(CertificateError::Pem(_))));
    }
}
