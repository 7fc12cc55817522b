package payments

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/omni-retail/omni/internal/platform/errs"
)

// Provider names, as stored in payments.provider.
const (
	Offline = "offline" // recorded by staff (cash, card terminal); captured at once
	Test    = "test"    // demo and tests; captured at once
	WeChat  = "wechat"  // WeChat Pay API v3; captured by a verified notification
	Alipay  = "alipay"  // Alipay open platform; captured by a verified notification
)

// Providers lists the provider names in a stable order.
func Providers() []string { return []string{Offline, Test, WeChat, Alipay} }

// Known reports whether provider is one of Providers.
func Known(provider string) bool {
	switch provider {
	case Offline, Test, WeChat, Alipay:
		return true
	}
	return false
}

// CapturesAtOnce reports whether a payment with provider is captured when it
// is recorded (offline, test), and a refund succeeds when it is recorded. For
// wechat and alipay it is false: the payment or refund stays pending until a
// verified notification settles it. It is false for unknown providers.
func CapturesAtOnce(provider string) bool { return provider == Offline || provider == Test }

// Notified reports whether provider settles payments and refunds through
// signed notifications (wechat, alipay).
func Notified(provider string) bool { return provider == WeChat || provider == Alipay }

// ValidReference reports whether s can be our out_trade_no or refund
// reference at both WeChat Pay and Alipay: 6 to 32 ASCII letters, digits and
// underscores (WeChat Pay wants at least 6 and at most 32 characters; Alipay
// documents only letters, digits and underscores). The verifiers accept any
// printable reference up to MaxRefLen; this is for the side that creates
// them.
func ValidReference(s string) bool {
	if len(s) < 6 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Notification kinds.
const (
	KindPayment      = "payment"       // the trade is paid: capture the payment
	KindClosed       = "closed"        // the trade closed or failed unpaid: fail the payment
	KindRefund       = "refund"        // a refund settled: the money is back with the payer
	KindRefundFailed = "refund_failed" // a refund failed or was closed (WeChat REFUND.ABNORMAL / REFUND.CLOSED)
	KindPending      = "pending"       // nothing settled yet (Alipay WAIT_BUYER_PAY): acknowledge and ignore
)

// Notification is a verified provider notification.
type Notification struct {
	Provider     string    // wechat | alipay
	NotifyID     string    // provider's notification id (dedupe key with Provider)
	Kind         string    // KindPayment, KindClosed, KindRefund, KindRefundFailed or KindPending
	OutTradeNo   string    // our payment reference (payments.out_trade_no)
	ProviderRef  string    // provider transaction id (WeChat transaction_id, Alipay trade_no)
	Amount       int64     // fen: the trade's total (WeChat amount.total, Alipay total_amount)
	OutRefundNo  string    // refunds: our refund reference (WeChat out_refund_no, Alipay out_biz_no)
	RefundRef    string    // refunds: provider's refund id (WeChat refund_id; Alipay sends none: "")
	RefundAmount int64     // fen; see RefundCumulative
	OccurredAt   time.Time // when it happened (success_time / gmt_payment / gmt_refund / gmt_close), UTC
	Raw          string    // the decrypted resource (WeChat) or the verified form (Alipay), for the audit table

	// RefundCumulative is true when RefundAmount is the total refunded on the
	// trade so far, including earlier refunds (Alipay's refund_fee), rather
	// than the amount of this one refund (WeChat's amount.refund).
	RefundCumulative bool
}

// MaxClockSkew is how far a WeChat Pay notification's timestamp may be from
// the verifier's clock, either way.
const MaxClockSkew = 5 * time.Minute

// MaxNotificationBytes bounds the body VerifyRequest reads.
const MaxNotificationBytes = 64 << 10

// Refusals of a notification. Match with errors.Is; the returned errors carry
// a more specific message.
var (
	// ErrBadSignature: a signature is missing, malformed or does not verify,
	// or the signature scheme is not the expected one.
	ErrBadSignature = errs.New(errs.Unauthenticated, "bad_signature", "the notification's signature does not verify")
	// ErrStaleTimestamp: the WeChat Pay timestamp is more than MaxClockSkew
	// from now (a replay or a badly wrong clock).
	ErrStaleTimestamp = errs.New(errs.Unauthenticated, "stale_timestamp", "the notification's timestamp is too far from now")
	// ErrUnknownSerial: the WeChat Pay notification is signed with a platform
	// certificate (or public key) other than the configured one.
	ErrUnknownSerial = errs.New(errs.Unauthenticated, "unknown_serial", "the notification is signed with an unknown platform key")
	// ErrDecryptFailed: the WeChat Pay resource does not authenticate under
	// the API v3 key (a wrong key, or a tampered resource).
	ErrDecryptFailed = errs.New(errs.Unauthenticated, "decrypt_failed", "the notification's resource cannot be decrypted")
	// ErrWrongMerchant: a genuine notification for another merchant or
	// application.
	ErrWrongMerchant = errs.New(errs.Forbidden, "wrong_merchant", "the notification is for another merchant or application")
	// ErrMalformed: the notification is authentic (or cannot be checked
	// because it is incomplete) but does not have the expected shape.
	ErrMalformed = errs.New(errs.Invalid, "malformed_notification", "the notification is malformed")
	// ErrTooLarge: the request body exceeds MaxNotificationBytes.
	ErrTooLarge = errs.New(errs.TooLarge, "notification_too_large", "the notification is too large")
)

// Notifier is what an HTTP notification endpoint needs of a provider:
// *WeChatPay and *AlipayVerifier implement it.
type Notifier interface {
	// Provider is the provider's name (WeChat or Alipay).
	Provider() string
	// VerifyRequest reads at most MaxNotificationBytes of r's body and
	// verifies it as a notification.
	VerifyRequest(r *http.Request) (Notification, error)
	// Ack is the response the provider expects after VerifyRequest (and the
	// caller's handling) returned err.
	Ack(err error) (status int, contentType string, body []byte)
}

var (
	_ Notifier = (*WeChatPay)(nil)
	_ Notifier = (*AlipayVerifier)(nil)
)

// ackStatus is the HTTP status of a failed notification: the refusal's own
// status, else 500 (the provider retries either way).
func ackStatus(err error) int {
	if e, ok := errs.As(err); ok {
		if s := e.Kind.Status(); s >= 400 {
			return s
		}
	}
	return http.StatusInternalServerError
}

// ackMessage is the failure text sent back to a provider: the refusal's
// stable code, never an internal error's text.
func ackMessage(err error) string {
	if e, ok := errs.As(err); ok {
		return e.Code
	}
	return "internal error"
}

// WeChatAck is the response WeChat Pay expects to a notification: 200 with
// {"code":"SUCCESS"} when err is nil; otherwise the refusal's HTTP status
// (500 for an error that is not an *errs.Error) with
// {"code":"FAIL","message":<the refusal's code>}, after which WeChat Pay
// retries.
func WeChatAck(err error) (status int, body []byte) {
	type ack struct {
		Code    string `json:"code"`
		Message string `json:"message,omitempty"`
	}
	if err == nil {
		b, _ := json.Marshal(ack{Code: "SUCCESS"})
		return http.StatusOK, b
	}
	b, _ := json.Marshal(ack{Code: "FAIL", Message: ackMessage(err)})
	return ackStatus(err), b
}

// AlipayAck is the response Alipay expects to a notification: 200 with the
// text "success" when err is nil, which stops Alipay's retries; otherwise
// "failure" with the refusal's HTTP status (500 for an error that is not an
// *errs.Error). Alipay retries anything that is not "success".
func AlipayAck(err error) (status int, body []byte) {
	if err == nil {
		return http.StatusOK, []byte("success")
	}
	return ackStatus(err), []byte("failure")
}

// refuse returns a copy of the sentinel with a specific message.
func refuse(sentinel *errs.Error, format string, args ...any) error {
	return sentinel.Withf(format, args...)
}

// readBody reads at most MaxNotificationBytes of r's body.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, refuse(ErrMalformed, "no body")
	}
	b, err := readLimited(r.Body, MaxNotificationBytes)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			return nil, refuse(ErrTooLarge, "the body exceeds %d bytes", MaxNotificationBytes)
		}
		return nil, refuse(ErrMalformed, "reading the body: %v", err)
	}
	return b, nil
}

var errTooLarge = errors.New("too large")

// readLimited reads all of r, failing with errTooLarge beyond limit bytes.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, errTooLarge
	}
	return b, nil
}
