package coupons

import (
	"net/http"
	"strconv"

	"github.com/omni-retail/omni/internal/platform/web"
)

// Handler serves the coupons and points-mall API.
type Handler struct{ S *Service }

// CodePath names a template, coupon or mall item by code.
type CodePath struct {
	Code string `path:"code"`
}

// IDPath names a record by id.
type IDPath struct {
	ID int64 `path:"id"`
}

// MemberCouponsParams selects a member's coupons.
type MemberCouponsParams struct {
	ID int64 `path:"id" description:"the member's id"`
	CouponFilter
}

// ClaimRequest claims a coupon for a member.
type ClaimRequest struct {
	MemberID int64 `json:"member_id" required:"true"`
}

// TemplateListParams are the query of the template list.
type TemplateListParams = TemplateFilter

// ItemListParams are the query of the mall item list.
type ItemListParams = ItemFilter

// RedemptionListParams are the query of the redemption list.
type RedemptionListParams = RedemptionFilter

func boolParam(r *http.Request, name string) (*bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return nil, invalid(name, "must be true or false")
	}
	return &b, nil
}

func page(r *http.Request) (limit int, cursor string, err error) {
	p, err := web.PageOf(r)
	return p.Limit, p.Cursor, err
}

// CreateTemplate handles POST /api/v1/coupon-templates.
func (h *Handler) CreateTemplate(w http.ResponseWriter, r *http.Request) error {
	return web.Decoded(w, r, http.StatusCreated, func(in NewTemplate) (Template, error) { return h.S.CreateTemplate(r.Context(), in) })
}

// ListTemplates handles GET /api/v1/coupon-templates.
func (h *Handler) ListTemplates(w http.ResponseWriter, r *http.Request) error {
	var f TemplateFilter
	var err error
	if f.Limit, f.Cursor, err = page(r); err != nil {
		return err
	}
	if f.Claimable, err = boolParam(r, "claimable"); err != nil {
		return err
	}
	if f.Active, err = boolParam(r, "active"); err != nil {
		return err
	}
	ts, next, err := h.S.ListTemplates(r.Context(), f)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, web.List[Template]{Items: ts, NextCursor: next})
}

// GetTemplate handles GET /api/v1/coupon-templates/{code}.
func (h *Handler) GetTemplate(w http.ResponseWriter, r *http.Request) error {
	t, err := h.S.Template(r.Context(), r.PathValue("code"))
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, t)
}

// UpdateTemplate handles PATCH /api/v1/coupon-templates/{code}.
func (h *Handler) UpdateTemplate(w http.ResponseWriter, r *http.Request) error {
	return web.Decoded(w, r, http.StatusOK, func(in TemplatePatch) (Template, error) {
		return h.S.UpdateTemplate(r.Context(), r.PathValue("code"), in)
	})
}

// Issue handles POST /api/v1/coupon-templates/{code}/issue.
func (h *Handler) Issue(w http.ResponseWriter, r *http.Request) error {
	return web.Decoded(w, r, http.StatusOK, func(in IssueRequest) (IssueResult, error) {
		return h.S.Issue(r.Context(), r.PathValue("code"), in)
	})
}

// Claim handles POST /api/v1/coupon-templates/{code}/claim.
func (h *Handler) Claim(w http.ResponseWriter, r *http.Request) error {
	return web.Decoded(w, r, http.StatusCreated, func(in ClaimRequest) (Coupon, error) {
		return h.S.Claim(r.Context(), r.PathValue("code"), in.MemberID)
	})
}

// GetCoupon handles GET /api/v1/coupons/{code}.
func (h *Handler) GetCoupon(w http.ResponseWriter, r *http.Request) error {
	c, err := h.S.Coupon(r.Context(), r.PathValue("code"))
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, c)
}

// Revoke handles POST /api/v1/coupons/{code}/revoke.
func (h *Handler) Revoke(w http.ResponseWriter, r *http.Request) error {
	return web.Decoded(w, r, http.StatusOK, func(in RevokeRequest) (Coupon, error) {
		return h.S.Revoke(r.Context(), r.PathValue("code"), in)
	})
}

