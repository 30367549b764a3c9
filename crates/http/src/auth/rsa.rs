//! RS256 signature checks with ring, installed as jsonwebtoken's crypto provider.
//!
//! jsonwebtoken's RustCrypto backend spends about 465 µs on one RSA-2048 check on this
//! project's benchmark machine — the whole cost of an authenticated request. ring does the same
//! check an order of magnitude faster. Everything else (other algorithms, signing, JWK key
//! utilities) stays with the RustCrypto backend; only RS256 is ever accepted anyway.

use std::sync::OnceLock;

use jsonwebtoken::crypto::{CryptoProvider, JwtVerifier, rust_crypto};
use jsonwebtoken::errors::{ErrorKind, Result as JwtResult};
use jsonwebtoken::signature::{self, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind};
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents, UnparsedPublicKey};

/// Makes ring check RS256 signatures for the whole process. Idempotent; when another
/// provider was installed (or jsonwebtoken already chose its default) that one stays, and
/// tokens are still checked, only more slowly.
pub fn install_crypto_provider() {
    static PROVIDER: OnceLock<CryptoProvider> = OnceLock::new();
    let provider = PROVIDER.get_or_init(|| CryptoProvider {
        verifier_factory: new_verifier,
        ..rust_crypto::DEFAULT_PROVIDER.clone()
    });
    if provider.install_default().is_err() {
        tracing::debug!("jsonwebtoken's crypto provider was already chosen; RS256 stays on it");
    }
}

fn new_verifier(algorithm: &Algorithm, key: &DecodingKey) -> JwtResult<Box<dyn JwtVerifier>> {
    if *algorithm != Algorithm::RS256 {
        return (rust_crypto::DEFAULT_PROVIDER.verifier_factory)(algorithm, key);
    }
    if key.family() != AlgorithmFamily::Rsa {
        return Err(ErrorKind::InvalidKeyFormat.into());
    }
    let key = match key.kind() {
        DecodingKeyKind::SecretOrDer(der) => RsaKey::Der(der.clone()),
        DecodingKeyKind::RsaModulusExponent { n, e } => RsaKey::Components {
            n: n.clone(),
            e: e.clone(),
        },
    };
    Ok(Box::new(Rs256Verifier(key)))
}

/// An RSA public key as jsonwebtoken holds it: PKCS#1 DER (from a PEM) or n and e (from a JWK).
enum RsaKey {
    Der(Vec<u8>),
    Components { n: Vec<u8>, e: Vec<u8> },
}

struct Rs256Verifier(RsaKey);

impl Verifier<Vec<u8>> for Rs256Verifier {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        verify_rs256(&self.0, message, signature).map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for Rs256Verifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::RS256
    }
}

fn verify_rs256(
    key: &RsaKey,
    message: &[u8],
    signature: &[u8],
) -> Result<(), ring::error::Unspecified> {
    match key {
        RsaKey::Der(der) => {
            UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der).verify(message, signature)
        }
        RsaKey::Components { n, e } => {
            RsaPublicKeyComponents { n, e }.verify(&RSA_PKCS1_2048_8192_SHA256, message, signature)
        }
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{EncodingKey, Header};
    use rsa::RsaPublicKey;
    use rsa::pkcs8::DecodePublicKey;
    use rsa::traits::PublicKeyParts;

    use super::super::test_keys::fixture;
    use super::*;

    /// A token signed by RustCrypto, split into the signed message and the signature bytes.
    fn signed(private: &str) -> (Vec<u8>, Vec<u8>) {
        let key = EncodingKey::from_rsa_pem(fixture(private).as_bytes()).expect("a private key");
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::RS256),
            &serde_json::json!({"sub": "user_1"}),
            &key,
        )
        .expect("signs");
        let (message, signature) = token.rsplit_once('.').expect("three parts");
        let signature =
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, signature)
                .expect("base64url");
        (message.as_bytes().to_vec(), signature)
    }

    fn pem_key(public: &str) -> RsaKey {
        let key = DecodingKey::from_rsa_pem(fixture(public).as_bytes()).expect("a public key");
        match key.kind() {
            DecodingKeyKind::SecretOrDer(der) => RsaKey::Der(der.clone()),
            DecodingKeyKind::RsaModulusExponent { .. } => panic!("a PEM key is DER"),
        }
    }

    fn jwk_key(public: &str) -> RsaKey {
        let key = RsaPublicKey::from_public_key_pem(&fixture(public)).expect("a public key");
        RsaKey::Components {
            n: key.n().to_bytes_be(),
            e: key.e().to_bytes_be(),
        }
    }

    #[test]
    fn a_signature_by_the_key_verifies_with_the_pem_and_the_jwk_form() {
        let (message, signature) = signed("test_private.pem");
        assert!(verify_rs256(&pem_key("test_public.pem"), &message, &signature).is_ok());
        assert!(verify_rs256(&jwk_key("test_public.pem"), &message, &signature).is_ok());
    }

    #[test]
    fn another_key_a_changed_message_or_a_changed_signature_fail() {
        let (message, signature) = signed("test_private.pem");
        for key in [pem_key("other_public.pem"), jwk_key("other_public.pem")] {
            assert!(verify_rs256(&key, &message, &signature).is_err());
        }
        let mut changed = message.clone();
        changed[3] ^= 1;
        assert!(verify_rs256(&pem_key("test_public.pem"), &changed, &signature).is_err());
        let mut forged = signature;
        forged[10] ^= 1;
        assert!(verify_rs256(&jwk_key("test_public.pem"), &message, &forged).is_err());
    }

    #[test]
    fn the_provider_checks_rs256_and_leaves_other_algorithms_to_rustcrypto() {
        let key = DecodingKey::from_rsa_pem(fixture("test_public.pem").as_bytes()).expect("a key");
        let verifier = new_verifier(&Algorithm::RS256, &key).expect("an RS256 verifier");
        let (message, signature) = signed("test_private.pem");
        assert!(verifier.verify(&message, &signature).is_ok());
        assert!(verifier.verify(b"something else", &signature).is_err());
        let hmac = DecodingKey::from_secret(b"secret");
        assert!(
            new_verifier(&Algorithm::RS256, &hmac).is_err(),
            "an HMAC secret is no RSA key"
        );
        let rs512 = new_verifier(&Algorithm::RS512, &key).expect("RustCrypto's verifier");
        assert_eq!(rs512.algorithm(), Algorithm::RS512);
    }
}
