// Package config reads Omni's configuration: defaults, then OMNI_*
// environment variables, then command-line flags, each overriding the last.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/omni-retail/omni/internal/platform/db"
)

// Config is the configuration of one omni process.
type Config struct {
	DB          string // sqlite:PATH or postgres://…
	Addr        string // listen address of the HTTP API
	Synchronous string // SQLite synchronous pragma: FULL or NORMAL
	LogLevel    string // debug, info, warn, error
	LogFormat   string // text or json
	AdminKey    string // optional admin API key to ensure at start (secret)

	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	ShutdownTimeout   time.Duration

	ReservationTTL time.Duration // default hold of a reservation
	UnpaidTTL      time.Duration // default life of an unpaid order (channels may override)
	Workers        bool          // run background workers (expiry, webhooks)

	// Payment providers' notification settings; a provider whose settings
	// are empty has its notifications refused (404 provider_not_configured).
	WeChatPay WeChatPay
	Alipay    Alipay
}

// WeChatPay holds what verifying WeChat Pay v3 notifications needs.
type WeChatPay struct {
	MchID          string // 商户号
	AppID          string // optional: transactions must carry this appid
	APIv3Key       string // 32-byte APIv3 key (secret)
	PlatformKey    string // path of the platform certificate or WeChat Pay public key (PEM)
	PlatformSerial string // its serial (Wechatpay-Serial)
}

// Alipay holds what verifying Alipay notifications needs.
type Alipay struct {
	AppID     string
	PublicKey string // path of Alipay's public key for the app (PEM or bare base64)
	SellerID  string // optional: the merchant's 2088… PID
}

// Configured reports whether any WeChat Pay setting is given.
func (w WeChatPay) Configured() bool { return w != (WeChatPay{}) }

// Configured reports whether any Alipay setting is given.
func (a Alipay) Configured() bool { return a != (Alipay{}) }

// Default returns the built-in defaults.
func Default() Config {
	return Config{
		DB:                "sqlite:./omni.db",
		Addr:              "127.0.0.1:8080",
		Synchronous:       "FULL",
		LogLevel:          "info",
		LogFormat:         "text",
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ShutdownTimeout:   20 * time.Second,
		ReservationTTL:    15 * time.Minute,
		UnpaidTTL:         15 * time.Minute,
		Workers:           true,
	}
}

