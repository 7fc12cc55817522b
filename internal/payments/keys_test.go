package payments

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"
)

func TestParseRSAKeys(t *testing.T) {
	t.Parallel()
	key, _ := keys(t)
	pemOf := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pkixDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(0x5157F09E), Subject: pkix.Name{CommonName: "Tenpay.com Root CA"},
		NotBefore: testNow, NotAfter: testNow.Add(24 * time.Hour)}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecPriv, _ := x509.MarshalPKCS8PrivateKey(ec)
	ecPub, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	wrap := func(s string) []byte { // a bare base64 key broken into lines, as consoles show it
		var b strings.Builder
		for len(s) > 64 {
			b.WriteString(s[:64] + "\r\n")
			s = s[64:]
		}
		return []byte(b.String() + s + "\n")
	}
	b64 := base64.StdEncoding.EncodeToString
	encrypted := []byte("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00000000000000000000000000000000\n\n" +
		b64(x509.MarshalPKCS1PrivateKey(key)) + "\n-----END RSA PRIVATE KEY-----\n")

	privTests := []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"PKCS#1 PEM", pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key)), true},
		{"PKCS#8 PEM", pemOf("PRIVATE KEY", pkcs8), true},
		{"PKCS#8 PEM after text", append([]byte("apiclient_key.pem\n"), pemOf("PRIVATE KEY", pkcs8)...), true},
		{"bare PKCS#1", wrap(b64(x509.MarshalPKCS1PrivateKey(key))), true},
		{"bare PKCS#8", []byte(b64(pkcs8)), true},
		{"encrypted", encrypted, false},
		{"EC key", pemOf("PRIVATE KEY", ecPriv), false},
		{"1024 bits", pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(small)), false},
		{"public key", pemOf("PUBLIC KEY", pkixDER), false},
		{"PKCS#8 labelled PKCS#1", pemOf("RSA PRIVATE KEY", pkcs8), false},
		{"garbage", []byte("not a key"), false},
		{"empty", nil, false},
	}
	for _, tt := range privTests {
		t.Run("private/"+tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseRSAPrivateKeyPEM(tt.in)
			if !tt.ok {
				if err == nil {
					t.Fatal("accepted")
				}
				return
			}
			if err != nil || !got.Equal(key) {
				t.Fatalf("got %v, %v", got != nil, err)
			}
		})
	}
	pubTests := []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"PKIX PEM", pemOf("PUBLIC KEY", pkixDER), true},
		{"PKCS#1 PEM", pemOf("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&key.PublicKey)), true},
		{"certificate", pemOf("CERTIFICATE", cert), true},
		{"bare PKIX", wrap(b64(pkixDER)), true},
		{"EC key", pemOf("PUBLIC KEY", ecPub), false},
		{"1024 bits", pemOf("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&small.PublicKey)), false},
		{"private key", pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key)), false},
		{"bare PKCS#1", []byte(b64(x509.MarshalPKCS1PublicKey(&key.PublicKey))), false},
		{"garbage", []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"), false},
		{"empty", []byte(" \n"), false},
	}
	for _, tt := range pubTests {
		t.Run("public/"+tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseRSAPublicKeyPEM(tt.in)
			if !tt.ok {
				if err == nil {
					t.Fatal("accepted")
				}
				return
			}
			if err != nil || !got.Equal(&key.PublicKey) {
				t.Fatalf("got %v, %v", got != nil, err)
			}
		})
	}
}
