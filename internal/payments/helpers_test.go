package payments

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/platform/errs"
)

// testNow is the fixed clock of the simulators and verifiers in tests.
var testNow = time.Date(2025, 6, 18, 4, 0, 0, 0, time.UTC) // 12:00 in Shanghai

func fixedNow() time.Time { return testNow }

// The RSA keys are generated once per test binary: two 2048-bit keys, the
// providers' and a stranger's.
var testKeys struct {
	once            sync.Once
	provider, other *rsa.PrivateKey
	err             error
}

func keys(t testing.TB) (provider, other *rsa.PrivateKey) {
	t.Helper()
	testKeys.once.Do(func() {
		var wg sync.WaitGroup
		var errA, errB error
		wg.Go(func() { testKeys.provider, errA = rsa.GenerateKey(rand.Reader, 2048) })
		wg.Go(func() { testKeys.other, errB = rsa.GenerateKey(rand.Reader, 2048) })
		wg.Wait()
		testKeys.err = errors.Join(errA, errB)
	})
	if testKeys.err != nil {
		t.Fatalf("generating keys: %v", testKeys.err)
	}
	return testKeys.provider, testKeys.other
}

const (
	testMchID   = "1900000109"
	testAppID   = "wxd678efh567hg6787"
	testAliApp  = "2021000123456789"
	testSeller  = "2088102146225135"
	testSerial  = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
	testAPIv3   = "a7cde1ZJB1kG2e7VfTs3jQzDbABCDEFG" // 32 bytes
	testOutNo   = "P000042_1"
	testTxnID   = "4200002207202506186735151987"
	testTradeNo = "2025061822001404590512345678"
)

// wechatSim is a simulator with the fixed test key, API v3 key, serial and
// clock; each test gets its own copy to change.
func wechatSim(t testing.TB) *WeChatSimulator {
	k, _ := keys(t)
	return &WeChatSimulator{MchID: testMchID, AppID: testAppID, APIv3Key: []byte(testAPIv3),
		Serial: testSerial, Key: k, Now: fixedNow}
}

func alipaySim(t testing.TB) *AlipaySimulator {
	k, _ := keys(t)
	return &AlipaySimulator{AppID: testAliApp, SellerID: testSeller, Key: k}
}

// wantRefusal fails unless err is the refusal want (by kind and code) and n
// is the zero Notification.
func wantRefusal(t *testing.T, n Notification, err error, want *errs.Error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %s", err, want.Code)
	}
	if n != (Notification{}) {
		t.Errorf("a refusal returned a notification: %+v", n)
	}
}

// refusalOrPanic fails when err is an error other than a refusal (the
// verifiers under fuzzing are configured, so any other error is a bug).
func refusalOnly(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if _, ok := errs.As(err); !ok {
		t.Fatalf("error is not a refusal: %v", err)
	}
}

// checkNotification checks the invariants of every verified notification.
func checkNotification(t *testing.T, n Notification, provider string) {
	t.Helper()
	switch n.Kind {
	case KindPayment, KindClosed, KindRefund, KindRefundFailed, KindPending:
	default:
		t.Fatalf("kind %q", n.Kind)
	}
	if n.Provider != provider || n.NotifyID == "" || n.OutTradeNo == "" || n.Raw == "" {
		t.Fatalf("incomplete notification %+v", n)
	}
	if n.Amount < 0 || n.RefundAmount < 0 || n.RefundAmount > n.Amount {
		t.Fatalf("amounts %d / %d", n.Amount, n.RefundAmount)
	}
	if n.Kind == KindPayment && (n.Amount <= 0 || n.ProviderRef == "") {
		t.Fatalf("payment without amount or reference: %+v", n)
	}
	if (n.Kind == KindRefund || n.Kind == KindRefundFailed) && (n.OutRefundNo == "" || n.RefundAmount <= 0) {
		t.Fatalf("refund without reference or amount: %+v", n)
	}
	if n.OccurredAt.Location() != time.UTC {
		t.Fatalf("OccurredAt %v is not UTC", n.OccurredAt)
	}
}
