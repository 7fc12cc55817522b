package payments

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/platform/errs"
)

// at is when the simulated payments happen: two minutes before testNow.
var at = testNow.Add(-2 * time.Minute)

func TestWeChatRoundTrip(t *testing.T) {
	t.Parallel()
	type notice func(s *WeChatSimulator) (http.Header, []byte, error)
	tests := []struct {
		name   string
		notice notice
		want   Notification
	}{
		{"payment", func(s *WeChatSimulator) (http.Header, []byte, error) {
			return s.PaymentNotice(testOutNo, testTxnID, 12345, at)
		}, Notification{Kind: KindPayment, OutTradeNo: testOutNo, ProviderRef: testTxnID, Amount: 12345, OccurredAt: at}},
		{"closed", func(s *WeChatSimulator) (http.Header, []byte, error) {
			return s.TransactionNotice(testOutNo, "", "CLOSED", 500, at)
		}, Notification{Kind: KindClosed, OutTradeNo: testOutNo, Amount: 500, OccurredAt: at}},
		{"pay error", func(s *WeChatSimulator) (http.Header, []byte, error) {
			return s.TransactionNotice(testOutNo, testTxnID, "PAYERROR", 500, at)
		}, Notification{Kind: KindClosed, OutTradeNo: testOutNo, ProviderRef: testTxnID, Amount: 500, OccurredAt: at}},
		{"not paid", func(s *WeChatSimulator) (http.Header, []byte, error) {
			return s.TransactionNotice(testOutNo, "", "NOTPAY", 500, at)
		}, Notification{Kind: KindPending, OutTradeNo: testOutNo, Amount: 500, OccurredAt: at}},
		{"refund", func(s *WeChatSimulator) (http.Header, []byte, error) {
			return s.RefundNotice(testOutNo, "R000042_1", "50300908092018010501100000001", 12345, 2345, at)
		}, Notification{Kind: KindRefund, OutTradeNo: testOutNo, Amount: 12345, OutRefundNo: "R000042_1",
			RefundRef: "50300908092018010501100000001", RefundAmount: 2345, OccurredAt: at}},
		{"refund abnormal", func(s *WeChatSimulator) (http.Header, []byte, error) {
			return s.RefundResultNotice(testOutNo, "R000042_2", "503009", "ABNORMAL", 12345, 12345, at)
		}, Notification{Kind: KindRefundFailed, OutTradeNo: testOutNo, Amount: 12345, OutRefundNo: "R000042_2",
			RefundRef: "503009", RefundAmount: 12345, OccurredAt: at}},
		{"refund closed", func(s *WeChatSimulator) (http.Header, []byte, error) {
			return s.RefundResultNotice(testOutNo, "R000042_3", "503010", "CLOSED", 100, 1, at)
		}, Notification{Kind: KindRefundFailed, OutTradeNo: testOutNo, Amount: 100, OutRefundNo: "R000042_3",
			RefundRef: "503010", RefundAmount: 1, OccurredAt: at}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := wechatSim(t)
			h, body, err := tt.notice(s)
			if err != nil {
				t.Fatal(err)
			}
			n, err := s.Verifier().Verify(h, body)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			checkNotification(t, n, WeChat)
			var env struct{ ID string }
			if err := json.Unmarshal(body, &env); err != nil || env.ID == "" || n.NotifyID != env.ID {
				t.Errorf("NotifyID %q, envelope id %q", n.NotifyID, env.ID)
			}
			if !strings.Contains(n.Raw, `"out_trade_no":"`+testOutNo+`"`) || strings.Contains(n.Raw, "ciphertext") {
				t.Errorf("Raw is not the decrypted resource: %s", n.Raw)
			}
			want := tt.want
			want.Provider, want.NotifyID, want.Raw, want.OccurredAt = WeChat, n.NotifyID, n.Raw, want.OccurredAt.UTC()
			if n != want {
				t.Errorf("got  %+v\nwant %+v", n, want)
			}
		})
	}
}

