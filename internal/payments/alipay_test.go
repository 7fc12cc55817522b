package payments

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/platform/errs"
)

func TestAlipayRoundTrip(t *testing.T) {
	t.Parallel()
	sec := at.Truncate(time.Second)
	tests := []struct {
		name   string
		notice func(s *AlipaySimulator) (url.Values, error)
		want   Notification
	}{
		{"payment", func(s *AlipaySimulator) (url.Values, error) {
			return s.PaymentNotice(testOutNo, testTradeNo, 12345, at)
		}, Notification{Kind: KindPayment, OutTradeNo: testOutNo, ProviderRef: testTradeNo, Amount: 12345, OccurredAt: sec}},
		{"one fen", func(s *AlipaySimulator) (url.Values, error) {
			return s.PaymentNotice(testOutNo, testTradeNo, 1, at)
		}, Notification{Kind: KindPayment, OutTradeNo: testOutNo, ProviderRef: testTradeNo, Amount: 1, OccurredAt: sec}},
		{"finished", func(s *AlipaySimulator) (url.Values, error) {
			return s.TradeNotice(testOutNo, testTradeNo, "TRADE_FINISHED", 900, at)
		}, Notification{Kind: KindPayment, OutTradeNo: testOutNo, ProviderRef: testTradeNo, Amount: 900, OccurredAt: sec}},
		{"closed unpaid", func(s *AlipaySimulator) (url.Values, error) {
			return s.TradeNotice(testOutNo, testTradeNo, "TRADE_CLOSED", 900, at)
		}, Notification{Kind: KindClosed, OutTradeNo: testOutNo, ProviderRef: testTradeNo, Amount: 900, OccurredAt: sec}},
		{"waiting", func(s *AlipaySimulator) (url.Values, error) {
			return s.TradeNotice(testOutNo, testTradeNo, "WAIT_BUYER_PAY", 900, at)
		}, Notification{Kind: KindPending, OutTradeNo: testOutNo, ProviderRef: testTradeNo, Amount: 900, OccurredAt: sec}},
		{"partial refund", func(s *AlipaySimulator) (url.Values, error) {
			return s.RefundNotice(testOutNo, testTradeNo, "R000042_1", 12345, 2000, at)
		}, Notification{Kind: KindRefund, OutTradeNo: testOutNo, ProviderRef: testTradeNo, Amount: 12345,
			OutRefundNo: "R000042_1", RefundAmount: 2000, RefundCumulative: true, OccurredAt: at.Truncate(time.Millisecond)}},
		{"full refund", func(s *AlipaySimulator) (url.Values, error) {
			return s.RefundNotice(testOutNo, testTradeNo, "R000042_2", 12345, 12345, at)
		}, Notification{Kind: KindRefund, OutTradeNo: testOutNo, ProviderRef: testTradeNo, Amount: 12345,
			OutRefundNo: "R000042_2", RefundAmount: 12345, RefundCumulative: true, OccurredAt: at.Truncate(time.Millisecond)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := alipaySim(t)
			f, err := tt.notice(s)
			if err != nil {
				t.Fatal(err)
			}
			// Through the wire: encoded as Alipay posts it, decoded as a server does.
			wire, err := url.ParseQuery(f.Encode())
			if err != nil {
				t.Fatal(err)
			}
			n, err := s.Verifier().Verify(wire)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			checkNotification(t, n, Alipay)
			if n.NotifyID != f.Get("notify_id") || n.Raw != f.Encode() {
				t.Errorf("NotifyID %q Raw %q", n.NotifyID, n.Raw)
			}
			want := tt.want
			want.Provider, want.NotifyID, want.Raw, want.OccurredAt = Alipay, n.NotifyID, n.Raw, want.OccurredAt.UTC()
			if n != want {
				t.Errorf("got  %+v\nwant %+v", n, want)
			}
		})
	}
}

