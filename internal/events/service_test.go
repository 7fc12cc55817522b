package events

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
	"github.com/omni-retail/omni/internal/platform/errs"
	"github.com/omni-retail/omni/internal/platform/web"
)

// fieldsOf returns the field names of an Invalid error.
func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Kind != errs.Invalid {
		t.Fatalf("got %v, want a validation error", err)
	}
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Field)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func TestCreateWebhookValidation(t *testing.T) {
	t.Parallel()
	d := dbtest.SQLite(t)
	f := newFixture(t, d)
	many := make([]string, 21)
	for i := range many {
		many[i] = fmt.Sprintf("t%d.*", i)
	}
	cases := []struct {
		name  string
		in    NewWebhook
		field string
	}{
		{"missing url", NewWebhook{Topics: []string{"*"}}, "url"},
		{"relative url", NewWebhook{URL: "/hooks", Topics: []string{"*"}}, "url"},
		{"ftp url", NewWebhook{URL: "ftp://example.com/x", Topics: []string{"*"}}, "url"},
		{"no host", NewWebhook{URL: "https:///path", Topics: []string{"*"}}, "url"},
		{"not a url", NewWebhook{URL: "http://[::1", Topics: []string{"*"}}, "url"},
		{"no topics", NewWebhook{URL: "https://example.com/h"}, "topics"},
		{"21 topics", NewWebhook{URL: "https://example.com/h", Topics: many}, "topics"},
		{"upper case pattern", NewWebhook{URL: "https://example.com/h", Topics: []string{"inventory.*", "Catalog.*"}}, "topics[1]"},
		{"star inside pattern", NewWebhook{URL: "https://example.com/h", Topics: []string{"inv*"}}, "topics[0]"},
		{"short secret", NewWebhook{URL: "https://example.com/h", Topics: []string{"*"}, Secret: "short"}, "secret"},
		{"secret with a space", NewWebhook{URL: "https://example.com/h", Topics: []string{"*"}, Secret: "0123456789 abcdef"}, "secret"},
		{"negative from_event_id", NewWebhook{URL: "https://example.com/h", Topics: []string{"*"}, FromEventID: ptr(int64(-1))}, "from_event_id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := f.s.CreateWebhook(context.Background(), tc.in)
			if got := fieldsOf(t, err); !slices.Equal(got, []string{tc.field}) {
				t.Fatalf("fields %v, want [%s]", got, tc.field)
			}
		})
	}
}

func TestWebhookLifecycle(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, d)
		ids := f.emit(t, "inventory.a", "inventory.b")

		c, err := f.s.CreateWebhook(ctx, NewWebhook{URL: "https://shop.example.com/hooks", Topics: []string{"inventory.*", "inventory.*", "orders.placed"}})
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(c.Secret) {
			t.Fatalf("generated secret %q is not 32 random bytes in hex", c.Secret)
		}
		if c.Cursor != ids[1] || !c.Active || !slices.Equal(c.Topics, []string{"inventory.*", "orders.placed"}) {
			t.Fatalf("created %+v: want cursor %d (end of outbox), active, topics deduplicated", c.Webhook, ids[1])
		}
		given, err := f.s.CreateWebhook(ctx, NewWebhook{URL: "http://127.0.0.1:9/x", Topics: []string{"*"}, Secret: "my-own-secret-1234", FromEventID: ptr(ids[1])})
		if err != nil {
			t.Fatal(err)
		}
		if given.Secret != "my-own-secret-1234" || given.Cursor != ids[1]-1 {
			t.Fatalf("created %+v with secret %q: want the given secret and cursor %d", given.Webhook, given.Secret, ids[1]-1)
		}

		got, err := f.s.GetWebhook(ctx, c.ID)
		if err != nil || got.URL != c.URL {
			t.Fatalf("get = %+v, %v", got, err)
		}
		all, err := f.s.ListWebhooks(ctx)
		if err != nil || len(all) != 2 || all[0].ID != c.ID {
			t.Fatalf("list = %+v, %v", all, err)
		}

		up, err := f.s.UpdateWebhook(ctx, c.ID, WebhookPatch{Active: ptr(false), Topics: []string{"catalog.*"}})
		if err != nil {
			t.Fatal(err)
		}
		if up.Active || !slices.Equal(up.Topics, []string{"catalog.*"}) || up.URL != c.URL {
			t.Fatalf("updated = %+v", up)
		}
		if _, err := f.s.UpdateWebhook(ctx, c.ID, WebhookPatch{URL: ptr("mailto:x@y"), Topics: []string{}}); !slices.Equal(fieldsOf(t, err), []string{"url", "topics"}) {
			t.Fatalf("bad patch: %v", err)
		}
		if _, err := f.s.UpdateWebhook(ctx, 999999, WebhookPatch{Active: ptr(true)}); !errors.Is(err, ErrWebhookNotFound) {
			t.Fatalf("update of a missing webhook: %v", err)
		}

		if err := f.s.DeleteWebhook(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.GetWebhook(ctx, c.ID); !errors.Is(err, ErrWebhookNotFound) {
			t.Fatalf("get after delete: %v", err)
		}
		if err := f.s.DeleteWebhook(ctx, c.ID); !errors.Is(err, ErrWebhookNotFound) {
			t.Fatalf("second delete: %v", err)
		}
		if _, err := f.s.ListDeliveries(ctx, c.ID, "", web.Page{Limit: 10}); !errors.Is(err, ErrWebhookNotFound) {
			t.Fatalf("deliveries of a deleted webhook: %v", err)
		}
		if _, err := f.s.Redeliver(ctx, 424242); !errors.Is(err, ErrDeliveryNotFound) {
			t.Fatalf("redeliver of a missing delivery: %v", err)
		}
	})
}