// MemberCoupons handles GET /api/v1/members/{id}/coupons.
func (h *Handler) MemberCoupons(w http.ResponseWriter, r *http.Request) error {
	id, err := web.PathInt(r, "id")
	if err != nil {
		return err
	}
	f := CouponFilter{State: r.URL.Query().Get("state")}
	if f.Limit, f.Cursor, err = page(r); err != nil {
		return err
	}
	cs, next, err := h.S.MemberCoupons(r.Context(), id, f)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, web.List[Coupon]{Items: cs, NextCursor: next})
}

// CreateMallItem handles POST /api/v1/mall/items.
func (h *Handler) CreateMallItem(w http.ResponseWriter, r *http.Request) error {
	return web.Decoded(w, r, http.StatusCreated, func(in NewMallItem) (MallItem, error) { return h.S.CreateMallItem(r.Context(), in) })
}

// ListMallItems handles GET /api/v1/mall/items.
func (h *Handler) ListMallItems(w http.ResponseWriter, r *http.Request) error {
	var f ItemFilter
	var err error
	if f.Limit, f.Cursor, err = page(r); err != nil {
		return err
	}
	if f.Active, err = boolParam(r, "active"); err != nil {
		return err
	}
	items, next, err := h.S.ListMallItems(r.Context(), f)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, web.List[MallItem]{Items: items, NextCursor: next})
}

// GetMallItem handles GET /api/v1/mall/items/{code}.
func (h *Handler) GetMallItem(w http.ResponseWriter, r *http.Request) error {
	it, err := h.S.MallItem(r.Context(), r.PathValue("code"))
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, it)
}

// UpdateMallItem handles PATCH /api/v1/mall/items/{code}.
func (h *Handler) UpdateMallItem(w http.ResponseWriter, r *http.Request) error {
	return web.Decoded(w, r, http.StatusOK, func(in MallItemPatch) (MallItem, error) {
		return h.S.UpdateMallItem(r.Context(), r.PathValue("code"), in)
	})
}

// Redeem handles POST /api/v1/mall/items/{code}/redeem.
func (h *Handler) Redeem(w http.ResponseWriter, r *http.Request) error {
	return web.Decoded(w, r, http.StatusCreated, func(in RedeemRequest) (Redemption, error) {
		return h.S.Redeem(r.Context(), r.PathValue("code"), in)
	})
}

// ListRedemptions handles GET /api/v1/mall/redemptions.
func (h *Handler) ListRedemptions(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := RedemptionFilter{Status: q.Get("status"), Store: q.Get("store")}
	var err error
	if f.Limit, f.Cursor, err = page(r); err != nil {
		return err
	}
	if v := q.Get("member"); v != "" {
		if f.Member, err = strconv.ParseInt(v, 10, 64); err != nil || f.Member <= 0 {
			return invalid("member", "must be a member id")
		}
	}
	rs, next, err := h.S.ListRedemptions(r.Context(), f)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, web.List[Redemption]{Items: rs, NextCursor: next})
}

// GetRedemption handles GET /api/v1/mall/redemptions/{id}.
func (h *Handler) GetRedemption(w http.ResponseWriter, r *http.Request) error {
	id, err := web.PathInt(r, "id")
	if err != nil {
		return err
	}
	red, err := h.S.Redemption(r.Context(), id)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, red)
}

// UpdateRedemption handles POST /api/v1/mall/redemptions/{id}/status.
func (h *Handler) UpdateRedemption(w http.ResponseWriter, r *http.Request) error {
	id, err := web.PathInt(r, "id")
	if err != nil {
		return err
	}
	return web.Decoded(w, r, http.StatusOK, func(in RedemptionUpdate) (Redemption, error) { return h.S.UpdateRedemption(r.Context(), id, in) })
}