// TestAlipayIndependentVector signs a notification here, over the literal
// string Alipay's rules give, so that Verify is checked against those rules
// rather than against the simulator's own code. The values need URL-decoding
// and contain '&', '=', '+', '%', spaces and Chinese.
func TestAlipayIndependentVector(t *testing.T) {
	t.Parallel()
	key, _ := keys(t)
	content := "app_id=" + testAliApp + "&body=T恤 & 裤子=2件+1%&buyer_id=2088102122524333&charset=utf-8" +
		"&gmt_create=2025-06-18 11:55:31&gmt_payment=2025-06-18 11:55:42&notify_id=2025061800222115542085571411189449" +
		"&notify_time=2025-06-18 11:55:43&notify_type=trade_status_sync&out_trade_no=" + testOutNo +
		"&seller_id=" + testSeller + "&subject=Omni 订单&total_amount=88.80&trade_no=" + testTradeNo +
		"&trade_status=TRADE_SUCCESS&version=1.0"
	digest := sha256.Sum256([]byte(content))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	params := []string{ // as posted, in Alipay's (unsorted) order, percent-encoded
		"gmt_create=2025-06-18+11%3A55%3A31", "charset=utf-8", "seller_email=", "subject=Omni+%E8%AE%A2%E5%8D%95",
		"sign=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig)),
		"body=T%E6%81%A4+%26+%E8%A3%A4%E5%AD%90%3D2%E4%BB%B6%2B1%25", "buyer_id=2088102122524333",
		"notify_id=2025061800222115542085571411189449", "notify_type=trade_status_sync",
		"trade_status=TRADE_SUCCESS", "total_amount=88.80", "app_id=" + testAliApp, "sign_type=RSA2",
		"seller_id=" + testSeller, "gmt_payment=2025-06-18+11%3A55%3A42", "notify_time=2025-06-18+11%3A55%3A43",
		"version=1.0", "out_trade_no=" + testOutNo, "trade_no=" + testTradeNo,
	}
	a := &AlipayVerifier{AppID: testAliApp, PublicKey: &key.PublicKey, SellerID: testSeller}
	want := Notification{Provider: Alipay, NotifyID: "2025061800222115542085571411189449", Kind: KindPayment,
		OutTradeNo: testOutNo, ProviderRef: testTradeNo, Amount: 8880,
		OccurredAt: time.Date(2025, 6, 18, 3, 55, 42, 0, time.UTC)}
	reversed := slices.Clone(params)
	slices.Reverse(reversed)
	orders := map[string][]string{"as posted": params, "sorted": slices.Sorted(slices.Values(params)),
		"reversed": reversed}
	for name, order := range orders {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodPost, "/v1/payments/notify/alipay?trade_status=TRADE_CLOSED",
				strings.NewReader(strings.Join(order, "&")))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
			n, err := a.VerifyRequest(r)
			if err != nil {
				t.Fatalf("VerifyRequest: %v", err)
			}
			want := want
			want.Raw = n.Raw
			if n != want {
				t.Errorf("got  %+v\nwant %+v", n, want)
			}
		})
	}
	form, _ := url.ParseQuery(strings.Join(params, "&"))
	if got := alipayContent(form); got != content {
		t.Errorf("signed string\n got %s\nwant %s", got, content)
	}
}