// Register binds the flags of c on fs, with environment values (looked up
// with getenv) as their defaults.
func (c *Config) Register(fs *flag.FlagSet, getenv func(string) string) {
	str := func(p *string, name, env, usage string) {
		if v := getenv(env); v != "" {
			*p = v
		}
		fs.StringVar(p, name, *p, usage+" ($"+env+")")
	}
	dur := func(p *time.Duration, name, env, usage string) {
		if v := getenv(env); v != "" {
			if d, err := time.ParseDuration(v); err == nil {
				*p = d
			}
		}
		fs.DurationVar(p, name, *p, usage+" ($"+env+")")
	}
	str(&c.DB, "db", "OMNI_DB", "database: sqlite:PATH or postgres://user:pass@host/db")
	str(&c.Addr, "addr", "OMNI_ADDR", "HTTP listen address")
	str(&c.Synchronous, "sqlite-synchronous", "OMNI_SQLITE_SYNCHRONOUS", "SQLite synchronous mode: FULL (durable) or NORMAL")
	str(&c.LogLevel, "log-level", "OMNI_LOG_LEVEL", "log level: debug, info, warn, error")
	str(&c.LogFormat, "log-format", "OMNI_LOG_FORMAT", "log format: text or json")
	str(&c.AdminKey, "admin-key", "OMNI_ADMIN_KEY", "admin API key to create if missing (omni_<8 hex>_<32+ hex>)")
	dur(&c.ReadHeaderTimeout, "read-header-timeout", "OMNI_READ_HEADER_TIMEOUT", "HTTP read header timeout")
	dur(&c.ReadTimeout, "read-timeout", "OMNI_READ_TIMEOUT", "HTTP read timeout")
	dur(&c.WriteTimeout, "write-timeout", "OMNI_WRITE_TIMEOUT", "HTTP write timeout (event streams are exempt)")
	dur(&c.IdleTimeout, "idle-timeout", "OMNI_IDLE_TIMEOUT", "HTTP keep-alive idle timeout")
	dur(&c.ShutdownTimeout, "shutdown-timeout", "OMNI_SHUTDOWN_TIMEOUT", "grace period for in-flight requests on SIGINT/SIGTERM")
	dur(&c.ReservationTTL, "reservation-ttl", "OMNI_RESERVATION_TTL", "default hold of a stock reservation")
	dur(&c.UnpaidTTL, "unpaid-ttl", "OMNI_UNPAID_TTL", "default time an order may wait for payment before it is cancelled")
	str(&c.WeChatPay.MchID, "wechatpay-mchid", "OMNI_WECHATPAY_MCHID", "WeChat Pay merchant id (商户号) for payment notifications")
	str(&c.WeChatPay.AppID, "wechatpay-appid", "OMNI_WECHATPAY_APPID", "WeChat Pay: the appid transactions must carry (optional)")
	str(&c.WeChatPay.APIv3Key, "wechatpay-apiv3-key", "OMNI_WECHATPAY_APIV3_KEY", "WeChat Pay APIv3 key, 32 bytes (secret; prefer the environment)")
	str(&c.WeChatPay.PlatformKey, "wechatpay-platform-key", "OMNI_WECHATPAY_PLATFORM_KEY", "WeChat Pay: path of the platform certificate or public key (PEM)")
	str(&c.WeChatPay.PlatformSerial, "wechatpay-platform-serial", "OMNI_WECHATPAY_PLATFORM_SERIAL", "WeChat Pay: serial of that certificate or key")
	str(&c.Alipay.AppID, "alipay-appid", "OMNI_ALIPAY_APPID", "Alipay app id for payment notifications")
	str(&c.Alipay.PublicKey, "alipay-public-key", "OMNI_ALIPAY_PUBLIC_KEY", "Alipay: path of Alipay's public key for the app (PEM or bare base64)")
	str(&c.Alipay.SellerID, "alipay-seller-id", "OMNI_ALIPAY_SELLER_ID", "Alipay: the merchant's 2088… PID notifications must name (optional)")
	if v := getenv("OMNI_WORKERS"); v != "" {
		c.Workers, _ = strconv.ParseBool(v)
	}
	fs.BoolVar(&c.Workers, "workers", c.Workers, "run background workers: reservation expiry, webhook delivery ($OMNI_WORKERS)")
}

// Validate checks the values.
func (c Config) Validate() error {
	if _, _, err := db.ParseURL(c.DB); err != nil {
		return err
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("config: log level %q is not debug, info, warn or error", c.LogLevel)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("config: log format %q is not text or json", c.LogFormat)
	}
	if c.UnpaidTTL < time.Minute || c.UnpaidTTL > 7*24*time.Hour {
		return fmt.Errorf("config: unpaid TTL %s must be between 1m and 168h", c.UnpaidTTL)
	}
	if c.ReservationTTL < time.Second || c.ReservationTTL > 7*24*time.Hour {
		return fmt.Errorf("config: reservation TTL %s must be between 1s and 168h", c.ReservationTTL)
	}
	if w := c.WeChatPay; w.Configured() {
		if w.MchID == "" || len(w.APIv3Key) != 32 || w.PlatformKey == "" || w.PlatformSerial == "" {
			return errors.New("config: WeChat Pay needs --wechatpay-mchid, a 32-byte --wechatpay-apiv3-key, --wechatpay-platform-key and --wechatpay-platform-serial")
		}
	}
	if a := c.Alipay; a.Configured() && (a.AppID == "" || a.PublicKey == "") {
		return errors.New("config: Alipay needs --alipay-appid and --alipay-public-key")
	}
	return nil
}

// Print writes the configuration with secrets masked.
func (c Config) Print(w io.Writer) {
	key := ""
	if c.AdminKey != "" {
		key = "(set)"
	}
	fmt.Fprintf(w, "db=%s addr=%s sqlite-synchronous=%s log=%s/%s admin-key=%s reservation-ttl=%s workers=%t wechatpay=%t alipay=%t\n",
		db.Redact(c.DB), c.Addr, c.Synchronous, c.LogLevel, c.LogFormat, key, c.ReservationTTL, c.Workers, c.WeChatPay.Configured(), c.Alipay.Configured())
}
