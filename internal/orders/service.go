package orders

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/omni-retail/omni/internal/catalog"
	"github.com/omni-retail/omni/internal/fulfilment"
	"github.com/omni-retail/omni/internal/inventory"
	"github.com/omni-retail/omni/internal/network"
	"github.com/omni-retail/omni/internal/payments"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/errs"
	"github.com/omni-retail/omni/internal/platform/outbox"
)

// Catalog is what orders need of the catalog module.
type Catalog interface {
	SKURef(ctx context.Context, code string) (catalog.SKURef, error)
	SKURefByID(ctx context.Context, id int64) (catalog.SKURef, error)
	SKUFactsByID(ctx context.Context, ids []int64) (map[int64]catalog.SKUFacts, error)
	GetSKUByBarcode(ctx context.Context, barcode string) (catalog.SKU, error)
}

// Network is what orders need of the network module.
type Network interface {
	Location(ctx context.Context, code string) (network.Location, error)
	LocationByID(ctx context.Context, id int64) (network.Location, error)
	Channel(ctx context.Context, code string) (network.Channel, error)
	ChannelByID(ctx context.Context, id int64) (network.Channel, error)
}

// Members resolves member ids: Resolve returns the member an id names
// now (the survivor of a merge) and whether there is one. Without it
// (nil) every member id is unknown.
type Members interface {
	Resolve(ctx context.Context, id int64) (int64, bool, error)
}

// Options configure the service.
type Options struct {
	UnpaidTTL time.Duration // default unpaid-order lifetime (15 minutes)
	Fees      ShippingFees
	// Notifiers verify provider notifications by provider name (wechat,
	// alipay); a provider without one has its notifications refused.
	Notifiers map[string]payments.Notifier
}

// Service runs orders, payments, shipments and after-sales.
type Service struct {
	db      *db.DB
	ob      *outbox.Outbox
	cat     Catalog
	net     Network
	inv     *inventory.Service
	members Members
	now     func() time.Time
	opt     Options
	// Pricing is the price pipeline; other modules insert steps at wiring.
	Pricing *Pipeline
	loyalty []Loyalty
	gates   []Gate
	getSQL  string // Get's query, for the engine

	mu          sync.Mutex
	settings    map[int64]cachedSettings
	posChannels map[int64]cachedCode // POS channel by store id
	presales    map[int64]presale    // open presales by style id
	presalesAt  time.Time
}

// NewService returns the orders service.
func NewService(d *db.DB, ob *outbox.Outbox, cat Catalog, net Network, inv *inventory.Service, members Members, now func() time.Time, o Options) *Service {
	if now == nil {
		now = time.Now
	}
	if o.UnpaidTTL <= 0 {
		o.UnpaidTTL = 15 * time.Minute
	}
	if o.Fees == (ShippingFees{}) {
		o.Fees = DefaultFees
	}
	return &Service{db: d, ob: ob, cat: cat, net: net, inv: inv, members: members, now: now, opt: o,
		Pricing: DefaultPipeline(o.Fees), settings: map[int64]cachedSettings{}, posChannels: map[int64]cachedCode{}, getSQL: getSQL(d)}
}

// Notifier returns the verifier of a provider's notifications.
func (s *Service) Notifier(provider string) (payments.Notifier, bool) {
	n, ok := s.opt.Notifiers[provider]
	return n, ok && n != nil
}

// pickupCode draws a 6-digit pickup verification code.
func pickupCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// validMobile reports whether s is a mainland China mobile number.
func validMobile(s string) bool {
	if len(s) != 11 || s[0] != '1' || s[1] < '3' || s[1] > '9' {
		return false
	}
	for i := 2; i < 11; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ── channel settings ────────────────────────────────────────────────────

// Settings are a channel's order settings.
type Settings struct {
	Channel          string              `json:"channel"`
	Routing          fulfilment.Strategy `json:"routing" enum:"fewest_splits,nearest,warehouse_first"`
	UnpaidMinutes    int                 `json:"unpaid_minutes" minimum:"1" maximum:"10080"`
	ReturnWindowDays int                 `json:"return_window_days" minimum:"0" maximum:"365"`
	NoReason         bool                `json:"no_reason" description:"7天无理由: any reason accepted within the window"`
	Conditions       []string            `json:"conditions" description:"accepted condition codes of returned goods"`
	Default          bool                `json:"default" description:"no settings stored: these are the defaults"`
}

// DefaultConditions are the condition codes accepted by default.
var DefaultConditions = []string{"unworn_tags_on", "unworn_no_tags", "defective", "wrong_item"}

func (s *Service) defaults(ch network.Channel) Settings {
	return Settings{Channel: ch.Code, Routing: fulfilment.FewestSplits, UnpaidMinutes: int(s.opt.UnpaidTTL / time.Minute),
		ReturnWindowDays: 7, NoReason: true, Conditions: DefaultConditions, Default: true}
}

type cachedSettings struct {
	v  Settings
	at time.Time
}

// settingsTTL bounds how stale another instance's settings change can be.
const settingsTTL = 5 * time.Second

// channelSettings returns a channel's settings (cached for a few seconds).
func (s *Service) channelSettings(ctx context.Context, ch network.Channel) (Settings, error) {
	s.mu.Lock()
	c, ok := s.settings[ch.ID]
	s.mu.Unlock()
	if ok && time.Since(c.at) < settingsTTL {
		return c.v, nil
	}
	v := s.defaults(ch)
	var conds string
	err := s.db.QueryRow(ctx, `SELECT routing, unpaid_minutes, return_window_days, no_reason, conditions FROM channel_order_settings WHERE channel_id = ?`, ch.ID).
		Scan(&v.Routing, &v.UnpaidMinutes, &v.ReturnWindowDays, &v.NoReason, &conds)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return v, fmt.Errorf("orders: channel settings: %w", err)
	default:
		v.Default = false
		v.Conditions = strings.Split(conds, ",")
	}
	s.mu.Lock()
	s.settings[ch.ID] = cachedSettings{v: v, at: time.Now()}
	s.mu.Unlock()
	return v, nil
}

