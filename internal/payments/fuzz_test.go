package payments

import (
	"net/http"
	"net/url"
	"testing"
)

// FuzzWeChatVerify: hostile headers and bodies never panic and are refused
// with a refusal (*errs.Error); only the genuine seed is accepted, since
// without the platform key no other input can carry a valid signature.
//
//	go test -run=^$ -fuzz=FuzzWeChatVerify -fuzztime=30s ./internal/payments/
func FuzzWeChatVerify(f *testing.F) {
	s := wechatSim(f)
	genuine, genuineBody, err := s.PaymentNotice(testOutNo, testTxnID, 100, at)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(genuine.Get(HeaderWeChatTimestamp), genuine.Get(HeaderWeChatNonce), genuine.Get(HeaderWeChatSignature),
		testSerial, genuineBody)
	f.Add("", "", "", "", []byte(nil))
	f.Add("-1", "n", "WECHATPAY/SIGNTEST/abc", testSerial, []byte(`{"id":"x"}`))
	f.Add("99999999999999999999", "n", "====", testSerial, []byte("{"))
	w := s.Verifier()
	f.Fuzz(func(t *testing.T, ts, nonce, sig, serial string, body []byte) {
		h := http.Header{}
		h.Set(HeaderWeChatTimestamp, ts)
		h.Set(HeaderWeChatNonce, nonce)
		h.Set(HeaderWeChatSignature, sig)
		h.Set(HeaderWeChatSerial, serial)
		n, err := w.Verify(h, body)
		if err == nil && (ts != genuine.Get(HeaderWeChatTimestamp) || nonce != genuine.Get(HeaderWeChatNonce) ||
			string(body) != string(genuineBody)) {
			t.Fatalf("a forged notification was accepted: %+v", n)
		}
		refusalOnly(t, err)
	})
}

// FuzzWeChatResource: hostile but correctly encrypted and signed resources
// (as a compromised or buggy gateway might send) never panic; they are
// refused with a refusal or accepted with every invariant of a Notification.
func FuzzWeChatResource(f *testing.F) {
	s := wechatSim(f)
	f.Add("TRANSACTION.SUCCESS", txn())
	f.Add("TRANSACTION.CLOSED", txn("trade_state", `"CLOSED"`, "success_time", "<delete>"))
	f.Add("REFUND.SUCCESS", rfd())
	f.Add("REFUND.ABNORMAL", rfd("refund_status", `"ABNORMAL"`))
	f.Add("TRANSACTION.SUCCESS", `{"amount":{"total":-1}}`)
	f.Add("REFUND.SUCCESS", `null`)
	w := s.Verifier()
	f.Fuzz(func(t *testing.T, event, resource string) {
		h, body, err := s.notice(event, "", "transaction", []byte(resource), at)
		if err != nil {
			t.Skip(err) // an event that does not marshal (cannot happen for a string)
		}
		n, err := w.Verify(h, body)
		if err != nil {
			refusalOnly(t, err)
			return
		}
		checkNotification(t, n, WeChat)
	})
}

// FuzzAlipayVerify: hostile form bodies never panic and are refused with a
// refusal; only the genuine seed (give or take empty parameters and the
// order) is accepted.
//
//	go test -run=^$ -fuzz=FuzzAlipayVerify -fuzztime=30s ./internal/payments/
func FuzzAlipayVerify(f *testing.F) {
	s := alipaySim(f)
	form, err := s.PaymentNotice(testOutNo, testTradeNo, 100, at)
	if err != nil {
		f.Fatal(err)
	}
	genuine := alipayContent(form)
	f.Add(form.Encode())
	f.Add("")
	f.Add("sign=&sign_type=RSA2")
	f.Add("a=1&a=2&sign_type=RSA2&sign=AAAA")
	f.Add("sign_type=RSA2&sign=" + url.QueryEscape(form.Get("sign")) + "&total_amount=1e3")
	a := s.Verifier()
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		n, err := a.Verify(form)
		if err == nil && alipayContent(form) != genuine {
			t.Fatalf("a forged notification was accepted: %+v", n)
		}
		refusalOnly(t, err)
	})
}

// FuzzAlipaySigned: hostile but correctly signed forms never panic; they are
// refused with a refusal or accepted with every invariant of a Notification.
func FuzzAlipaySigned(f *testing.F) {
	s := alipaySim(f)
	for _, notice := range []func() (url.Values, error){
		func() (url.Values, error) { return s.PaymentNotice(testOutNo, testTradeNo, 100, at) },
		func() (url.Values, error) { return s.RefundNotice(testOutNo, testTradeNo, "R1", 100, 100, at) },
		func() (url.Values, error) { return s.TradeNotice(testOutNo, testTradeNo, "WAIT_BUYER_PAY", 100, at) },
	} {
		form, err := notice()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(form.Encode())
	}
	f.Add("app_id=" + testAliApp + "&seller_id=" + testSeller + "&notify_id=1&out_trade_no=x&trade_no=y" +
		"&trade_status=TRADE_SUCCESS&total_amount=0.01&notify_time=2025-06-18+12:00:00&gmt_payment=2025-13-01+00:00:00")
	a := s.Verifier()
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		if err := s.Sign(form); err != nil {
			t.Fatal(err)
		}
		n, err := a.Verify(form)
		if err != nil {
			refusalOnly(t, err)
			return
		}
		checkNotification(t, n, Alipay)
	})
}
