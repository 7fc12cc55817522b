package payments

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// WeChat Pay API v3 notification headers.
const (
	HeaderWeChatTimestamp     = "Wechatpay-Timestamp"
	HeaderWeChatNonce         = "Wechatpay-Nonce"
	HeaderWeChatSignature     = "Wechatpay-Signature"
	HeaderWeChatSerial        = "Wechatpay-Serial"
	HeaderWeChatSignatureType = "Wechatpay-Signature-Type"
)

// weChatSignatureType is the only signature scheme of API v3 notifications.
const weChatSignatureType = "WECHATPAY2-SHA256-RSA2048"

// WeChatPay verifies WeChat Pay API v3 notifications for one direct merchant.
// Its fields are configuration, read but never changed by Verify, so one
// value may serve concurrent requests.
type WeChatPay struct {
	MchID string // the merchant id (商户号); must match the resource's mchid
	AppID string // the application id; when set, must match a transaction's appid
	// APIv3Key is the 32-byte API v3 key (APIv3密钥) that encrypts resources.
	APIv3Key []byte
	// PlatformSerial is the serial number of the platform certificate, or
	// the WeChat Pay public key id (PUB_KEY_ID_…), that signs notifications;
	// PlatformKey is its public key.
	PlatformSerial string
	PlatformKey    *rsa.PublicKey
	// Now is the clock for the timestamp check; nil means time.Now.
	Now func() time.Time
}

// Provider returns WeChat.
func (w *WeChatPay) Provider() string { return WeChat }

// Ack returns WeChatAck(err) as a JSON response.
func (w *WeChatPay) Ack(err error) (status int, contentType string, body []byte) {
	status, body = WeChatAck(err)
	return status, "application/json", body
}

// VerifyRequest reads r's body (at most MaxNotificationBytes) and verifies it
// with r's headers, as Verify does.
func (w *WeChatPay) VerifyRequest(r *http.Request) (Notification, error) {
	body, err := readBody(r)
	if err != nil {
		return Notification{}, err
	}
	return w.Verify(r.Header, body)
}

// Verify checks a notification's headers and body and returns what it
// reports. In order: the serial (ErrUnknownSerial), the RSA SHA-256
// signature over "timestamp\nnonce\nbody\n" (ErrBadSignature), the
// timestamp within MaxClockSkew of Now (ErrStaleTimestamp), the envelope
// (ErrMalformed), the AES-256-GCM resource (ErrDecryptFailed), the merchant
// and application (ErrWrongMerchant) and the resource's fields
// (ErrMalformed).
//
// TRANSACTION.* events give KindPayment (trade_state SUCCESS), KindClosed
// (CLOSED, PAYERROR, REVOKED) or KindPending (NOTPAY, USERPAYING, REFUND);
// REFUND.SUCCESS gives KindRefund and REFUND.ABNORMAL and REFUND.CLOSED give
// KindRefundFailed. An error that is not an *errs.Error means w is
// misconfigured.
func (w *WeChatPay) Verify(h http.Header, body []byte) (Notification, error) {
	if err := w.configured(); err != nil {
		return Notification{}, err
	}
	if err := w.verifyHeaders(h, body); err != nil {
		return Notification{}, err
	}
	var env weChatEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return Notification{}, refuse(ErrMalformed, "body is not a notification: %v", err)
	}
	if env.ID == "" || env.EventType == "" {
		return Notification{}, refuse(ErrMalformed, "id and event_type are required")
	}
	if env.ResourceType != "encrypt-resource" || env.Resource.Algorithm != "AEAD_AES_256_GCM" {
		return Notification{}, refuse(ErrMalformed, "unsupported resource_type %q or algorithm %q",
			env.ResourceType, env.Resource.Algorithm)
	}
	created, err := time.Parse(time.RFC3339, env.CreateTime)
	if err != nil {
		return Notification{}, refuse(ErrMalformed, "create_time %q is not RFC 3339", env.CreateTime)
	}
	plain, err := w.decrypt(env.Resource)
	if err != nil {
		return Notification{}, err
	}
	if !utf8.Valid(plain) {
		return Notification{}, refuse(ErrMalformed, "the resource is not UTF-8")
	}
	n := Notification{Provider: WeChat, NotifyID: env.ID, Raw: string(plain), OccurredAt: created.UTC()}
	switch {
	case strings.HasPrefix(env.EventType, "TRANSACTION."):
		err = w.transaction(&n, env.EventType, plain)
	case strings.HasPrefix(env.EventType, "REFUND."):
		err = w.refund(&n, env.EventType, plain)
	default:
		err = refuse(ErrMalformed, "unsupported event_type %q", env.EventType)
	}
	if err != nil {
		return Notification{}, err
	}
	if err := checkIDs(&n); err != nil {
		return Notification{}, err
	}
	return n, nil
}

