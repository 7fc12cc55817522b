package orders

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/omni-retail/omni/internal/platform/errs"
	"github.com/omni-retail/omni/internal/platform/web"
)

// Handler serves the orders API.
type Handler struct {
	S *Service
	// Channels lists channels (to find a store's POS channel).
	Channels Channels
}

// IDPath names a record by id.
type IDPath struct {
	ID int64 `path:"id"`
}

// ChannelPath names a channel.
type ChannelPath struct {
	Code string `path:"code"`
}

// ProviderPath names a payment provider.
type ProviderPath struct {
	Provider string `path:"provider" enum:"wechat,alipay"`
}

// Checkout handles POST /api/v1/orders.
func (h *Handler) Checkout(w http.ResponseWriter, r *http.Request) error {
	return web.Decoded(w, r, http.StatusCreated, func(in CheckoutRequest) (Order, error) { return h.S.Checkout(r.Context(), in) })
}

// Get handles GET /api/v1/orders/{id}.
func (h *Handler) Get(w http.ResponseWriter, r *http.Request) error {
	return web.ByID(w, r, http.StatusOK, func(id int64) (Order, error) { return h.S.Get(r.Context(), id) })
}

// List handles GET /api/v1/orders.
func (h *Handler) List(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := ListParams{Status: q.Get("status"), Channel: q.Get("channel"), Store: q.Get("store"), Mobile: q.Get("mobile"), Mode: q.Get("mode"), Cursor: q.Get("cursor")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return errs.E(errs.Invalid, "validation_failed", "limit: must be a number").With("field", "limit")
		}
		f.Limit = n
	}
	list, next, err := h.S.List(r.Context(), f)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, web.List[Order]{Items: list, NextCursor: next})
}

// Pay handles POST /api/v1/orders/{id}/payments.
func (h *Handler) Pay(w http.ResponseWriter, r *http.Request) error {
	return web.DecodedByID(w, r, http.StatusOK, func(id int64, in PayRequest) (PaymentResult, error) { return h.S.Pay(r.Context(), id, in) })
}

// Refund handles POST /api/v1/orders/{id}/refunds.
func (h *Handler) Refund(w http.ResponseWriter, r *http.Request) error {
	return web.DecodedByID(w, r, http.StatusOK, func(id int64, in RefundRequest) (Order, error) { return h.S.Refund(r.Context(), id, in) })
}

// Cancel handles POST /api/v1/orders/{id}/cancel.
func (h *Handler) Cancel(w http.ResponseWriter, r *http.Request) error {
	return web.DecodedByID(w, r, http.StatusOK, func(id int64, in CancelRequest) (Order, error) { return h.S.Cancel(r.Context(), id, in) })
}

// Pick handles POST /api/v1/orders/{id}/pick.
func (h *Handler) Pick(w http.ResponseWriter, r *http.Request) error {
	return web.ByID(w, r, http.StatusOK, func(id int64) (Order, error) { return h.S.Pick(r.Context(), id) })
}

// Ready handles POST /api/v1/orders/{id}/ready.
func (h *Handler) Ready(w http.ResponseWriter, r *http.Request) error {
	return web.ByID(w, r, http.StatusOK, func(id int64) (Order, error) { return h.S.Ready(r.Context(), id) })
}

// Complete handles POST /api/v1/orders/{id}/complete.
func (h *Handler) Complete(w http.ResponseWriter, r *http.Request) error {
	return web.ByID(w, r, http.StatusOK, func(id int64) (Order, error) { return h.S.Complete(r.Context(), id) })
}

// HandOver handles POST /api/v1/orders/{id}/pickup.
func (h *Handler) HandOver(w http.ResponseWriter, r *http.Request) error {
	return web.DecodedByID(w, r, http.StatusOK, func(id int64, in PickupRequest) (Order, error) { return h.S.HandOver(r.Context(), id, in) })
}

// Ship handles POST /api/v1/orders/{id}/shipments.
func (h *Handler) Ship(w http.ResponseWriter, r *http.Request) error {
	id, err := web.PathInt(r, "id")
	if err != nil {
		return err
	}
	return web.Decoded(w, r, http.StatusCreated, func(in ShipRequest) (Shipment, error) { return h.S.Ship(r.Context(), id, in) })
}

// Shipment handles GET /api/v1/shipments/{id}.
func (h *Handler) Shipment(w http.ResponseWriter, r *http.Request) error {
	return web.ByID(w, r, http.StatusOK, func(id int64) (Shipment, error) { return h.S.GetShipment(r.Context(), id) })
}

// Track handles POST /api/v1/shipments/{id}/events.
func (h *Handler) Track(w http.ResponseWriter, r *http.Request) error {
	return web.DecodedByID(w, r, http.StatusOK, func(id int64, in TrackingEvent) (Shipment, error) { return h.S.Track(r.Context(), id, in) })
}

// Late handles GET /api/v1/shipments/late.
func (h *Handler) Late(w http.ResponseWriter, r *http.Request) error {
	list, err := h.S.LateShipments(r.Context(), 200)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, web.List[Shipment]{Items: list})
}

// Sell handles POST /api/v1/pos/sales.
func (h *Handler) Sell(w http.ResponseWriter, r *http.Request) error {
	return web.Decoded(w, r, http.StatusCreated, func(in SaleRequest) (Order, error) { return h.S.Sell(r.Context(), in, h.Channels) })
}

// CreatePresale handles POST /api/v1/presales.
func (h *Handler) CreatePresale(w http.ResponseWriter, r *http.Request) error {
	return web.Decoded(w, r, http.StatusCreated, func(in NewPresale) (Presale, error) { return h.S.CreatePresale(r.Context(), in) })
}

// Presales handles GET /api/v1/presales.
func (h *Handler) Presales(w http.ResponseWriter, r *http.Request) error {
	list, err := h.S.ListPresales(r.Context())
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, web.List[Presale]{Items: list})
}

// ClosePresale handles POST /api/v1/presales/{id}/close.
func (h *Handler) ClosePresale(w http.ResponseWriter, r *http.Request) error {
	return web.ByID(w, r, http.StatusOK, func(id int64) (Presale, error) { return h.S.ClosePresale(r.Context(), id) })
}

// Settings handles GET /api/v1/channels/{code}/order-settings.
func (h *Handler) Settings(w http.ResponseWriter, r *http.Request) error {
	out, err := h.S.GetSettings(r.Context(), r.PathValue("code"))
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, out)
}

// PutSettings handles PUT /api/v1/channels/{code}/order-settings.
func (h *Handler) PutSettings(w http.ResponseWriter, r *http.Request) error {
	return web.Decoded(w, r, http.StatusOK, func(in Settings) (Settings, error) { return h.S.PutSettings(r.Context(), r.PathValue("code"), in) })
}

// Notify handles POST /api/v1/payments/notify/{provider}: a provider's
// signed notification. The signature is the authentication; the answer is
// in the provider's own format.
func (h *Handler) Notify(w http.ResponseWriter, r *http.Request) error {
	n, ok := h.S.Notifier(r.PathValue("provider"))
	if !ok {
		return errs.E(errs.NotFound, "provider_not_configured", "provider %q is not configured on this server", r.PathValue("provider"))
	}
	note, err := n.VerifyRequest(r)
	if err == nil {
		err = h.S.Notify(r.Context(), note)
	}
	status, ctype, body := n.Ack(err)
	if err != nil {
		var e *errs.Error
		if !errors.As(err, &e) {
			h.S.logNotifyError(r, err)
		}
	}
	w.Header().Set("Content-Type", ctype)
	w.WriteHeader(status)
	_, werr := w.Write(body)
	return werr
}
