package payments

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// AlipayVerifier verifies Alipay asynchronous notifications (异步通知,
// application/x-www-form-urlencoded, sign_type RSA2) for one application.
// (The type is not named Alipay because that is the provider-name
// constant.) Its fields are configuration, read but never changed by Verify,
// so one value may serve concurrent requests.
type AlipayVerifier struct {
	AppID     string         // the application id; must match app_id
	PublicKey *rsa.PublicKey // Alipay's public key (支付宝公钥) for the application
	// SellerID, when set, must match seller_id (the merchant's 2088… PID),
	// as Alipay advises.
	SellerID string
}

// shanghai is Asia/Shanghai, which has kept UTC+8 without daylight saving
// since 1991; a fixed zone needs no tzdata.
var shanghai = time.FixedZone("CST", 8*60*60)

// alipayTimeLayout is Alipay's time format, in Asia/Shanghai; parsing also
// accepts the fractional seconds of gmt_refund.
const alipayTimeLayout = "2006-01-02 15:04:05"

// Provider returns Alipay.
func (a *AlipayVerifier) Provider() string { return Alipay }

// Ack returns AlipayAck(err) as a plain-text response.
func (a *AlipayVerifier) Ack(err error) (status int, contentType string, body []byte) {
	status, body = AlipayAck(err)
	return status, "text/plain; charset=utf-8", body
}

// VerifyRequest reads r's form-encoded body (at most MaxNotificationBytes;
// the URL's query is ignored) and verifies it as Verify does.
func (a *AlipayVerifier) VerifyRequest(r *http.Request) (Notification, error) {
	body, err := readBody(r)
	if err != nil {
		return Notification{}, err
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return Notification{}, refuse(ErrMalformed, "the body is not a form: %v", err)
	}
	return a.Verify(form)
}

