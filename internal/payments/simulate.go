package payments

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// SimulatorKeyBits is the size of the RSA keys the simulators generate.
const SimulatorKeyBits = 2048

// WeChatSimulator plays WeChat Pay: it encrypts resources with the API v3
// key and signs notifications with the platform key, exactly as WeChat Pay
// does, so that Verifier accepts them. It is for the demo and tests; it holds
// a private key and must never be configured with a real one.
type WeChatSimulator struct {
	MchID, AppID string
	APIv3Key     []byte          // 32 bytes
	Serial       string          // the platform serial sent in Wechatpay-Serial
	Key          *rsa.PrivateKey // the platform private key
	Now          func() time.Time
}

// NewWeChatSimulator returns a simulator for the merchant and application
// with a random API v3 key and serial. key is the platform key; nil
// generates a SimulatorKeyBits key (which takes a moment).
func NewWeChatSimulator(mchID, appID string, key *rsa.PrivateKey) (*WeChatSimulator, error) {
	if key == nil {
		var err error
		if key, err = rsa.GenerateKey(rand.Reader, SimulatorKeyBits); err != nil {
			return nil, fmt.Errorf("payments: wechat simulator: %w", err)
		}
	}
	return &WeChatSimulator{
		MchID:    mchID,
		AppID:    appID,
		APIv3Key: []byte(randomText(32)),
		Serial:   fmt.Sprintf("%X", randomBytes(20)),
		Key:      key,
	}, nil
}

// Verifier returns a WeChatPay that accepts this simulator's notifications
// (sharing its clock).
func (s *WeChatSimulator) Verifier() *WeChatPay {
	return &WeChatPay{
		MchID:          s.MchID,
		AppID:          s.AppID,
		APIv3Key:       s.APIv3Key,
		PlatformSerial: s.Serial,
		PlatformKey:    &s.Key.PublicKey,
		Now:            s.Now,
	}
}

func (s *WeChatSimulator) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// PaymentNotice is the TRANSACTION.SUCCESS notification of a paid JSAPI
// transaction: headers and body as WeChat Pay posts them.
func (s *WeChatSimulator) PaymentNotice(outTradeNo, transactionID string, totalFen int64, at time.Time) (http.Header, []byte, error) {
	return s.TransactionNotice(outTradeNo, transactionID, "SUCCESS", totalFen, at)
}

// TransactionNotice is a TRANSACTION.<tradeState> notification (SUCCESS,
// CLOSED, PAYERROR, NOTPAY, …); success_time is at for SUCCESS only.
func (s *WeChatSimulator) TransactionNotice(outTradeNo, transactionID, tradeState string, totalFen int64, at time.Time) (http.Header, []byte, error) {
	t := weChatTransaction{
		AppID: s.AppID, MchID: s.MchID, OutTradeNo: outTradeNo, TransactionID: transactionID,
		TradeType: "JSAPI", TradeState: tradeState, BankType: "OTHERS",
	}
	t.Payer = &struct {
		OpenID string `json:"openid"`
	}{OpenID: "oSim" + randomText(24)}
	t.Amount.Total, t.Amount.Currency, t.Amount.PayerCurrency = totalFen, "CNY", "CNY"
	summary := "支付失败"
	if tradeState == "SUCCESS" {
		t.TradeStateDesc, t.SuccessTime, t.Amount.PayerTotal = "支付成功", weChatTime(at), totalFen
		summary = "支付成功"
	}
	plain, err := json.Marshal(t)
	if err != nil {
		return nil, nil, err
	}
	return s.notice("TRANSACTION."+tradeState, summary, "transaction", plain, at)
}

// RefundNotice is the REFUND.SUCCESS notification of a settled refund of
// refundFen out of a totalFen transaction.
func (s *WeChatSimulator) RefundNotice(outTradeNo, outRefundNo, refundID string, totalFen, refundFen int64, at time.Time) (http.Header, []byte, error) {
	return s.RefundResultNotice(outTradeNo, outRefundNo, refundID, "SUCCESS", totalFen, refundFen, at)
}

