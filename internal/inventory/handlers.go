package inventory

import (
	"net/http"
	"strconv"
	"time"

	"github.com/omni-retail/omni/internal/network"

	"github.com/omni-retail/omni/internal/platform/errs"
	"github.com/omni-retail/omni/internal/platform/web"
)

// Handler serves the inventory API.
type Handler struct{ S *Service }

// LevelPath names a level in a path.
type LevelPath struct {
	SKU      string `path:"sku"`
	Location string `path:"location"`
}

// IDPath names a record by id.
type IDPath struct {
	ID int64 `path:"id"`
}

// Post handles POST /api/v1/inventory/movements.
func (h *Handler) Post(w http.ResponseWriter, r *http.Request) error {
	var in PostRequest
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	out, err := h.S.Post(r.Context(), in)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusCreated, out)
}

// Movements handles GET /api/v1/inventory/movements.
func (h *Handler) Movements(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := MovementFilter{SKU: q.Get("sku"), Location: q.Get("location")}
	var err error
	if f.After, err = intParam(q.Get("after"), "after", 0); err != nil {
		return err
	}
	p, err := web.PageOf(r)
	if err != nil {
		return err
	}
	f.Limit = p.Limit
	ms, err := h.S.ListMovements(r.Context(), f)
	if err != nil {
		return err
	}
	next := ""
	if len(ms) == f.Limit {
		next = strconv.FormatInt(ms[len(ms)-1].ID, 10)
	}
	return web.JSON(w, 200, web.List[Movement]{Items: ms, NextCursor: next})
}

// Levels handles GET /api/v1/inventory/levels.
func (h *Handler) Levels(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	p, err := web.PageOf(r)
	if err != nil {
		return err
	}
	f := LevelFilter{SKU: q.Get("sku"), Style: q.Get("style"), Location: q.Get("location"), Low: q.Get("low") == "true", Limit: p.Limit, Cursor: p.Cursor}
	ls, next, err := h.S.ListLevels(r.Context(), f)
	if err != nil {
		return err
	}
	return web.JSON(w, 200, web.List[Level]{Items: ls, NextCursor: next})
}

// Level handles GET /api/v1/inventory/levels/{sku}/{location}.
func (h *Handler) Level(w http.ResponseWriter, r *http.Request) error {
	l, err := h.S.GetLevel(r.Context(), r.PathValue("sku"), r.PathValue("location"))
	if err != nil {
		return err
	}
	return web.JSON(w, 200, l)
}

// Settings handles PATCH /api/v1/inventory/levels/{sku}/{location}.
func (h *Handler) Settings(w http.ResponseWriter, r *http.Request) error {
	var in SettingsRequest
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	l, err := h.S.SetSettings(r.Context(), r.PathValue("sku"), r.PathValue("location"), in)
	if err != nil {
		return err
	}
	return web.JSON(w, 200, l)
}

// Reserve handles POST /api/v1/inventory/reservations.
func (h *Handler) Reserve(w http.ResponseWriter, r *http.Request) error {
	var in ReserveRequest
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	res, err := h.S.Reserve(r.Context(), in)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusCreated, res)
}

// Reservation handles GET /api/v1/inventory/reservations/{id}.
func (h *Handler) Reservation(w http.ResponseWriter, r *http.Request) error {
	id, err := web.PathInt(r, "id")
	if err != nil {
		return err
	}
	res, err := h.S.GetReservation(r.Context(), id)
	if err != nil {
		return err
	}
	return web.JSON(w, 200, res)
}

// Confirm handles POST /api/v1/inventory/reservations/{id}/confirm.
func (h *Handler) Confirm(w http.ResponseWriter, r *http.Request) error {
	id, err := web.PathInt(r, "id")
	if err != nil {
		return err
	}
	res, err := h.S.Confirm(r.Context(), id)
	if err != nil {
		return err
	}
	return web.JSON(w, 200, res)
}

// Release handles POST /api/v1/inventory/reservations/{id}/release.
func (h *Handler) Release(w http.ResponseWriter, r *http.Request) error {
	id, err := web.PathInt(r, "id")
	if err != nil {
		return err
	}
	var in ReleaseRequest
	if r.ContentLength != 0 {
		if err := web.Decode(r, &in); err != nil {
			return err
		}
	}
	res, err := h.S.Release(r.Context(), id, in.Reason)
	if err != nil {
		return err
	}
	return web.JSON(w, 200, res)
}

// CreateTransfer handles POST /api/v1/inventory/transfers.
func (h *Handler) CreateTransfer(w http.ResponseWriter, r *http.Request) error {
	var in TransferRequest
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	t, err := h.S.CreateTransfer(r.Context(), in)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusCreated, t)
}

// Transfers handles GET /api/v1/inventory/transfers.
func (h *Handler) Transfers(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	p, err := web.PageOf(r)
	if err != nil {
		return err
	}
	f := TransferFilter{Status: q.Get("status"), Location: q.Get("location"), Limit: p.Limit}
	if f.Before, err = intParam(q.Get("before"), "before", 0); err != nil {
		return err
	}
	ts, err := h.S.ListTransfers(r.Context(), f)
	if err != nil {
		return err
	}
	next := ""
	if len(ts) == f.Limit {
		next = strconv.FormatInt(ts[len(ts)-1].ID, 10)
	}
	return web.JSON(w, 200, web.List[Transfer]{Items: ts, NextCursor: next})
}

