package config

import (
	"flag"
	"io"
	"testing"
	"time"
)

// Defaults < environment < flags.
func TestPrecedence(t *testing.T) {
	env := map[string]string{"OMNI_DB": "postgres://env/db", "OMNI_ADDR": ":9000", "OMNI_RESERVATION_TTL": "5m", "OMNI_WORKERS": "false"}
	c := Default()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.Register(fs, func(k string) string { return env[k] })
	if err := fs.Parse([]string{"--addr", "127.0.0.1:7000"}); err != nil {
		t.Fatal(err)
	}
	if c.DB != "postgres://env/db" || c.Addr != "127.0.0.1:7000" || c.ReservationTTL != 5*time.Minute || c.Workers || c.Synchronous != "FULL" {
		t.Fatalf("config = %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []func(*Config){
		func(c *Config) { c.DB = "mysql://x" },
		func(c *Config) { c.LogLevel = "loud" },
		func(c *Config) { c.LogFormat = "xml" },
		func(c *Config) { c.ReservationTTL = 0 },
	} {
		c := Default()
		bad(&c)
		if c.Validate() == nil {
			t.Errorf("Validate accepted %+v", c)
		}
	}
}

func TestPaymentProviderSettings(t *testing.T) {
	t.Parallel()
	full := WeChatPay{MchID: "1900000109", APIv3Key: "0123456789abcdef0123456789abcdef", PlatformKey: "/etc/omni/wechatpay.pem", PlatformSerial: "5157F09EFDC096DE15EBE81A47057A72"}
	for _, tc := range []struct {
		name   string
		wechat WeChatPay
		alipay Alipay
		ok     bool
	}{
		{"none", WeChatPay{}, Alipay{}, true},
		{"wechat complete", full, Alipay{}, true},
		{"wechat short key", WeChatPay{MchID: full.MchID, APIv3Key: "short", PlatformKey: full.PlatformKey, PlatformSerial: full.PlatformSerial}, Alipay{}, false},
		{"wechat without serial", WeChatPay{MchID: full.MchID, APIv3Key: full.APIv3Key, PlatformKey: full.PlatformKey}, Alipay{}, false},
		{"alipay complete", WeChatPay{}, Alipay{AppID: "2021000123456789", PublicKey: "/etc/omni/alipay.pem"}, true},
		{"alipay without key", WeChatPay{}, Alipay{AppID: "2021000123456789"}, false},
	} {
		c := Default()
		c.WeChatPay, c.Alipay = tc.wechat, tc.alipay
		if err := c.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok=%t", tc.name, err, tc.ok)
		}
	}
}