// RefundResultNotice is a REFUND.<status> notification: SUCCESS, ABNORMAL
// or CLOSED; success_time is at for SUCCESS only.
func (s *WeChatSimulator) RefundResultNotice(outTradeNo, outRefundNo, refundID, status string, totalFen, refundFen int64, at time.Time) (http.Header, []byte, error) {
	r := weChatRefund{
		MchID: s.MchID, OutTradeNo: outTradeNo, OutRefundNo: outRefundNo, RefundID: refundID,
		RefundStatus: status, UserReceivedAccount: "支付用户零钱",
	}
	if status == "SUCCESS" {
		r.SuccessTime = weChatTime(at)
	}
	r.Amount.Total, r.Amount.Refund, r.Amount.PayerTotal, r.Amount.PayerRefund = totalFen, refundFen, totalFen, refundFen
	plain, err := json.Marshal(r)
	if err != nil {
		return nil, nil, err
	}
	summary := map[string]string{"SUCCESS": "退款成功", "ABNORMAL": "退款异常", "CLOSED": "退款关闭"}[status]
	return s.notice("REFUND."+status, summary, "refund", plain, at)
}

// notice encrypts plain into an envelope and signs it.
func (s *WeChatSimulator) notice(event, summary, associatedData string, plain []byte, created time.Time) (http.Header, []byte, error) {
	res, err := s.seal(plain, associatedData)
	if err != nil {
		return nil, nil, err
	}
	res.OriginalType = associatedData
	id := randomBytes(16)
	body, err := json.Marshal(weChatEnvelope{
		ID:         fmt.Sprintf("%x-%x-%x-%x-%x", id[:4], id[4:6], id[6:8], id[8:10], id[10:]),
		CreateTime: weChatTime(created), EventType: event, ResourceType: "encrypt-resource",
		Summary: summary, Resource: res,
	})
	if err != nil {
		return nil, nil, err
	}
	h, err := s.Sign(body)
	return h, body, err
}

// seal encrypts plain as a notification resource with a fresh nonce.
func (s *WeChatSimulator) seal(plain []byte, associatedData string) (weChatResource, error) {
	if len(s.APIv3Key) != 32 {
		return weChatResource{}, errors.New("payments: wechat simulator: the API v3 key must be 32 bytes")
	}
	aead, err := weChatGCM(s.APIv3Key)
	if err != nil {
		return weChatResource{}, err
	}
	nonce := randomText(aead.NonceSize())
	ct := aead.Seal(nil, []byte(nonce), plain, []byte(associatedData))
	return weChatResource{
		Algorithm:      "AEAD_AES_256_GCM",
		Ciphertext:     base64.StdEncoding.EncodeToString(ct),
		AssociatedData: associatedData,
		Nonce:          nonce,
	}, nil
}

