package server

import (
	"crypto/rsa"
	"fmt"
	"os"

	"github.com/omni-retail/omni/internal/payments"
	"github.com/omni-retail/omni/internal/platform/config"
)

// paymentNotifiers builds the verifiers of the configured providers'
// payment notifications; providers left unconfigured are absent, and
// their notifications are refused.
func paymentNotifiers(cfg config.Config) (map[string]payments.Notifier, error) {
	out := map[string]payments.Notifier{}
	if w := cfg.WeChatPay; w.Configured() {
		key, err := readPublicKey(w.PlatformKey)
		if err != nil {
			return nil, fmt.Errorf("wechatpay platform key: %w", err)
		}
		out[payments.WeChat] = &payments.WeChatPay{MchID: w.MchID, AppID: w.AppID, APIv3Key: []byte(w.APIv3Key),
			PlatformSerial: w.PlatformSerial, PlatformKey: key}
	}
	if a := cfg.Alipay; a.Configured() {
		key, err := readPublicKey(a.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("alipay public key: %w", err)
		}
		out[payments.Alipay] = &payments.AlipayVerifier{AppID: a.AppID, PublicKey: key, SellerID: a.SellerID}
	}
	return out, nil
}

func readPublicKey(path string) (*rsa.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return payments.ParseRSAPublicKeyPEM(b)
}