func TestAlipayRefusals(t *testing.T) {
	t.Parallel()
	_, other := keys(t)
	tests := []struct {
		name string
		// build returns the form; it may change the simulator s (before
		// signing) or the verifier a.
		build func(t *testing.T, s *AlipaySimulator, a *AlipayVerifier) url.Values
		want  *errs.Error // nil: accepted
	}{
		{"genuine", func(t *testing.T, s *AlipaySimulator, a *AlipayVerifier) url.Values {
			return payment(t, s)
		}, nil},
		{"empty parameter added", func(t *testing.T, s *AlipaySimulator, a *AlipayVerifier) url.Values {
			f := payment(t, s)
			f.Set("passback_params", "")
			return f
		}, nil},
		{"tampered amount", func(t *testing.T, s *AlipaySimulator, a *AlipayVerifier) url.Values {
			f := payment(t, s)
			f.Set("total_amount", "1.00")
			return f
		}, ErrBadSignature},
		{"tampered out_trade_no", func(t *testing.T, s *AlipaySimulator, a *AlipayVerifier) url.Values {
			f := payment(t, s)
			f.Set("out_trade_no", "P000043_1")
			return f
		}, ErrBadSignature},
		{"parameter added", func(t *testing.T, s *AlipaySimulator, a *AlipayVerifier) url.Values {
			f := payment(t, s)
			f.Set("refund_fee", "1.00")
			return f
		}, ErrBadSignature},
		{"parameter removed", func(t *testing.T, s *AlipaySimulator, a *AlipayVerifier) url.Values {
			f := payment(t, s)
			f.Del("subject")
			return f
		}, ErrBadSignature},
		{"tampered signature", func(t *testing.T, s *AlipaySimulator, a *AlipayVerifier) url.Values {
			f := payment(t, s)
			sig, _ := base64.StdEncoding.DecodeString(f.Get("sign"))
			sig[3] ^= 0x80
			f.Set("sign", base64.StdEncoding.EncodeToString(sig))
			return f
		}, ErrBadSignature},
		{"no signature", func(t *testing.T, s *AlipaySimulator, a *AlipayVerifier) url.Values {
			f := payment(t, s)
			f.Del("sign")
			return f
		}, ErrBadSignature},
		{"signature not base64", func(t *testing.T, s *AlipaySimulator, a *AlipayVerifier) url.Values {
			f := payment(t, s)
			f.Set("sign", strings.ReplaceAll(f.Get("sign"), "+", " ")+"!")
			return f
		}, ErrBadSignature},
		{"sign_type RSA", func(t *testing.T, s *AlipaySimulator, a *AlipayVerifier) url.Values {
			f := payment(t, s)
			f.Set("sign_type", "RSA")
			return f
		}, ErrBadSignature},
		{"signed by another key", func(t *testing.T, s *AlipaySimulator, a *AlipayVerifier) url.Values {
			s.Key = other
			return payment(t, s)
		}, ErrBadSignature},
		{"other app", func(t *testing.T, s *AlipaySimulator, a *AlipayVerifier) url.Values {
			s.AppID = "2021000999999999"
			return payment(t, s)
		}, ErrWrongMerchant},
		{"other seller", func(t *testing.T, s *AlipaySimulator, a *AlipayVerifier) url.Values {
			s.SellerID = "2088000000000001"
			return payment(t, s)
		}, ErrWrongMerchant},
		{"any seller when none is configured", func(t *testing.T, s *AlipaySimulator, a *AlipayVerifier) url.Values {
			s.SellerID, a.SellerID = "2088000000000001", ""
			return payment(t, s)
		}, nil},
		{"repeated parameter", func(t *testing.T, s *AlipaySimulator, a *AlipayVerifier) url.Values {
			f := payment(t, s)
			f.Add("total_amount", "0.01")
			return f
		}, ErrMalformed},
		{"three decimals", func(t *testing.T, s *AlipaySimulator, a *AlipayVerifier) url.Values {
			return signed(t, s, payment(t, s), "total_amount", "12.345")
		}, ErrMalformed},
		{"negative amount", func(t *testing.T, s *AlipaySimulator, a *AlipayVerifier) url.Values {
			return signed(t, s, payment(t, s), "total_amount", "-12.34")
		}, ErrMalformed},
		{"zero amount paid", func(t *testing.T, s *AlipaySimulator, a *AlipayVerifier) url.Values {
			return signed(t, s, payment(t, s), "total_amount", "0.00")
		}, ErrMalformed},
		{"no notify_id", func(t *testing.T, s *AlipaySimulator, a *AlipayVerifier) url.Values {
			return signed(t, s, payment(t, s), "notify_id", "")
		}, ErrMalformed},
		{"no trade_no", func(t *testing.T, s *AlipaySimulator, a *AlipayVerifier) url.Values {
			return signed(t, s, payment(t, s), "trade_no", "")
		}, ErrMalformed},
		{"unknown status", func(t *testing.T, s *AlipaySimulator, a *AlipayVerifier) url.Values {
			return signed(t, s, payment(t, s), "trade_status", "TRADE_PENDING")
		}, ErrMalformed},
		{"bad gmt_payment", func(t *testing.T, s *AlipaySimulator, a *AlipayVerifier) url.Values {
			return signed(t, s, payment(t, s), "gmt_payment", "2025-06-18T11:55:42+08:00")
		}, ErrMalformed},
		{"no gmt_payment", func(t *testing.T, s *AlipaySimulator, a *AlipayVerifier) url.Values {
			return signed(t, s, payment(t, s), "gmt_payment", "")
		}, ErrMalformed},
		{"charset gbk", func(t *testing.T, s *AlipaySimulator, a *AlipayVerifier) url.Values {
			return signed(t, s, payment(t, s), "charset", "gbk")
		}, ErrMalformed},
		{"not UTF-8", func(t *testing.T, s *AlipaySimulator, a *AlipayVerifier) url.Values {
			return signed(t, s, payment(t, s), "subject", "\xb6\xa9\xb5\xa5")
		}, ErrMalformed},
		{"control character", func(t *testing.T, s *AlipaySimulator, a *AlipayVerifier) url.Values {
			return signed(t, s, payment(t, s), "out_trade_no", "P1\x00")
		}, ErrMalformed},
		{"refund above total", func(t *testing.T, s *AlipaySimulator, a *AlipayVerifier) url.Values {
			return signed(t, s, refund(t, s), "refund_fee", "123.46")
		}, ErrMalformed},
		{"refund without out_biz_no", func(t *testing.T, s *AlipaySimulator, a *AlipayVerifier) url.Values {
			return signed(t, s, refund(t, s), "out_biz_no", "")
		}, ErrMalformed},
		{"refund without gmt_refund", func(t *testing.T, s *AlipaySimulator, a *AlipayVerifier) url.Values {
			return signed(t, s, refund(t, s), "gmt_refund", "")
		}, ErrMalformed},
		{"refund fee garbage", func(t *testing.T, s *AlipaySimulator, a *AlipayVerifier) url.Values {
			return signed(t, s, refund(t, s), "refund_fee", "1e3")
		}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := alipaySim(t)
			a := s.Verifier()
			f := tt.build(t, s, a)
			n, err := a.Verify(f)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				checkNotification(t, n, Alipay)
				return
			}
			wantRefusal(t, n, err, tt.want)
		})
	}
}