// configured reports configuration faults as plain (internal) errors.
func (w *WeChatPay) configured() error {
	switch {
	case w.MchID == "":
		return errors.New("payments: wechat: no MchID configured")
	case len(w.APIv3Key) != 32:
		return errors.New("payments: wechat: the API v3 key must be 32 bytes")
	case w.PlatformSerial == "" || w.PlatformKey == nil:
		return errors.New("payments: wechat: no platform serial and key configured")
	}
	return nil
}

func (w *WeChatPay) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

// verifyHeaders checks the serial, signature and timestamp.
func (w *WeChatPay) verifyHeaders(h http.Header, body []byte) error {
	if st := h.Get(HeaderWeChatSignatureType); st != "" && st != weChatSignatureType {
		return refuse(ErrBadSignature, "unsupported signature type %q", st)
	}
	if serial := h.Get(HeaderWeChatSerial); serial != w.PlatformSerial {
		return refuse(ErrUnknownSerial, "signed with serial %q, want the configured platform serial", clip(serial))
	}
	ts, nonce, sig := h.Get(HeaderWeChatTimestamp), h.Get(HeaderWeChatNonce), h.Get(HeaderWeChatSignature)
	if ts == "" || nonce == "" || sig == "" {
		return refuse(ErrBadSignature, "the %s, %s and %s headers are required",
			HeaderWeChatTimestamp, HeaderWeChatNonce, HeaderWeChatSignature)
	}
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return refuse(ErrBadSignature, "the signature is not base64")
	}
	digest := weChatDigest(ts, nonce, body)
	if err := rsa.VerifyPKCS1v15(w.PlatformKey, crypto.SHA256, digest[:], raw); err != nil {
		return refuse(ErrBadSignature, "the signature does not verify")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sec < 0 {
		return refuse(ErrStaleTimestamp, "the timestamp %q is not unix seconds", clip(ts))
	}
	// Compare in seconds: time.Unix of a huge value would overflow Sub.
	now := w.now().Unix()
	if d := now - sec; d > int64(MaxClockSkew/time.Second) || d < -int64(MaxClockSkew/time.Second) {
		return refuse(ErrStaleTimestamp, "the timestamp %s differs from now by more than %s", clip(ts), MaxClockSkew)
	}
	return nil
}

// weChatDigest is the SHA-256 of the signed message "timestamp\nnonce\nbody\n".
func weChatDigest(ts, nonce string, body []byte) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(ts + "\n" + nonce + "\n"))
	h.Write(body)
	h.Write([]byte("\n"))
	var d [sha256.Size]byte
	h.Sum(d[:0])
	return d
}

type weChatEnvelope struct {
	ID           string         `json:"id"`
	CreateTime   string         `json:"create_time"`
	EventType    string         `json:"event_type"`
	ResourceType string         `json:"resource_type"`
	Summary      string         `json:"summary"`
	Resource     weChatResource `json:"resource"`
}

type weChatResource struct {
	Algorithm      string `json:"algorithm"`
	Ciphertext     string `json:"ciphertext"`
	AssociatedData string `json:"associated_data"`
	OriginalType   string `json:"original_type"`
	Nonce          string `json:"nonce"`
}

