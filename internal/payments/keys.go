package payments

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// MinRSABits is the smallest RSA modulus the key parsers accept; both
// providers use 2048-bit keys (Alipay's "RSA2").
const MinRSABits = 2048

// ParseRSAPublicKeyPEM parses a provider's RSA public key: a PEM block
// "PUBLIC KEY" (PKIX, as Alipay and the WeChat Pay public key are
// distributed), "RSA PUBLIC KEY" (PKCS #1) or "CERTIFICATE" (a WeChat Pay
// platform certificate; its key is used, the certificate chain is not
// checked). Without PEM armour, b may be the bare base64 of a PKIX key, the
// form the Alipay console shows. Keys under MinRSABits are refused.
func ParseRSAPublicKeyPEM(b []byte) (*rsa.PublicKey, error) {
	der, typ, err := pemOrBase64(b, "PUBLIC KEY")
	if err != nil {
		return nil, fmt.Errorf("payments: public key: %w", err)
	}
	var key any
	switch typ {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(der)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(der)
	case "CERTIFICATE":
		var c *x509.Certificate
		if c, err = x509.ParseCertificate(der); err == nil {
			key = c.PublicKey
		}
	default:
		return nil, fmt.Errorf("payments: public key: unexpected PEM block %q", typ)
	}
	if err != nil {
		return nil, fmt.Errorf("payments: public key: %w", err)
	}
	pub, ok := key.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("payments: public key: not an RSA key (%T)", key)
	}
	if pub.N.BitLen() < MinRSABits {
		return nil, fmt.Errorf("payments: public key: %d-bit RSA key, want at least %d", pub.N.BitLen(), MinRSABits)
	}
	return pub, nil
}

// ParseRSAPrivateKeyPEM parses an RSA private key: a PEM block
// "RSA PRIVATE KEY" (PKCS #1) or "PRIVATE KEY" (PKCS #8, as WeChat Pay's
// apiclient_key.pem). Without PEM armour, b may be the bare base64 of a
// PKCS #1 or PKCS #8 key, the form Alipay's key tool produces. Encrypted PEM
// and keys under MinRSABits are refused.
func ParseRSAPrivateKeyPEM(b []byte) (*rsa.PrivateKey, error) {
	der, typ, err := pemOrBase64(b, "")
	if err != nil {
		return nil, fmt.Errorf("payments: private key: %w", err)
	}
	var key *rsa.PrivateKey
	switch typ {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(der)
	case "PRIVATE KEY":
		key, err = parsePKCS8RSA(der)
	case "": // bare base64: either encoding
		if key, err = x509.ParsePKCS1PrivateKey(der); err != nil {
			key, err = parsePKCS8RSA(der)
		}
	default:
		return nil, fmt.Errorf("payments: private key: unexpected PEM block %q", typ)
	}
	if err != nil {
		return nil, fmt.Errorf("payments: private key: %w", err)
	}
	if key.N.BitLen() < MinRSABits {
		return nil, fmt.Errorf("payments: private key: %d-bit RSA key, want at least %d", key.N.BitLen(), MinRSABits)
	}
	return key, nil
}

func parsePKCS8RSA(der []byte) (*rsa.PrivateKey, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("not an RSA key (%T)", k)
	}
	return rk, nil
}

// pemOrBase64 returns the DER bytes and PEM type of the first PEM block in b,
// or, when b has no PEM block, b decoded as bare base64 (line breaks and
// spaces ignored) with type bareType.
func pemOrBase64(b []byte, bareType string) (der []byte, typ string, err error) {
	if blk, _ := pem.Decode(b); blk != nil {
		if _, enc := blk.Headers["Proc-Type"]; enc {
			return nil, "", errors.New("encrypted PEM is not supported")
		}
		return blk.Bytes, blk.Type, nil
	}
	s := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, string(b))
	if s == "" {
		return nil, "", errors.New("empty")
	}
	der, err = base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, "", errors.New("neither PEM nor base64 DER")
	}
	return der, bareType, nil
}
