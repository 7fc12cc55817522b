package members

import (
	"net/http"
	"strconv"

	"github.com/omni-retail/omni/internal/platform/errs"
	"github.com/omni-retail/omni/internal/platform/web"
)

// Handler serves the members API.
type Handler struct{ S *Service }

// IDPath names a member (or a member-only sale) by id.
type IDPath struct {
	ID int64 `path:"id"`
}

// ListParams filter the member list.
type ListParams struct {
	Tier   *int   `query:"tier" minimum:"0" maximum:"4" description:"only active members of this tier level"`
	Limit  int    `query:"limit" minimum:"1" maximum:"500"`
	Cursor string `query:"cursor"`
}

// LookupParams name an identity.
type LookupParams struct {
	Kind  IdentityKind `query:"kind" required:"true" enum:"mobile,unionid,openid,email,card"`
	App   string       `query:"app" description:"openid: the app id"`
	Value string       `query:"value" required:"true"`
}

// PageParams page a member's list.
type PageParams struct {
	ID     int64  `path:"id"`
	Limit  int    `query:"limit" minimum:"1" maximum:"500"`
	Cursor string `query:"cursor"`
}

// Register handles POST /api/v1/members.
func (h *Handler) Register(w http.ResponseWriter, r *http.Request) error {
	var in Registration
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	m, err := h.S.Register(r.Context(), in)
	if err != nil {
		return err
	}
	if mustMask(r.Context(), m) {
		m.mask()
	}
	return web.JSON(w, http.StatusCreated, m)
}

// List handles GET /api/v1/members.
func (h *Handler) List(w http.ResponseWriter, r *http.Request) error {
	p, err := web.PageOf(r)
	if err != nil {
		return err
	}
	tier := -1
	if v := r.URL.Query().Get("tier"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 4 {
			return errs.E(errs.Invalid, "validation_failed", "tier: must be a level 0 to 4").With("field", "tier")
		}
		tier = n
	}
	out, next, err := h.S.List(r.Context(), tier, p.Limit, p.Cursor)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, web.List[Summary]{Items: out, NextCursor: next})
}

// Lookup handles GET /api/v1/members/lookup.
func (h *Handler) Lookup(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	m, err := h.S.Find(r.Context(), Identity{Kind: IdentityKind(q.Get("kind")), App: q.Get("app"), Value: q.Get("value")})
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, m)
}

// Get handles GET /api/v1/members/{id}.
func (h *Handler) Get(w http.ResponseWriter, r *http.Request) error {
	return web.ByID(w, r, http.StatusOK, func(id int64) (Member, error) { return h.S.Get(r.Context(), id) })
}

// Update handles PATCH /api/v1/members/{id}.
func (h *Handler) Update(w http.ResponseWriter, r *http.Request) error {
	return web.DecodedByID(w, r, http.StatusOK, func(id int64, in ProfilePatch) (Member, error) { return h.S.Update(r.Context(), id, in) })
}

// Bind handles POST /api/v1/members/{id}/identities.
func (h *Handler) Bind(w http.ResponseWriter, r *http.Request) error {
	id, err := web.PathInt(r, "id")
	if err != nil {
		return err
	}
	var in Identity
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	m, err := h.S.Bind(r.Context(), id, in)
	if err != nil {
		return err
	}
	if mustMask(r.Context(), m) {
		m.mask()
	}
	return web.JSON(w, http.StatusOK, m)
}

// Merge handles POST /api/v1/members/{id}/merge.
func (h *Handler) Merge(w http.ResponseWriter, r *http.Request) error {
	return web.DecodedByID(w, r, http.StatusOK, func(id int64, in MergeRequest) (Member, error) { return h.S.Merge(r.Context(), id, in) })
}

// Ledger handles GET /api/v1/members/{id}/points/ledger.
func (h *Handler) Ledger(w http.ResponseWriter, r *http.Request) error {
	id, err := web.PathInt(r, "id")
	if err != nil {
		return err
	}
	p, err := web.PageOf(r)
	if err != nil {
		return err
	}
	out, next, err := h.S.Ledger(r.Context(), id, p.Limit, p.Cursor)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, web.List[LedgerEntry]{Items: out, NextCursor: next})
}

// Lots handles GET /api/v1/members/{id}/points/lots.
func (h *Handler) Lots(w http.ResponseWriter, r *http.Request) error {
	return web.ByID(w, r, http.StatusOK, func(id int64) (web.List[Lot], error) {
		out, err := h.S.Lots(r.Context(), id)
		return web.List[Lot]{Items: out}, err
	})
}