// weChatGCM is AES-256-GCM under key with the standard 12-byte nonce.
func weChatGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// decrypt opens the resource's ciphertext with the API v3 key.
func (w *WeChatPay) decrypt(r weChatResource) ([]byte, error) {
	aead, err := weChatGCM(w.APIv3Key)
	if err != nil {
		return nil, err // unreachable with a 32-byte key
	}
	if len(r.Nonce) != aead.NonceSize() {
		return nil, refuse(ErrMalformed, "the resource nonce must be %d bytes", aead.NonceSize())
	}
	ct, err := base64.StdEncoding.DecodeString(r.Ciphertext)
	if err != nil || len(ct) < aead.Overhead() {
		return nil, refuse(ErrMalformed, "the resource ciphertext is not base64 AES-GCM")
	}
	plain, err := aead.Open(nil, []byte(r.Nonce), ct, []byte(r.AssociatedData))
	if err != nil {
		return nil, refuse(ErrDecryptFailed, "the resource does not authenticate under the API v3 key")
	}
	return plain, nil
}

// weChatTransaction is the decrypted resource of a TRANSACTION.* event.
type weChatTransaction struct {
	AppID          string `json:"appid"`
	MchID          string `json:"mchid"`
	OutTradeNo     string `json:"out_trade_no"`
	TransactionID  string `json:"transaction_id"`
	TradeType      string `json:"trade_type,omitempty"`
	TradeState     string `json:"trade_state"`
	TradeStateDesc string `json:"trade_state_desc,omitempty"`
	BankType       string `json:"bank_type,omitempty"`
	Attach         string `json:"attach,omitempty"`
	SuccessTime    string `json:"success_time,omitempty"`
	Payer          *struct {
		OpenID string `json:"openid"`
	} `json:"payer,omitempty"`
	Amount struct {
		Total         int64  `json:"total"`
		PayerTotal    int64  `json:"payer_total"`
		Currency      string `json:"currency"`
		PayerCurrency string `json:"payer_currency,omitempty"`
	} `json:"amount"`
}

func (w *WeChatPay) transaction(n *Notification, event string, plain []byte) error {
	var t weChatTransaction
	if err := json.Unmarshal(plain, &t); err != nil {
		return refuse(ErrMalformed, "the transaction resource does not decode: %v", err)
	}
	if t.MchID != w.MchID || w.AppID != "" && t.AppID != w.AppID {
		return refuse(ErrWrongMerchant, "notification for mchid %q appid %q", clip(t.MchID), clip(t.AppID))
	}
	switch t.TradeState {
	case "SUCCESS":
		n.Kind = KindPayment
	case "CLOSED", "PAYERROR", "REVOKED":
		n.Kind = KindClosed
	case "NOTPAY", "USERPAYING", "REFUND":
		n.Kind = KindPending
	default:
		return refuse(ErrMalformed, "unsupported trade_state %q", clip(t.TradeState))
	}
	if (event == "TRANSACTION.SUCCESS") != (n.Kind == KindPayment) {
		return refuse(ErrMalformed, "event_type %s with trade_state %s", event, t.TradeState)
	}
	if t.Amount.Currency != "" && t.Amount.Currency != "CNY" {
		return refuse(ErrMalformed, "currency %q is not CNY", clip(t.Amount.Currency))
	}
	if t.OutTradeNo == "" || t.Amount.Total < 0 || t.Amount.PayerTotal < 0 {
		return refuse(ErrMalformed, "out_trade_no and a non-negative amount are required")
	}
	n.OutTradeNo, n.ProviderRef, n.Amount = t.OutTradeNo, t.TransactionID, t.Amount.Total
	if n.Kind == KindPayment {
		if t.TransactionID == "" || t.Amount.Total <= 0 || t.SuccessTime == "" {
			return refuse(ErrMalformed, "a paid transaction needs transaction_id, amount.total and success_time")
		}
	}
	if t.SuccessTime != "" {
		at, err := time.Parse(time.RFC3339, t.SuccessTime)
		if err != nil {
			return refuse(ErrMalformed, "success_time %q is not RFC 3339", clip(t.SuccessTime))
		}
		n.OccurredAt = at.UTC()
	}
	return nil
}

