package orders

import "github.com/omni-retail/omni/internal/payments"

// SetNotifiers replaces the verifiers of provider notifications by provider
// name (wechat, alipay), as Options.Notifiers sets them at construction. It
// is for wiring and tests: call it before the service handles requests, as
// it is not synchronised with Notifier.
func (s *Service) SetNotifiers(n map[string]payments.Notifier) {
	s.opt.Notifiers = n
}