// Adjust handles POST /api/v1/members/{id}/points/adjustments.
func (h *Handler) Adjust(w http.ResponseWriter, r *http.Request) error {
	return web.DecodedByID(w, r, http.StatusCreated, func(id int64, in Adjustment) (LedgerEntry, error) { return h.S.Adjust(r.Context(), id, in) })
}

// CheckIn handles POST /api/v1/members/{id}/check-ins.
func (h *Handler) CheckIn(w http.ResponseWriter, r *http.Request) error {
	return web.ByID(w, r, http.StatusCreated, func(id int64) (CheckIn, error) { return h.S.CheckIn(r.Context(), id) })
}

// Share handles POST /api/v1/members/{id}/shares.
func (h *Handler) Share(w http.ResponseWriter, r *http.Request) error {
	id, err := web.PathInt(r, "id")
	if err != nil {
		return err
	}
	var in Share
	if r.ContentLength != 0 {
		if err := web.Decode(r, &in); err != nil {
			return err
		}
	}
	out, err := h.S.Share(r.Context(), id, in)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusCreated, out)
}

// TierHistory handles GET /api/v1/members/{id}/tier-history.
func (h *Handler) TierHistory(w http.ResponseWriter, r *http.Request) error {
	return web.ByID(w, r, http.StatusOK, func(id int64) (web.List[TierChange], error) {
		out, err := h.S.TierHistory(r.Context(), id)
		return web.List[TierChange]{Items: out}, err
	})
}

// Audit handles GET /api/v1/members/{id}/audit.
func (h *Handler) Audit(w http.ResponseWriter, r *http.Request) error {
	id, err := web.PathInt(r, "id")
	if err != nil {
		return err
	}
	p, err := web.PageOf(r)
	if err != nil {
		return err
	}
	out, next, err := h.S.Audit(r.Context(), id, p.Limit, p.Cursor)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, web.List[AuditEntry]{Items: out, NextCursor: next})
}

// Tiers handles GET /api/v1/member-tiers.
func (h *Handler) Tiers(w http.ResponseWriter, r *http.Request) error {
	return web.Answer(w, http.StatusOK, func() (Tiers, error) {
		out, err := h.S.Tiers(r.Context())
		return Tiers{Tiers: out}, err
	})
}

// SetTiers handles PUT /api/v1/member-tiers.
func (h *Handler) SetTiers(w http.ResponseWriter, r *http.Request) error {
	return web.Decoded(w, r, http.StatusOK, func(in Tiers) (Tiers, error) {
		out, err := h.S.SetTiers(r.Context(), in)
		return Tiers{Tiers: out}, err
	})
}

// Reevaluate handles POST /api/v1/member-tiers/reevaluate.
func (h *Handler) Reevaluate(w http.ResponseWriter, r *http.Request) error {
	return web.Answer(w, http.StatusOK, func() (ReevalResult, error) { return h.S.Reevaluate(r.Context()) })
}

// Settings handles GET /api/v1/loyalty/settings.
func (h *Handler) Settings(w http.ResponseWriter, r *http.Request) error {
	return web.Answer(w, http.StatusOK, func() (Settings, error) { return h.S.Settings(r.Context()) })
}

// SetSettings handles PUT /api/v1/loyalty/settings.
func (h *Handler) SetSettings(w http.ResponseWriter, r *http.Request) error {
	return web.Decoded(w, r, http.StatusOK, func(in Settings) (Settings, error) { return h.S.SetSettings(r.Context(), in) })
}

// CheckLedger handles GET /api/v1/loyalty/ledger/check.
func (h *Handler) CheckLedger(w http.ResponseWriter, r *http.Request) error {
	return web.Answer(w, http.StatusOK, func() (LedgerReport, error) { return h.S.CheckLedger(r.Context()) })
}

// Sales handles GET /api/v1/member-sales.
func (h *Handler) Sales(w http.ResponseWriter, r *http.Request) error {
	return web.Answer(w, http.StatusOK, func() (web.List[MemberSale], error) {
		out, err := h.S.Sales(r.Context())
		return web.List[MemberSale]{Items: out}, err
	})
}

// CreateSale handles POST /api/v1/member-sales.
func (h *Handler) CreateSale(w http.ResponseWriter, r *http.Request) error {
	return web.Decoded(w, r, http.StatusCreated, func(in MemberSale) (MemberSale, error) { return h.S.CreateSale(r.Context(), in) })
}

// DeleteSale handles DELETE /api/v1/member-sales/{id}.
func (h *Handler) DeleteSale(w http.ResponseWriter, r *http.Request) error {
	id, err := web.PathInt(r, "id")
	if err != nil {
		return err
	}
	if err := h.S.DeleteSale(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
