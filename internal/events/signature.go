package events

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// The headers of a webhook delivery.
const (
	HeaderEventID   = "Omni-Event-Id"
	HeaderTopic     = "Omni-Event-Topic"
	HeaderAttempt   = "Omni-Delivery-Attempt"
	HeaderSignature = "Omni-Signature"
)

// Errors of Verify.
var (
	ErrSignatureMalformed = errors.New("events: Omni-Signature is missing or malformed")
	ErrSignatureMismatch  = errors.New("events: Omni-Signature does not match the body")
	ErrSignatureExpired   = errors.New("events: Omni-Signature timestamp is outside the tolerance")
)

// Sign returns the Omni-Signature header value of body sent at t:
// "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>".
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks an Omni-Signature header against the raw body of a delivery
// and the webhook's secret. It accepts the header when one of its v1
// signatures matches (compared in constant time) and, when tolerance is
// positive, its timestamp is within tolerance of now (a replay guard; five
// minutes is usual). It returns ErrSignatureMalformed, ErrSignatureMismatch
// or ErrSignatureExpired otherwise.
func Verify(secret string, header string, body []byte, tolerance time.Duration, now time.Time) error {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrSignatureMalformed
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			b, err := hex.DecodeString(v)
			if err != nil || len(b) != sha256.Size {
				return ErrSignatureMalformed
			}
			sigs = append(sigs, b)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrSignatureMalformed
	}
	want := mac(secret, ts, body)
	ok := false
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			ok = true
		}
	}
	if !ok {
		return ErrSignatureMismatch
	}
	if tolerance > 0 {
		if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
			return ErrSignatureExpired
		}
	}
	return nil
}