// Transfer handles GET /api/v1/inventory/transfers/{id}.
func (h *Handler) Transfer(w http.ResponseWriter, r *http.Request) error {
	id, err := web.PathInt(r, "id")
	if err != nil {
		return err
	}
	t, err := h.S.GetTransfer(r.Context(), id)
	if err != nil {
		return err
	}
	return web.JSON(w, 200, t)
}

// ShipTransfer handles POST /api/v1/inventory/transfers/{id}/ship.
func (h *Handler) ShipTransfer(w http.ResponseWriter, r *http.Request) error {
	id, err := web.PathInt(r, "id")
	if err != nil {
		return err
	}
	t, err := h.S.ShipTransfer(r.Context(), id)
	if err != nil {
		return err
	}
	return web.JSON(w, 200, t)
}

// ReceiveTransfer handles POST /api/v1/inventory/transfers/{id}/receive.
func (h *Handler) ReceiveTransfer(w http.ResponseWriter, r *http.Request) error {
	id, err := web.PathInt(r, "id")
	if err != nil {
		return err
	}
	var in ReceiveRequest
	if r.ContentLength != 0 {
		if err := web.Decode(r, &in); err != nil {
			return err
		}
	}
	t, err := h.S.ReceiveTransfer(r.Context(), id, in)
	if err != nil {
		return err
	}
	return web.JSON(w, 200, t)
}

// CancelTransfer handles POST /api/v1/inventory/transfers/{id}/cancel.
func (h *Handler) CancelTransfer(w http.ResponseWriter, r *http.Request) error {
	id, err := web.PathInt(r, "id")
	if err != nil {
		return err
	}
	t, err := h.S.CancelTransfer(r.Context(), id)
	if err != nil {
		return err
	}
	return web.JSON(w, 200, t)
}

// Count handles POST /api/v1/inventory/counts.
func (h *Handler) Count(w http.ResponseWriter, r *http.Request) error {
	var in CountRequest
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	c, err := h.S.Count(r.Context(), in)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusCreated, c)
}

// Availability handles GET /api/v1/inventory/availability.
func (h *Handler) Availability(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	in := ATPRequest{Channel: q.Get("channel"), SKUs: q["sku"]}
	var v errs.Validator
	for _, name := range []string{"lat", "lng"} {
		if s := q.Get(name); s != "" {
			f, err := strconv.ParseFloat(s, 64)
			if !v.Check(err == nil, name, "not_a_number", "must be a number") {
				continue
			}
			if name == "lat" {
				in.Lat = &f
			} else {
				in.Lng = &f
			}
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	p, err := web.PageOf(r)
	if err != nil {
		return err
	}
	in.Limit = p.Limit
	out, err := h.S.Availability(r.Context(), in)
	if err != nil {
		return err
	}
	return web.JSON(w, 200, out)
}

// Alerts handles GET /api/v1/inventory/alerts.
func (h *Handler) Alerts(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	p, err := web.PageOf(r)
	if err != nil {
		return err
	}
	f := AlertFilter{Status: q.Get("status"), Location: q.Get("location"), Limit: p.Limit}
	if f.Before, err = intParam(q.Get("before"), "before", 0); err != nil {
		return err
	}
	as, err := h.S.ListAlerts(r.Context(), f)
	if err != nil {
		return err
	}
	next := ""
	if len(as) == f.Limit {
		next = strconv.FormatInt(as[len(as)-1].ID, 10)
	}
	return web.JSON(w, 200, web.List[Alert]{Items: as, NextCursor: next})
}

// AcknowledgeAlert handles POST /api/v1/inventory/alerts/{id}/acknowledge.
func (h *Handler) AcknowledgeAlert(w http.ResponseWriter, r *http.Request) error {
	id, err := web.PathInt(r, "id")
	if err != nil {
		return err
	}
	a, err := h.S.AcknowledgeAlert(r.Context(), id)
	if err != nil {
		return err
	}
	return web.JSON(w, 200, a)
}

// Ledger handles GET /api/v1/inventory/ledger/check.
func (h *Handler) Ledger(w http.ResponseWriter, r *http.Request) error {
	rep, err := h.S.CheckLedger(r.Context())
	if err != nil {
		return err
	}
	return web.JSON(w, 200, rep)
}

func intParam(s, name string, def int64) (int64, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, &errs.Error{Kind: errs.Invalid, Code: "validation_failed", Message: name + " must be a non-negative integer",
			Fields: []errs.FieldError{{Field: name, Code: "not_an_integer", Message: "must be a non-negative integer"}}}
	}
	return n, nil
}

// Turnover handles GET /api/v1/inventory/turnover.
func (h *Handler) Turnover(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	in := TurnoverRequest{By: q.Get("by")}
	var v errs.Validator
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"from", &in.From}, {"to", &in.To}} {
		s := q.Get(f.name)
		if s == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t, err = time.ParseInLocation(time.DateOnly, s, network.Shanghai)
		}
		if v.Check(err == nil, f.name, "invalid_time", "must be an RFC 3339 time or a YYYY-MM-DD date") {
			*f.dst = t
		}
	}
	if s := q.Get("target_days"); s != "" {
		n, err := strconv.ParseFloat(s, 64)
		if v.Check(err == nil && n > 0 && n <= 100000, "target_days", "out_of_range", "must be a number of days greater than 0") {
			in.TargetDays = n
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	p, err := web.PageOf(r)
	if err != nil {
		return err
	}
	in.Limit = p.Limit
	rep, err := h.S.Turnover(r.Context(), in)
	if err != nil {
		return err
	}
	return web.JSON(w, 200, rep)
}