// Verify checks a notification's parameters and returns what they report.
// In order: every parameter appears once and is UTF-8 (ErrMalformed); sign
// is an RSA2 signature (PKCS #1 v1.5, SHA-256) of every other non-empty
// parameter but sign_type, sorted by name, as "k=v" joined by "&" with the
// decoded values (ErrBadSignature); app_id and seller_id (ErrWrongMerchant);
// the fields (ErrMalformed).
//
// trade_status gives the kind: WAIT_BUYER_PAY KindPending; TRADE_SUCCESS
// and TRADE_FINISHED KindPayment; TRADE_CLOSED KindClosed; but a
// notification carrying refund_fee is a refund (KindRefund; Alipay sends
// TRADE_SUCCESS after a partial refund and TRADE_CLOSED after a full one),
// with RefundAmount the total refunded so far (RefundCumulative) and
// OutRefundNo the out_biz_no. An error that is not an *errs.Error means a is
// misconfigured.
func (a *AlipayVerifier) Verify(form url.Values) (Notification, error) {
	if a.AppID == "" || a.PublicKey == nil {
		return Notification{}, errors.New("payments: alipay: no app id and public key configured")
	}
	for k, vs := range form {
		if len(vs) != 1 {
			return Notification{}, refuse(ErrMalformed, "parameter %q appears %d times", clip(k), len(vs))
		}
		if !utf8.ValidString(k) || !utf8.ValidString(vs[0]) {
			return Notification{}, refuse(ErrMalformed, "parameter %q is not UTF-8", clip(k))
		}
	}
	if err := a.verifySignature(form); err != nil {
		return Notification{}, err
	}
	get := form.Get
	if cs := get("charset"); cs != "" && !strings.EqualFold(cs, "utf-8") {
		return Notification{}, refuse(ErrMalformed, "charset %q is not supported, only utf-8", clip(cs))
	}
	if get("app_id") != a.AppID || a.SellerID != "" && get("seller_id") != a.SellerID {
		return Notification{}, refuse(ErrWrongMerchant, "notification for app_id %q seller_id %q",
			clip(get("app_id")), clip(get("seller_id")))
	}
	n := Notification{
		Provider:    Alipay,
		NotifyID:    get("notify_id"),
		OutTradeNo:  get("out_trade_no"),
		ProviderRef: get("trade_no"),
		Raw:         form.Encode(),
	}
	if n.NotifyID == "" || n.OutTradeNo == "" || n.ProviderRef == "" {
		return Notification{}, refuse(ErrMalformed, "notify_id, out_trade_no and trade_no are required")
	}
	var err error
	if n.Amount, err = ParseYuan(get("total_amount")); err != nil {
		return Notification{}, refuse(ErrMalformed, "total_amount %q: %v", clip(get("total_amount")), err)
	}
	if n.OccurredAt, err = alipayTime(get("notify_time")); err != nil {
		return Notification{}, refuse(ErrMalformed, "notify_time: %v", err)
	}
	status := get("trade_status")
	refund := get("refund_fee") != "" // present with a value: a refund notification
	switch {
	case status == "WAIT_BUYER_PAY":
		n.Kind = KindPending
	case refund && (status == "TRADE_SUCCESS" || status == "TRADE_FINISHED" || status == "TRADE_CLOSED"):
		n.Kind, n.OutRefundNo, n.RefundCumulative = KindRefund, get("out_biz_no"), true
		if n.RefundAmount, err = ParseYuan(get("refund_fee")); err != nil {
			return Notification{}, refuse(ErrMalformed, "refund_fee %q: %v", clip(get("refund_fee")), err)
		}
		if n.OutRefundNo == "" || n.RefundAmount <= 0 || n.RefundAmount > n.Amount {
			return Notification{}, refuse(ErrMalformed, "a refund needs out_biz_no and 0 < refund_fee ≤ total_amount")
		}
		if n.OccurredAt, err = alipayTime(get("gmt_refund")); err != nil {
			return Notification{}, refuse(ErrMalformed, "gmt_refund: %v", err)
		}
	case status == "TRADE_SUCCESS" || status == "TRADE_FINISHED":
		n.Kind = KindPayment
		if n.Amount <= 0 {
			return Notification{}, refuse(ErrMalformed, "a paid trade needs a positive total_amount")
		}
		if n.OccurredAt, err = alipayTime(get("gmt_payment")); err != nil {
			return Notification{}, refuse(ErrMalformed, "gmt_payment: %v", err)
		}
	case status == "TRADE_CLOSED":
		n.Kind = KindClosed
		if s := get("gmt_close"); s != "" {
			if n.OccurredAt, err = alipayTime(s); err != nil {
				return Notification{}, refuse(ErrMalformed, "gmt_close: %v", err)
			}
		}
	default:
		return Notification{}, refuse(ErrMalformed, "unsupported trade_status %q", clip(status))
	}
	if err := checkIDs(&n); err != nil {
		return Notification{}, err
	}
	return n, nil
}

// verifySignature checks sign and sign_type.
func (a *AlipayVerifier) verifySignature(form url.Values) error {
	if st := form.Get("sign_type"); st != "RSA2" {
		return refuse(ErrBadSignature, "sign_type %q, want RSA2", clip(st))
	}
	sig, err := base64.StdEncoding.DecodeString(form.Get("sign"))
	if err != nil || len(sig) == 0 {
		return refuse(ErrBadSignature, "sign is missing or not base64")
	}
	digest := sha256.Sum256([]byte(alipayContent(form)))
	if err := rsa.VerifyPKCS1v15(a.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
		return refuse(ErrBadSignature, "the signature does not verify")
	}
	return nil
}

// alipayContent is the string Alipay signs in a notification: every
// parameter but sign and sign_type with a non-empty (decoded) value, sorted
// by name, as name=value joined by '&'. Only the first value of a name
// counts (Verify refuses repeated names).
func alipayContent(form url.Values) string {
	keys := make([]string, 0, len(form))
	for k, vs := range form {
		if k != "sign" && k != "sign_type" && len(vs) > 0 && vs[0] != "" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(form[k][0])
	}
	return b.String()
}

// alipayTime parses an Alipay time ("2006-01-02 15:04:05", optionally with
// fractional seconds) in Asia/Shanghai and returns it in UTC.
func alipayTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("missing")
	}
	t, err := time.ParseInLocation(alipayTimeLayout, s, shanghai)
	if err != nil {
		return time.Time{}, errors.New("not a time like 2006-01-02 15:04:05")
	}
	return t.UTC(), nil
}