func TestListEvents(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		t.Parallel()
		ctx := context.Background()
		f := newFixture(t, d)
		ids := f.emit(t, "inventory.level_changed", "catalog.style_changed", "inventory.levelxchanged",
			"inventoryx.other", "orders.placed", "inventory.reserved")
		topicsOf := func(evs []Event) string {
			var s []string
			for _, e := range evs {
				s = append(s, e.Topic)
			}
			return strings.Join(s, " ")
		}
		cases := []struct {
			name   string
			after  int64
			topics []string
			limit  int
			want   string
		}{
			{"all", 0, nil, 0, "inventory.level_changed catalog.style_changed inventory.levelxchanged inventoryx.other orders.placed inventory.reserved"},
			{"star", 0, []string{"*"}, 0, "inventory.level_changed catalog.style_changed inventory.levelxchanged inventoryx.other orders.placed inventory.reserved"},
			{"prefix", 0, []string{"inventory.*"}, 0, "inventory.level_changed inventory.levelxchanged inventory.reserved"},
			{"exact: '_' is not a wildcard", 0, []string{"inventory.level_changed"}, 0, "inventory.level_changed"},
			{"several", 0, []string{"catalog.*", "orders.placed"}, 0, "catalog.style_changed orders.placed"},
			{"after and limit", ids[1], nil, 2, "inventory.levelxchanged inventoryx.other"},
			{"after the end", ids[5], nil, 0, ""},
		}
		for _, tc := range cases {
			evs, err := f.s.List(ctx, tc.after, tc.topics, tc.limit)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if got := topicsOf(evs); got != tc.want {
				t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
			}
		}
		evs, _ := f.s.List(ctx, 0, nil, 1)
		if e := evs[0]; e.ID != ids[0] || e.Subject != "S-inventory.level_changed" || string(e.Payload) != `{"n":0,"topic":"inventory.level_changed"}` || !e.CreatedAt.Equal(f.clk.Now()) {
			t.Fatalf("event = %+v (payload %s)", e, e.Payload)
		}
		for _, bad := range []struct {
			after  int64
			topics []string
			limit  int
			field  string
		}{{-1, nil, 10, "after"}, {0, []string{"A"}, 10, "topic"}, {0, nil, 501, "limit"}} {
			_, err := f.s.List(ctx, bad.after, bad.topics, bad.limit)
			if got := fieldsOf(t, err); !slices.Equal(got, []string{bad.field}) {
				t.Errorf("List(%d, %v, %d): fields %v, want [%s]", bad.after, bad.topics, bad.limit, got, bad.field)
			}
		}
	})
}
