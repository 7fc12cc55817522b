package orders

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/omni-retail/omni/internal/platform/errs"
	"github.com/omni-retail/omni/internal/platform/web"
)

// decodeOptional reads an optional JSON body: an empty body leaves dst at
// its zero value; anything else is decoded strictly (web.Decode).
func decodeOptional(r *http.Request, dst any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, web.MaxBody+1))
	if err != nil {
		return errs.E(errs.Malformed, "unreadable_body", "the body could not be read: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return web.Decode(r, dst)
}

func optionalWithID[T any, R any](w http.ResponseWriter, r *http.Request, f func(int64, T) (R, error)) error {
	id, err := web.PathInt(r, "id")
	if err != nil {
		return err
	}
	var in T
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	out, err := f(id, in)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, out)
}

// RequestAfterSale handles POST /api/v1/orders/{id}/after-sales.
func (h *Handler) RequestAfterSale(w http.ResponseWriter, r *http.Request) error {
	id, err := web.PathInt(r, "id")
	if err != nil {
		return err
	}
	return web.Decoded(w, r, http.StatusCreated, func(in AfterSaleRequest) (AfterSale, error) { return h.S.RequestAfterSale(r.Context(), id, in) })
}

// AfterSale handles GET /api/v1/after-sales/{id}.
func (h *Handler) AfterSale(w http.ResponseWriter, r *http.Request) error {
	return web.ByID(w, r, http.StatusOK, func(id int64) (AfterSale, error) { return h.S.GetAfterSale(r.Context(), id) })
}

// AfterSales handles GET /api/v1/after-sales.
func (h *Handler) AfterSales(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := AfterSaleListParams{Status: q.Get("status"), Cursor: q.Get("cursor")}
	var v errs.Validator
	if s := q.Get("overdue"); s != "" {
		b, err := strconv.ParseBool(strings.ToLower(s))
		v.Check(err == nil, "overdue", "invalid", "must be true or false")
		f.Overdue = b
	}
	if s := q.Get("order"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		v.Check(err == nil && n > 0, "order", "invalid", "must be an order id")
		f.Order = n
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		v.Check(err == nil, "limit", "invalid", "must be a number")
		f.Limit = n
	}
	if err := v.Err(); err != nil {
		return err
	}
	list, next, err := h.S.ListAfterSales(r.Context(), f)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, web.List[AfterSale]{Items: list, NextCursor: next})
}

// ApproveAfterSale handles POST /api/v1/after-sales/{id}/approve.
func (h *Handler) ApproveAfterSale(w http.ResponseWriter, r *http.Request) error {
	return web.ByID(w, r, http.StatusOK, func(id int64) (AfterSale, error) { return h.S.ApproveAfterSale(r.Context(), id) })
}

// RejectAfterSale handles POST /api/v1/after-sales/{id}/reject.
func (h *Handler) RejectAfterSale(w http.ResponseWriter, r *http.Request) error {
	return web.DecodedByID(w, r, http.StatusOK, func(id int64, in AfterSaleDecision) (AfterSale, error) {
		return h.S.RejectAfterSale(r.Context(), id, in)
	})
}

// ReceiveAfterSale handles POST /api/v1/after-sales/{id}/receive.
func (h *Handler) ReceiveAfterSale(w http.ResponseWriter, r *http.Request) error {
	return web.DecodedByID(w, r, http.StatusOK, func(id int64, in AfterSaleReceipt) (AfterSale, error) {
		return h.S.ReceiveAfterSale(r.Context(), id, in)
	})
}

// CompleteAfterSale handles POST /api/v1/after-sales/{id}/complete (the
// body is optional).
func (h *Handler) CompleteAfterSale(w http.ResponseWriter, r *http.Request) error {
	return optionalWithID(w, r, func(id int64, in AfterSaleCompletion) (AfterSale, error) {
		return h.S.CompleteAfterSale(r.Context(), id, in)
	})
}

// CancelAfterSale handles POST /api/v1/after-sales/{id}/cancel (the body
// is optional).
func (h *Handler) CancelAfterSale(w http.ResponseWriter, r *http.Request) error {
	return optionalWithID(w, r, func(id int64, in AfterSaleDecision) (AfterSale, error) {
		return h.S.CancelAfterSale(r.Context(), id, in)
	})
}