// TestWeChatIndependentVector signs and encrypts a notification here, with
// the standard library directly, so that Verify is checked against the
// provider's rules rather than against the simulator's own code.
func TestWeChatIndependentVector(t *testing.T) {
	t.Parallel()
	key, _ := keys(t)
	apiKey := []byte(testAPIv3)
	resource := `{"mchid":"` + testMchID + `","appid":"` + testAppID + `","out_trade_no":"1217752501201407033233368018",` +
		`"transaction_id":"1217752501201407033233368018","trade_type":"MICROPAY","trade_state":"SUCCESS",` +
		`"trade_state_desc":"支付成功","bank_type":"CMC","attach":"","success_time":"2018-06-08T10:34:56+08:00",` +
		`"payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},"amount":{"total":100,"payer_total":100,"currency":"CNY","payer_currency":"CNY"}}`
	block, _ := aes.NewCipher(apiKey)
	gcm, _ := cipher.NewGCM(block)
	ct := gcm.Seal(nil, []byte("fdasflkja484"), []byte(resource), []byte("transaction"))
	body := []byte(`{"id":"EV-2018022511223320873","create_time":"2015-05-20T13:29:35+08:00","resource_type":"encrypt-resource",` +
		`"event_type":"TRANSACTION.SUCCESS","summary":"支付成功","resource":{"original_type":"transaction",` +
		`"algorithm":"AEAD_AES_256_GCM","ciphertext":"` + base64.StdEncoding.EncodeToString(ct) +
		`","associated_data":"transaction","nonce":"fdasflkja484"}}`)
	ts := strconv.FormatInt(testNow.Unix()-30, 10)
	nonce := "5K8264ILTKCH16CQ2502SI8ZNMTM67VS"
	digest := sha256.Sum256([]byte(ts + "\n" + nonce + "\n" + string(body) + "\n"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("Wechatpay-Timestamp", ts)
	h.Set("Wechatpay-Nonce", nonce)
	h.Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig))
	h.Set("Wechatpay-Serial", testSerial)
	w := &WeChatPay{MchID: testMchID, AppID: testAppID, APIv3Key: apiKey, PlatformSerial: testSerial,
		PlatformKey: &key.PublicKey, Now: fixedNow}
	n, err := w.Verify(h, body)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	want := Notification{Provider: WeChat, NotifyID: "EV-2018022511223320873", Kind: KindPayment,
		OutTradeNo: "1217752501201407033233368018", ProviderRef: "1217752501201407033233368018", Amount: 100,
		OccurredAt: time.Date(2018, 6, 8, 2, 34, 56, 0, time.UTC), Raw: resource}
	if n != want {
		t.Errorf("got  %+v\nwant %+v", n, want)
	}
}

// reSigned returns a payment notice whose envelope edit has changed and which
// is then signed again, so that checks after the signature are reached.
func reSigned(t *testing.T, s *WeChatSimulator, edit func(env map[string]any, res map[string]any)) (http.Header, []byte) {
	t.Helper()
	_, body, err := s.PaymentNotice(testOutNo, testTxnID, 100, at)
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]any
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	edit(env, env["resource"].(map[string]any))
	if body, err = json.Marshal(env); err != nil {
		t.Fatal(err)
	}
	h, err := s.Sign(body)
	if err != nil {
		t.Fatal(err)
	}
	return h, body
}

// withResource returns a notice of event whose resource is plain, encrypted
// and signed as the simulator does.
func withResource(t *testing.T, s *WeChatSimulator, event, plain string) (http.Header, []byte) {
	t.Helper()
	h, body, err := s.notice(event, "", "transaction", []byte(plain), at)
	if err != nil {
		t.Fatal(err)
	}
	return h, body
}

