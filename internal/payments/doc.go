// Package payments is the payment-provider abstraction of Omni: the names of
// the providers, how a payment with each of them is settled, and the
// verification of the signed notifications that WeChat Pay (API v3) and
// Alipay (open platform, RSA2) send when a payment or a refund settles.
//
// It owns no tables and touches no database. The orders module records
// payments, refunds and received notifications (payments, refunds,
// payment_notifications) and calls this package to decide whether a
// notification is genuine and what it says.
//
// How each provider settles:
//
//   - offline (cash, card terminal, bank transfer recorded by staff) and
//     test (the demo and tests) capture at once: the payment is recorded as
//     captured when it is created, and a refund succeeds when it is recorded.
//   - wechat and alipay payments are pending until a verified notification
//     arrives (Kind KindPayment captures it; KindClosed fails it). Omni holds
//     no merchant credentials for the providers' order and refund APIs, so it
//     never calls them: the merchant's payment gateway creates the prepay
//     order with our out_trade_no, asks the provider for refunds with our
//     out_refund_no, and forwards the provider's notifications unchanged to
//     Omni, which verifies them with the provider's public key (and, for
//     WeChat Pay, decrypts them with the API v3 key). Refunds to those
//     providers likewise stay pending until their refund notification
//     (KindRefund settles one, KindRefundFailed fails it).
//
// Guarantees of the verifiers (WeChatPay.Verify, AlipayVerifier.Verify):
//
//   - A Notification is returned only when the provider's RSA signature
//     (PKCS #1 v1.5, SHA-256) covers everything it reports; for WeChat Pay
//     the signing certificate's serial must be the configured one, the
//     timestamp within MaxClockSkew of now, and the AES-256-GCM resource
//     must authenticate with the API v3 key.
//   - The notification is for the configured merchant and application.
//   - Amounts are integer fen (Alipay's yuan strings are parsed exactly,
//     never through floats); times are UTC.
//   - Refusals are *errs.Error values with stable codes: ErrBadSignature,
//     ErrStaleTimestamp, ErrUnknownSerial and ErrDecryptFailed are
//     Unauthenticated (401), ErrWrongMerchant is Forbidden (403),
//     ErrMalformed is Invalid (422) and ErrTooLarge is TooLarge (413). Any
//     other error is a configuration fault of the verifier (say, no platform
//     key). Hostile input never panics.
//   - Verification is stateless: the same notification verifies again when
//     the provider repeats it (they retry until acknowledged). Callers
//     deduplicate by (Provider, NotifyID) and must apply a notification
//     idempotently by OutTradeNo / OutRefundNo, since a provider may also
//     send different notifications about the same trade (Alipay's
//     TRADE_SUCCESS then TRADE_FINISHED).
//
// Only direct-merchant (普通商户) mode is supported; service-provider
// (服务商) notifications, which carry sp_mchid/sub_mchid instead of mchid,
// are refused with ErrWrongMerchant. ValidReference tells whether one of our
// references (out_trade_no, out_refund_no) is acceptable to both providers.
// WeChatSimulator and AlipaySimulator sign notifications exactly as the
// providers do, with keys they generate, so the demo and tests need no
// merchant credentials.
package payments