// weChatRefund is the decrypted resource of a REFUND.* event.
type weChatRefund struct {
	MchID               string `json:"mchid"`
	OutTradeNo          string `json:"out_trade_no"`
	TransactionID       string `json:"transaction_id,omitempty"`
	OutRefundNo         string `json:"out_refund_no"`
	RefundID            string `json:"refund_id"`
	RefundStatus        string `json:"refund_status"`
	SuccessTime         string `json:"success_time,omitempty"`
	UserReceivedAccount string `json:"user_received_account,omitempty"`
	Amount              struct {
		Total       int64 `json:"total"`
		Refund      int64 `json:"refund"`
		PayerTotal  int64 `json:"payer_total"`
		PayerRefund int64 `json:"payer_refund"`
	} `json:"amount"`
}

func (w *WeChatPay) refund(n *Notification, event string, plain []byte) error {
	var r weChatRefund
	if err := json.Unmarshal(plain, &r); err != nil {
		return refuse(ErrMalformed, "the refund resource does not decode: %v", err)
	}
	if r.MchID != w.MchID {
		return refuse(ErrWrongMerchant, "notification for mchid %q", clip(r.MchID))
	}
	switch r.RefundStatus {
	case "SUCCESS":
		n.Kind = KindRefund
	case "ABNORMAL", "CLOSED":
		n.Kind = KindRefundFailed
	default:
		return refuse(ErrMalformed, "unsupported refund_status %q", clip(r.RefundStatus))
	}
	if event != "REFUND."+r.RefundStatus {
		return refuse(ErrMalformed, "event_type %s with refund_status %s", event, r.RefundStatus)
	}
	a := r.Amount
	if r.OutTradeNo == "" || r.OutRefundNo == "" || r.RefundID == "" ||
		a.Refund <= 0 || a.Total < a.Refund || a.PayerRefund < 0 || a.PayerTotal < a.PayerRefund {
		return refuse(ErrMalformed, "out_trade_no, out_refund_no, refund_id and 0 < amount.refund ≤ amount.total are required")
	}
	n.OutTradeNo, n.ProviderRef, n.Amount = r.OutTradeNo, r.TransactionID, a.Total
	n.OutRefundNo, n.RefundRef, n.RefundAmount = r.OutRefundNo, r.RefundID, a.Refund
	if n.Kind == KindRefund && r.SuccessTime == "" {
		return refuse(ErrMalformed, "a settled refund needs success_time")
	}
	if r.SuccessTime != "" {
		at, err := time.Parse(time.RFC3339, r.SuccessTime)
		if err != nil {
			return refuse(ErrMalformed, "success_time %q is not RFC 3339", clip(r.SuccessTime))
		}
		n.OccurredAt = at.UTC()
	}
	return nil
}

// MaxRefLen bounds the references and ids a notification may carry (ours are
// at most 64 characters at both providers; theirs are shorter).
const MaxRefLen = 128

// checkIDs refuses references that are too long or hold control characters,
// so that they can be stored and logged safely.
func checkIDs(n *Notification) error {
	for _, f := range []struct{ name, v string }{
		{"notify id", n.NotifyID}, {"out_trade_no", n.OutTradeNo}, {"provider reference", n.ProviderRef},
		{"out_refund_no", n.OutRefundNo}, {"refund reference", n.RefundRef},
	} {
		if len(f.v) > MaxRefLen || !utf8.ValidString(f.v) || strings.ContainsFunc(f.v, isControl) {
			return refuse(ErrMalformed, "the %s is too long or not printable", f.name)
		}
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 }

// clip shortens a hostile value for an error message.
func clip(s string) string {
	const max = 64
	if len(s) > max {
		s = s[:max] + "…"
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
