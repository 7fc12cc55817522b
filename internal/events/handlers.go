package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/omni-retail/omni/internal/platform/errs"
	"github.com/omni-retail/omni/internal/platform/web"
)

// Handler serves the events module's HTTP API.
type Handler struct{ S *Service }

// topicParams reads ?topic= values, repeated or comma-separated.
func topicParams(r *http.Request) []string {
	var out []string
	for _, v := range r.URL.Query()["topic"] {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func idParam(s, field string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0, invalid(field, "wrong_type", "must be a non-negative integer event id")
	}
	return n, nil
}

// ListEvents answers GET /api/v1/events.
func (h *Handler) ListEvents(w http.ResponseWriter, r *http.Request) error {
	page, err := web.PageOf(r)
	if err != nil {
		return err
	}
	var after int64
	if s := r.URL.Query().Get("after"); s != "" {
		if after, err = idParam(s, "after"); err != nil {
			return err
		}
	}
	if page.Cursor != "" {
		if after, err = idParam(page.Cursor, "cursor"); err != nil {
			return err
		}
	}
	evs, err := h.S.List(r.Context(), after, topicParams(r), page.Limit)
	if err != nil {
		return err
	}
	out := web.List[Event]{Items: evs}
	if len(evs) == page.Limit {
		out.NextCursor = strconv.FormatInt(evs[len(evs)-1].ID, 10)
	}
	return web.JSON(w, http.StatusOK, out)
}

// Stream answers GET /api/v1/events/stream with server-sent events: one
// "id: N / event: <topic> / data: <event JSON>" message per matching event,
// and a ": keep-alive" comment when idle. It resumes after Last-Event-ID or
// ?after=, else starts at the current end of the outbox, and runs until the
// client goes away or the server shuts down.
func (h *Handler) Stream(w http.ResponseWriter, r *http.Request) error {
	var v errs.Validator
	ps := parsePatterns(&v, "topic", topicParams(r), false)
	if err := v.Err(); err != nil {
		return err
	}
	ctx := r.Context()
	var cursor int64
	var err error
	switch {
	case r.Header.Get("Last-Event-ID") != "":
		cursor, err = idParam(r.Header.Get("Last-Event-ID"), "Last-Event-ID")
	case r.URL.Query().Get("after") != "":
		cursor, err = idParam(r.URL.Query().Get("after"), "after")
	default:
		cursor, err = h.S.lastID(ctx)
	}
	if err != nil {
		return err
	}
	rc := http.NewResponseController(w)
	// The server's WriteTimeout would cut the stream; it ends with the
	// request's context instead.
	if err := rc.SetWriteDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return fmt.Errorf("events: stream: clear write deadline: %w", err)
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Accel-Buffering", "no") // no proxy buffering (nginx)
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return fmt.Errorf("events: stream: %w", err)
	}
	var buf []byte
	emit := func(e Event) error {
		data, err := json.Marshal(e)
		if err != nil {
			return err
		}
		buf = buf[:0]
		buf = append(buf, "id: "...)
		buf = strconv.AppendInt(buf, e.ID, 10)
		buf = append(buf, "\nevent: "...)
		buf = append(buf, e.Topic...)
		buf = append(buf, "\ndata: "...)
		buf = append(buf, data...)
		buf = append(buf, "\n\n"...)
		_, err = w.Write(buf)
		return err
	}
	ping := func() error {
		if _, err := w.Write([]byte(": keep-alive\n\n")); err != nil {
			return err
		}
		return rc.Flush()
	}
	if err := h.S.follow(ctx, cursor, ps, emit, rc.Flush, ping); err != nil && ctx.Err() == nil {
		h.S.log.Debug("events: stream ended", "err", err)
	}
	return nil // the body has started: nothing more to report to the client
}

func webhookID(r *http.Request) (int64, error) { return web.PathInt(r, "id") }

// CreateWebhook answers POST /api/v1/webhooks.
func (h *Handler) CreateWebhook(w http.ResponseWriter, r *http.Request) error {
	var in NewWebhook
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	c, err := h.S.CreateWebhook(r.Context(), in)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusCreated, c)
}

// ListWebhooks answers GET /api/v1/webhooks.
func (h *Handler) ListWebhooks(w http.ResponseWriter, r *http.Request) error {
	ws, err := h.S.ListWebhooks(r.Context())
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, web.List[Webhook]{Items: ws})
}

// GetWebhook answers GET /api/v1/webhooks/{id}.
func (h *Handler) GetWebhook(w http.ResponseWriter, r *http.Request) error {
	id, err := webhookID(r)
	if err != nil {
		return err
	}
	wh, err := h.S.GetWebhook(r.Context(), id)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, wh)
}

// UpdateWebhook answers PATCH /api/v1/webhooks/{id}.
func (h *Handler) UpdateWebhook(w http.ResponseWriter, r *http.Request) error {
	id, err := webhookID(r)
	if err != nil {
		return err
	}
	var p WebhookPatch
	if err := web.Decode(r, &p); err != nil {
		return err
	}
	wh, err := h.S.UpdateWebhook(r.Context(), id, p)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, wh)
}

// DeleteWebhook answers DELETE /api/v1/webhooks/{id} with 204.
func (h *Handler) DeleteWebhook(w http.ResponseWriter, r *http.Request) error {
	id, err := webhookID(r)
	if err != nil {
		return err
	}
	if err := h.S.DeleteWebhook(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ListDeliveries answers GET /api/v1/webhooks/{id}/deliveries.
func (h *Handler) ListDeliveries(w http.ResponseWriter, r *http.Request) error {
	id, err := webhookID(r)
	if err != nil {
		return err
	}
	page, err := web.PageOf(r)
	if err != nil {
		return err
	}
	out, err := h.S.ListDeliveries(r.Context(), id, r.URL.Query().Get("status"), page)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, out)
}

// Redeliver answers POST /api/v1/webhooks/deliveries/{id}/redeliver.
func (h *Handler) Redeliver(w http.ResponseWriter, r *http.Request) error {
	id, err := web.PathInt(r, "id")
	if err != nil {
		return err
	}
	dl, err := h.S.Redeliver(r.Context(), id)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, dl)
}