// GetSettings returns a channel's order settings.
func (s *Service) GetSettings(ctx context.Context, channel string) (Settings, error) {
	ch, err := s.channel(ctx, "channel", channel)
	if err != nil {
		return Settings{}, err
	}
	return s.channelSettings(ctx, ch)
}

// PutSettings replaces a channel's order settings.
func (s *Service) PutSettings(ctx context.Context, channel string, in Settings) (Settings, error) {
	ch, err := s.channel(ctx, "channel", channel)
	if err != nil {
		return Settings{}, err
	}
	var v errs.Validator
	v.Check(in.Routing.Valid(), "routing", "one_of", "must be one of fewest_splits, nearest, warehouse_first")
	v.Range(int64(in.UnpaidMinutes), 1, 10080, "unpaid_minutes")
	v.Range(int64(in.ReturnWindowDays), 0, 365, "return_window_days")
	v.Check(len(in.Conditions) >= 1 && len(in.Conditions) <= 20, "conditions", "count", "give 1 to 20 condition codes")
	for i, c := range in.Conditions {
		v.Check(errs.ValidCode(c) && !strings.Contains(c, ","), fmt.Sprintf("conditions[%d]", i), "invalid_code", "must be a code (letters, digits, '-', '_')")
	}
	if err := v.Err(); err != nil {
		return Settings{}, err
	}
	at := s.now().UnixMilli()
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		if _, err := tx.Exec(`INSERT INTO channel_order_settings (channel_id, routing, unpaid_minutes, return_window_days, no_reason, conditions, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (channel_id) DO UPDATE SET routing = excluded.routing, unpaid_minutes = excluded.unpaid_minutes,
				return_window_days = excluded.return_window_days, no_reason = excluded.no_reason, conditions = excluded.conditions,
				updated_at = excluded.updated_at`,
			ch.ID, string(in.Routing), in.UnpaidMinutes, in.ReturnWindowDays, in.NoReason, strings.Join(in.Conditions, ","), at); err != nil {
			return fmt.Errorf("orders: save settings: %w", err)
		}
		return s.ob.Append(tx, "order.settings_changed", ch.Code, in)
	})
	if err != nil {
		return Settings{}, err
	}
	s.mu.Lock()
	delete(s.settings, ch.ID)
	s.mu.Unlock()
	return s.channelSettings(ctx, ch)
}

// ── lookups ─────────────────────────────────────────────────────────────

func (s *Service) channel(ctx context.Context, field, code string) (network.Channel, error) {
	ch, err := s.net.Channel(ctx, code)
	if errors.Is(err, network.ErrChannelNotFound) {
		return ch, errs.E(errs.NotFound, "channel_not_found", "%s: no channel %q", field, code).With("field", field)
	}
	return ch, err
}

func (s *Service) location(ctx context.Context, field, code string) (network.Location, error) {
	l, err := s.net.Location(ctx, code)
	if errors.Is(err, network.ErrLocationNotFound) {
		return l, errs.E(errs.NotFound, "location_not_found", "%s: no location %q", field, code).With("field", field)
	}
	return l, err
}

// places returns the channel's locations.
func (s *Service) places(ctx context.Context, ch network.Channel) ([]network.Location, error) {
	out := make([]network.Location, 0, len(ch.LocationIDs))
	for _, id := range ch.LocationIDs {
		l, err := s.net.LocationByID(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// logNotifyError keeps an unexpected notification failure visible; the
// provider gets a failure answer and retries.
func (s *Service) logNotifyError(r *http.Request, err error) {
	slog.ErrorContext(r.Context(), "payment notification failed", "provider", r.PathValue("provider"), "err", err)
}
