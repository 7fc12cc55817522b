package payments

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func errorsIs(err, target error) bool { return errors.Is(err, target) }

func TestAcks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		err          error
		wechatStatus int
		wechatBody   string
		alipayStatus int
		alipayBody   string
	}{
		{"accepted", nil, 200, `{"code":"SUCCESS"}`, 200, "success"},
		{"bad signature", ErrBadSignature.Withf("details"), 401, `{"code":"FAIL","message":"bad_signature"}`, 401, "failure"},
		{"wrapped refusal", fmt.Errorf("orders: notify: %w", ErrWrongMerchant), 403, `{"code":"FAIL","message":"wrong_merchant"}`, 403, "failure"},
		{"malformed", ErrMalformed, 422, `{"code":"FAIL","message":"malformed_notification"}`, 422, "failure"},
		{"internal", errors.New("db: connection refused to secret-host"), 500, `{"code":"FAIL","message":"internal error"}`, 500, "failure"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, b := WeChatAck(tt.err)
			if s != tt.wechatStatus || string(b) != tt.wechatBody {
				t.Errorf("WeChatAck = %d %s, want %d %s", s, b, tt.wechatStatus, tt.wechatBody)
			}
			s, b = AlipayAck(tt.err)
			if s != tt.alipayStatus || string(b) != tt.alipayBody {
				t.Errorf("AlipayAck = %d %s, want %d %s", s, b, tt.alipayStatus, tt.alipayBody)
			}
			if strings.Contains(string(b), "secret") {
				t.Errorf("ack leaks the internal error")
			}
		})
	}
}

func TestProviders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		provider              string
		known, atOnce, notify bool
	}{
		{Offline, true, true, false},
		{Test, true, true, false},
		{WeChat, true, false, true},
		{Alipay, true, false, true},
		{"points", false, false, false},
		{"", false, false, false},
	}
	for _, tt := range tests {
		if Known(tt.provider) != tt.known || CapturesAtOnce(tt.provider) != tt.atOnce || Notified(tt.provider) != tt.notify {
			t.Errorf("%q: Known %v CapturesAtOnce %v Notified %v", tt.provider,
				Known(tt.provider), CapturesAtOnce(tt.provider), Notified(tt.provider))
		}
	}
	if got := strings.Join(Providers(), ","); got != "offline,test,wechat,alipay" {
		t.Errorf("Providers() = %s", got)
	}
}

func TestValidReference(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in string
		ok bool
	}{
		{"P000042_1", true},
		{"R20250618_000001", true},
		{"ABCDEF", true},
		{strings.Repeat("9", 32), true},
		{"P42_1", false}, // shorter than WeChat Pay's minimum
		{strings.Repeat("9", 33), false},
		{"P000042-1", false},
		{"P000042 1", false},
		{"订单000001", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := ValidReference(tt.in); got != tt.ok {
			t.Errorf("ValidReference(%q) = %v, want %v", tt.in, got, tt.ok)
		}
	}
}