// txn is a transaction resource for withResource with one field replaced.
func txn(replace ...string) string {
	m := map[string]any{"appid": testAppID, "mchid": testMchID, "out_trade_no": testOutNo,
		"transaction_id": testTxnID, "trade_state": "SUCCESS", "success_time": "2025-06-18T11:58:00+08:00",
		"amount": map[string]any{"total": 100, "payer_total": 100, "currency": "CNY"}}
	for i := 0; i+1 < len(replace); i += 2 {
		if replace[i+1] == "<delete>" {
			delete(m, replace[i])
		} else {
			m[replace[i]] = json.RawMessage(replace[i+1])
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// rfd is a refund resource for withResource with one field replaced.
func rfd(replace ...string) string {
	m := map[string]any{"mchid": testMchID, "out_trade_no": testOutNo, "transaction_id": testTxnID,
		"out_refund_no": "R1", "refund_id": "5030", "refund_status": "SUCCESS",
		"success_time": "2025-06-18T11:58:00+08:00",
		"amount":       map[string]any{"total": 100, "refund": 40, "payer_total": 100, "payer_refund": 40}}
	for i := 0; i+1 < len(replace); i += 2 {
		m[replace[i]] = json.RawMessage(replace[i+1])
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func TestWeChatRefusals(t *testing.T) {
	t.Parallel()
	_, other := keys(t)
	payment := func(t *testing.T, s *WeChatSimulator) (http.Header, []byte) {
		h, body, err := s.PaymentNotice(testOutNo, testTxnID, 100, at)
		if err != nil {
			t.Fatal(err)
		}
		return h, body
	}
	tests := []struct {
		name string
		// build returns the notice; it may change the verifier w.
		build func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte)
		want  *errs.Error // nil: accepted
	}{
		{"genuine", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			return payment(t, s)
		}, nil},
		{"tampered body", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			h, body := payment(t, s)
			return h, bytes.Replace(body, []byte(`"summary":"支付成功"`), []byte(`"summary":"支付成功 "`), 1)
		}, ErrBadSignature},
		{"body with trailing newline", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			h, body := payment(t, s)
			return h, append(body, '\n')
		}, ErrBadSignature},
		{"tampered signature", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			h, body := payment(t, s)
			sig, _ := base64.StdEncoding.DecodeString(h.Get(HeaderWeChatSignature))
			sig[len(sig)/2] ^= 1
			h.Set(HeaderWeChatSignature, base64.StdEncoding.EncodeToString(sig))
			return h, body
		}, ErrBadSignature},
		{"signature not base64", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			h, body := payment(t, s)
			h.Set(HeaderWeChatSignature, "WECHATPAY/SIGNTEST/"+h.Get(HeaderWeChatSignature))
			return h, body
		}, ErrBadSignature},
		{"no signature", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			h, body := payment(t, s)
			h.Del(HeaderWeChatSignature)
			return h, body
		}, ErrBadSignature},
		{"tampered nonce", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			h, body := payment(t, s)
			h.Set(HeaderWeChatNonce, h.Get(HeaderWeChatNonce)+"x")
			return h, body
		}, ErrBadSignature},
		{"no nonce", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			h, body := payment(t, s)
			h.Del(HeaderWeChatNonce)
			return h, body
		}, ErrBadSignature},
		{"tampered timestamp", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			h, body := payment(t, s)
			h.Set(HeaderWeChatTimestamp, strconv.FormatInt(testNow.Unix()+1, 10))
			return h, body
		}, ErrBadSignature},
		{"other signature type", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			h, body := payment(t, s)
			h.Set(HeaderWeChatSignatureType, "WECHATPAY2-SM2-WITH-SM3")
			return h, body
		}, ErrBadSignature},
		{"signed by another key", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			s.Key = other
			return payment(t, s)
		}, ErrBadSignature},
		{"wrong serial", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			s.Serial = "7132D72A03E93CDDF8C03BBD1F37EEDF843C8D3C"
			return payment(t, s)
		}, ErrUnknownSerial},
		{"no serial", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			h, body := payment(t, s)
			h.Del(HeaderWeChatSerial)
			return h, body
		}, ErrUnknownSerial},
		{"six minutes old", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			w.Now = func() time.Time { return testNow.Add(6 * time.Minute) }
			return payment(t, s)
		}, ErrStaleTimestamp},
		{"six minutes ahead", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			w.Now = func() time.Time { return testNow.Add(-6 * time.Minute) }
			return payment(t, s)
		}, ErrStaleTimestamp},
		{"four minutes old", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			w.Now = func() time.Time { return testNow.Add(4 * time.Minute) }
			return payment(t, s)
		}, nil},
		{"huge timestamp", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			s.Now = func() time.Time { return time.Unix(1<<62, 0) }
			return payment(t, s)
		}, ErrStaleTimestamp},
		{"other merchant", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			s.MchID = "1900000110"
			return payment(t, s)
		}, ErrWrongMerchant},
		{"other app", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			s.AppID = "wx0000000000000000"
			return payment(t, s)
		}, ErrWrongMerchant},
		{"any app when none is configured", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			s.AppID, w.AppID = "wx0000000000000000", ""
			return payment(t, s)
		}, nil},
		{"refund for other merchant", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			s.MchID = "1900000110"
			h, body, err := s.RefundNotice(testOutNo, "R1", "5030", 100, 10, at)
			if err != nil {
				t.Fatal(err)
			}
			return h, body
		}, ErrWrongMerchant},
		{"wrong API v3 key", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			w.APIv3Key = []byte("b7cde1ZJB1kG2e7VfTs3jQzDbABCDEFG")
			return payment(t, s)
		}, ErrDecryptFailed},
		{"tampered ciphertext", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			return reSigned(t, s, func(_, res map[string]any) {
				ct, _ := base64.StdEncoding.DecodeString(res["ciphertext"].(string))
				ct[0] ^= 1
				res["ciphertext"] = base64.StdEncoding.EncodeToString(ct)
			})
		}, ErrDecryptFailed},
		{"tampered associated data", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			return reSigned(t, s, func(_, res map[string]any) { res["associated_data"] = "refund" })
		}, ErrDecryptFailed},
		{"short nonce", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			return reSigned(t, s, func(_, res map[string]any) { res["nonce"] = "abc" })
		}, ErrMalformed},
		{"ciphertext not base64", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			return reSigned(t, s, func(_, res map[string]any) { res["ciphertext"] = "%%%" })
		}, ErrMalformed},
		{"plain resource", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			return reSigned(t, s, func(env, _ map[string]any) { env["resource_type"] = "plain-resource" })
		}, ErrMalformed},
		{"other algorithm", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			return reSigned(t, s, func(_, res map[string]any) { res["algorithm"] = "AEAD_SM4_GCM" })
		}, ErrMalformed},
		{"no id", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			return reSigned(t, s, func(env, _ map[string]any) { delete(env, "id") })
		}, ErrMalformed},
		{"bad create_time", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			return reSigned(t, s, func(env, _ map[string]any) { env["create_time"] = "2025-06-18 12:00:00" })
		}, ErrMalformed},
		{"unknown event", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			return reSigned(t, s, func(env, _ map[string]any) { env["event_type"] = "COUPON.USE" })
		}, ErrMalformed},
		{"body not JSON", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			h, err := s.Sign([]byte("<xml>SUCCESS</xml>"))
			if err != nil {
				t.Fatal(err)
			}
			return h, []byte("<xml>SUCCESS</xml>")
		}, ErrMalformed},
		{"resource not JSON", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			return withResource(t, s, "TRANSACTION.SUCCESS", "not json")
		}, ErrMalformed},
		{"resource not UTF-8", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			return withResource(t, s, "TRANSACTION.SUCCESS", txn("attach", "\"\xff\""))
		}, ErrMalformed},
		{"success event, closed state", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			return withResource(t, s, "TRANSACTION.SUCCESS", txn("trade_state", `"CLOSED"`))
		}, ErrMalformed},
		{"unknown trade state", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			return withResource(t, s, "TRANSACTION.SUCCESS", txn("trade_state", `"PAID"`))
		}, ErrMalformed},
		{"other currency", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			return withResource(t, s, "TRANSACTION.SUCCESS", txn("amount", `{"total":100,"currency":"USD"}`))
		}, ErrMalformed},
		{"zero total", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			return withResource(t, s, "TRANSACTION.SUCCESS", txn("amount", `{"total":0,"currency":"CNY"}`))
		}, ErrMalformed},
		{"negative total", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			return withResource(t, s, "TRANSACTION.CLOSED", txn("trade_state", `"CLOSED"`, "amount", `{"total":-5}`))
		}, ErrMalformed},
		{"total overflows", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			return withResource(t, s, "TRANSACTION.SUCCESS", txn("amount", `{"total":99999999999999999999}`))
		}, ErrMalformed},
		{"total as string", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			return withResource(t, s, "TRANSACTION.SUCCESS", txn("amount", `{"total":"100"}`))
		}, ErrMalformed},
		{"no out_trade_no", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			return withResource(t, s, "TRANSACTION.SUCCESS", txn("out_trade_no", "<delete>"))
		}, ErrMalformed},
		{"no success_time", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			return withResource(t, s, "TRANSACTION.SUCCESS", txn("success_time", "<delete>"))
		}, ErrMalformed},
		{"bad success_time", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			return withResource(t, s, "TRANSACTION.SUCCESS", txn("success_time", `"yesterday"`))
		}, ErrMalformed},
		{"control character in out_trade_no", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			return withResource(t, s, "TRANSACTION.SUCCESS", txn("out_trade_no", `"P1\u0000"`))
		}, ErrMalformed},
		{"long out_trade_no", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			return withResource(t, s, "TRANSACTION.SUCCESS", txn("out_trade_no", `"`+strings.Repeat("P", 200)+`"`))
		}, ErrMalformed},
		{"service-provider notification", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			return withResource(t, s, "TRANSACTION.SUCCESS", txn("mchid", "<delete>", "sp_mchid", `"`+testMchID+`"`))
		}, ErrWrongMerchant},
		{"refund event, other status", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			return withResource(t, s, "REFUND.SUCCESS", rfd("refund_status", `"CLOSED"`))
		}, ErrMalformed},
		{"refund above total", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			return withResource(t, s, "REFUND.SUCCESS", rfd("amount", `{"total":100,"refund":101}`))
		}, ErrMalformed},
		{"zero refund", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			return withResource(t, s, "REFUND.SUCCESS", rfd("amount", `{"total":100,"refund":0}`))
		}, ErrMalformed},
		{"refund without out_refund_no", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			return withResource(t, s, "REFUND.SUCCESS", rfd("out_refund_no", `""`))
		}, ErrMalformed},
		{"settled refund without success_time", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			return withResource(t, s, "REFUND.SUCCESS", rfd("success_time", `""`))
		}, ErrMalformed},
		{"refund built by hand", func(t *testing.T, s *WeChatSimulator, w *WeChatPay) (http.Header, []byte) {
			return withResource(t, s, "REFUND.SUCCESS", rfd())
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := wechatSim(t)
			w := s.Verifier()
			h, body := tt.build(t, s, w)
			n, err := w.Verify(h, body)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				checkNotification(t, n, WeChat)
				return
			}
			wantRefusal(t, n, err, tt.want)
		})
	}
}