// Sign returns the headers WeChat Pay sends with body: the current
// timestamp, a fresh nonce, the signature and the serial. Tests use it to
// sign bodies of their own making.
func (s *WeChatSimulator) Sign(body []byte) (http.Header, error) {
	if s.Key == nil {
		return nil, errors.New("payments: wechat simulator: no key")
	}
	ts, nonce := strconv.FormatInt(s.now().Unix(), 10), randomText(32)
	digest := weChatDigest(ts, nonce, body)
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.Key, crypto.SHA256, digest[:])
	if err != nil {
		return nil, fmt.Errorf("payments: wechat simulator: %w", err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(HeaderWeChatTimestamp, ts)
	h.Set(HeaderWeChatNonce, nonce)
	h.Set(HeaderWeChatSignature, base64.StdEncoding.EncodeToString(sig))
	h.Set(HeaderWeChatSerial, s.Serial)
	h.Set(HeaderWeChatSignatureType, weChatSignatureType)
	return h, nil
}

// weChatTime formats t as WeChat Pay does: RFC 3339 in UTC+8.
func weChatTime(t time.Time) string { return t.In(shanghai).Format(time.RFC3339) }

// AlipaySimulator plays Alipay: it signs notifications with Alipay's
// private key exactly as Alipay does, so that Verifier accepts them. It is
// for the demo and tests; it must never be configured with a real key.
type AlipaySimulator struct {
	AppID    string
	SellerID string // sent as seller_id when set, and then checked by Verifier
	Key      *rsa.PrivateKey
}

// NewAlipaySimulator returns a simulator for the application. key is
// Alipay's key; nil generates a SimulatorKeyBits key (which takes a moment).
func NewAlipaySimulator(appID string, key *rsa.PrivateKey) (*AlipaySimulator, error) {
	if key == nil {
		var err error
		if key, err = rsa.GenerateKey(rand.Reader, SimulatorKeyBits); err != nil {
			return nil, fmt.Errorf("payments: alipay simulator: %w", err)
		}
	}
	return &AlipaySimulator{AppID: appID, Key: key}, nil
}

// Verifier returns an AlipayVerifier that accepts this simulator's
// notifications.
func (s *AlipaySimulator) Verifier() *AlipayVerifier {
	return &AlipayVerifier{AppID: s.AppID, PublicKey: &s.Key.PublicKey, SellerID: s.SellerID}
}

// PaymentNotice is the TRADE_SUCCESS notification of a paid trade.
func (s *AlipaySimulator) PaymentNotice(outTradeNo, tradeNo string, totalFen int64, at time.Time) (url.Values, error) {
	return s.TradeNotice(outTradeNo, tradeNo, "TRADE_SUCCESS", totalFen, at)
}

// TradeNotice is a trade_status_sync notification with the given
// trade_status (WAIT_BUYER_PAY, TRADE_SUCCESS, TRADE_FINISHED,
// TRADE_CLOSED); at is the time of the status change.
func (s *AlipaySimulator) TradeNotice(outTradeNo, tradeNo, tradeStatus string, totalFen int64, at time.Time) (url.Values, error) {
	f := s.base(outTradeNo, tradeNo, tradeStatus, totalFen, at)
	switch tradeStatus {
	case "TRADE_SUCCESS", "TRADE_FINISHED":
		f.Set("gmt_payment", alipayFormat(at))
		f.Set("receipt_amount", FormatYuan(totalFen))
		f.Set("buyer_pay_amount", FormatYuan(totalFen))
	case "TRADE_CLOSED":
		f.Set("gmt_close", alipayFormat(at))
	}
	return f, s.Sign(f)
}

// RefundNotice is the notification Alipay sends after a refund of the
// trade: refundedFen is the total refunded so far (refund_fee), outBizNo our
// refund reference, at the refund time. trade_status is TRADE_CLOSED once
// the whole total is refunded, else TRADE_SUCCESS.
func (s *AlipaySimulator) RefundNotice(outTradeNo, tradeNo, outBizNo string, totalFen, refundedFen int64, at time.Time) (url.Values, error) {
	status := "TRADE_SUCCESS"
	if refundedFen >= totalFen {
		status = "TRADE_CLOSED"
	}
	f := s.base(outTradeNo, tradeNo, status, totalFen, at)
	f.Set("refund_fee", FormatYuan(refundedFen))
	f.Set("out_biz_no", outBizNo)
	f.Set("gmt_refund", at.In(shanghai).Format("2006-01-02 15:04:05.000"))
	if status == "TRADE_CLOSED" {
		f.Set("gmt_close", alipayFormat(at))
	}
	return f, s.Sign(f)
}

// base holds the parameters of every trade_status_sync notification.
func (s *AlipaySimulator) base(outTradeNo, tradeNo, status string, totalFen int64, at time.Time) url.Values {
	f := url.Values{}
	f.Set("notify_time", alipayFormat(at))
	f.Set("notify_type", "trade_status_sync")
	f.Set("notify_id", hex.EncodeToString(randomBytes(16)))
	f.Set("charset", "utf-8")
	f.Set("version", "1.0")
	f.Set("app_id", s.AppID)
	f.Set("auth_app_id", s.AppID)
	if s.SellerID != "" {
		f.Set("seller_id", s.SellerID)
	}
	f.Set("buyer_id", "2088"+randomDigits(12))
	f.Set("trade_no", tradeNo)
	f.Set("out_trade_no", outTradeNo)
	f.Set("trade_status", status)
	f.Set("total_amount", FormatYuan(totalFen))
	f.Set("subject", "Omni order "+outTradeNo)
	f.Set("gmt_create", alipayFormat(at.Add(-time.Minute)))
	return f
}

// Sign signs form as Alipay signs a notification: it sets sign_type to RSA2
// and sign to the signature of the other parameters. Tests use it to sign
// forms of their own making.
func (s *AlipaySimulator) Sign(form url.Values) error {
	if s.Key == nil {
		return errors.New("payments: alipay simulator: no key")
	}
	form.Del("sign")
	form.Set("sign_type", "RSA2")
	digest := sha256.Sum256([]byte(alipayContent(form)))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.Key, crypto.SHA256, digest[:])
	if err != nil {
		return fmt.Errorf("payments: alipay simulator: %w", err)
	}
	form.Set("sign", base64.StdEncoding.EncodeToString(sig))
	return nil
}

func alipayFormat(t time.Time) string { return t.In(shanghai).Format(alipayTimeLayout) }

// randomBytes returns n random bytes (crypto/rand.Read never fails).
func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// randomText returns n random letters and digits.
func randomText(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := randomBytes(n)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// randomDigits returns n random decimal digits.
func randomDigits(n int) string {
	b := randomBytes(n)
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	return string(b)
}