func payment(t *testing.T, s *AlipaySimulator) url.Values {
	t.Helper()
	f, err := s.PaymentNotice(testOutNo, testTradeNo, 12345, at)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func refund(t *testing.T, s *AlipaySimulator) url.Values {
	t.Helper()
	f, err := s.RefundNotice(testOutNo, testTradeNo, "R1", 12345, 100, at)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// signed sets key to value in f (deleting it when value is "") and signs f
// again, so that checks after the signature are reached.
func signed(t *testing.T, s *AlipaySimulator, f url.Values, key, value string) url.Values {
	t.Helper()
	if value == "" {
		f.Del(key)
	} else {
		f.Set(key, value)
	}
	if err := s.Sign(f); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestAlipayMisconfigured(t *testing.T) {
	t.Parallel()
	s := alipaySim(t)
	f := payment(t, s)
	for name, a := range map[string]*AlipayVerifier{
		"no app":   {PublicKey: &s.Key.PublicKey},
		"no key":   {AppID: testAliApp},
		"zero":     {},
		"from sim": s.Verifier(), // control: accepted
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := a.Verify(f)
			if name == "from sim" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("a misconfigured verifier accepted a notification")
			}
			if _, ok := errs.As(err); ok {
				t.Fatalf("configuration fault reported as a refusal: %v", err)
			}
		})
	}
}

func TestAlipayVerifyRequestRefusals(t *testing.T) {
	t.Parallel()
	a := alipaySim(t).Verifier()
	tests := []struct {
		name string
		body string
		want *errs.Error
	}{
		{"bad escape", "notify_id=%zz", ErrMalformed},
		{"semicolon", "a=1;b=2", ErrMalformed},
		{"too large", strings.Repeat("a", MaxNotificationBytes+1), ErrTooLarge},
		{"empty", "", ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body))
			n, err := a.VerifyRequest(r)
			wantRefusal(t, n, err, tt.want)
		})
	}
	status, ctype, body := a.Ack(ErrBadSignature)
	if status != 401 || !strings.HasPrefix(ctype, "text/plain") || string(body) != "failure" {
		t.Errorf("Ack = %d %s %s", status, ctype, body)
	}
}