// TestWeChatMisconfigured: a verifier without its configuration fails with
// an internal error (not a refusal the provider would be told about), and
// does not panic.
func TestWeChatMisconfigured(t *testing.T) {
	t.Parallel()
	s := wechatSim(t)
	h, body, err := s.PaymentNotice(testOutNo, testTxnID, 100, at)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(w *WeChatPay)
	}{
		{"no merchant", func(w *WeChatPay) { w.MchID = "" }},
		{"short API v3 key", func(w *WeChatPay) { w.APIv3Key = w.APIv3Key[:16] }},
		{"no platform key", func(w *WeChatPay) { w.PlatformKey = nil }},
		{"no serial", func(w *WeChatPay) { w.PlatformSerial = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := s.Verifier()
			tt.edit(w)
			_, err := w.Verify(h, body)
			if err == nil {
				t.Fatal("a misconfigured verifier accepted a notification")
			}
			if _, ok := errs.As(err); ok {
				t.Fatalf("configuration fault reported as a refusal: %v", err)
			}
		})
	}
}

func TestWeChatVerifyRequest(t *testing.T) {
	t.Parallel()
	s := wechatSim(t)
	h, body, err := s.PaymentNotice(testOutNo, testTxnID, 100, at)
	if err != nil {
		t.Fatal(err)
	}
	var n Notifier = s.Verifier()
	r := httptest.NewRequest(http.MethodPost, "/v1/payments/notify/wechat", bytes.NewReader(body))
	r.Header = h
	got, err := n.VerifyRequest(r)
	if err != nil || got.Kind != KindPayment || got.Amount != 100 || n.Provider() != WeChat {
		t.Fatalf("VerifyRequest = %+v, %v", got, err)
	}
	big := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(make([]byte, MaxNotificationBytes+1)))
	big.Header = h
	if _, err := n.VerifyRequest(big); !errorsIs(err, ErrTooLarge) {
		t.Fatalf("oversized body: %v", err)
	}
	status, ctype, ack := n.Ack(nil)
	if status != 200 || ctype != "application/json" || string(ack) != `{"code":"SUCCESS"}` {
		t.Fatalf("Ack(nil) = %d %s %s", status, ctype, ack)
	}
}
