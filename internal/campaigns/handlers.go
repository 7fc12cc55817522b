package campaigns

import (
	"net/http"

	"github.com/omni-retail/omni/internal/platform/web"
)

// Handler serves the campaigns API.
type Handler struct{ S *Service }

func listParams(r *http.Request) (ListParams, error) {
	q := r.URL.Query()
	f := ListParams{Status: q.Get("status"), Cursor: q.Get("cursor")}
	p, err := web.PageOf(r)
	f.Limit = p.Limit
	return f, err
}

// listed answers one page of a list.
func listed[T any](w http.ResponseWriter, items []T, next string, err error) error {
	return web.Answer(w, http.StatusOK, func() (web.List[T], error) { return web.List[T]{Items: items, NextCursor: next}, err })
}

// CreateDeal handles POST /api/v1/group-deals.
func (h *Handler) CreateDeal(w http.ResponseWriter, r *http.Request) error {
	return web.Decoded(w, r, http.StatusCreated, func(in NewDeal) (Deal, error) { return h.S.CreateDeal(r.Context(), in) })
}

// ListDeals handles GET /api/v1/group-deals.
func (h *Handler) ListDeals(w http.ResponseWriter, r *http.Request) error {
	f, err := listParams(r)
	if err != nil {
		return err
	}
	list, next, err := h.S.ListDeals(r.Context(), f)
	return listed(w, list, next, err)
}

// GetDeal handles GET /api/v1/group-deals/{code}.
func (h *Handler) GetDeal(w http.ResponseWriter, r *http.Request) error {
	return web.Answer(w, http.StatusOK, func() (Deal, error) { return h.S.GetDeal(r.Context(), r.PathValue("code")) })
}

// CloseDeal handles POST /api/v1/group-deals/{code}/close.
func (h *Handler) CloseDeal(w http.ResponseWriter, r *http.Request) error {
	return web.Answer(w, http.StatusOK, func() (Deal, error) { return h.S.CloseDeal(r.Context(), r.PathValue("code")) })
}

// OpenGroup handles POST /api/v1/group-deals/{code}/groups.
func (h *Handler) OpenGroup(w http.ResponseWriter, r *http.Request) error {
	return web.Decoded(w, r, http.StatusCreated, func(in JoinRequest) (Joined, error) {
		return h.S.OpenGroup(r.Context(), r.PathValue("code"), in)
	})
}

// ListGroups handles GET /api/v1/group-deals/{code}/groups.
func (h *Handler) ListGroups(w http.ResponseWriter, r *http.Request) error {
	d, err := listParams(r)
	if err != nil {
		return err
	}
	list, next, err := h.S.ListGroups(r.Context(), GroupListParams{Code: r.PathValue("code"), Status: d.Status, Limit: d.Limit, Cursor: d.Cursor})
	return listed(w, list, next, err)
}

// GetGroup handles GET /api/v1/group-buys/{id}.
func (h *Handler) GetGroup(w http.ResponseWriter, r *http.Request) error {
	return web.ByID(w, r, http.StatusOK, func(id int64) (Group, error) { return h.S.GetGroup(r.Context(), id) })
}

// JoinGroup handles POST /api/v1/group-buys/{id}/join.
func (h *Handler) JoinGroup(w http.ResponseWriter, r *http.Request) error {
	return web.DecodedByID(w, r, http.StatusCreated, func(id int64, in JoinRequest) (Joined, error) { return h.S.JoinGroup(r.Context(), id, in) })
}

// CreateHelpCampaign handles POST /api/v1/help-campaigns.
func (h *Handler) CreateHelpCampaign(w http.ResponseWriter, r *http.Request) error {
	return web.Decoded(w, r, http.StatusCreated, func(in NewHelpCampaign) (HelpCampaign, error) { return h.S.CreateHelpCampaign(r.Context(), in) })
}

// ListHelpCampaigns handles GET /api/v1/help-campaigns.
func (h *Handler) ListHelpCampaigns(w http.ResponseWriter, r *http.Request) error {
	f, err := listParams(r)
	if err != nil {
		return err
	}
	list, next, err := h.S.ListHelpCampaigns(r.Context(), f)
	return listed(w, list, next, err)
}

// GetHelpCampaign handles GET /api/v1/help-campaigns/{code}.
func (h *Handler) GetHelpCampaign(w http.ResponseWriter, r *http.Request) error {
	return web.Answer(w, http.StatusOK, func() (HelpCampaign, error) { return h.S.GetHelpCampaign(r.Context(), r.PathValue("code")) })
}

// CloseHelpCampaign handles POST /api/v1/help-campaigns/{code}/close.
func (h *Handler) CloseHelpCampaign(w http.ResponseWriter, r *http.Request) error {
	return web.Answer(w, http.StatusOK, func() (HelpCampaign, error) { return h.S.CloseHelpCampaign(r.Context(), r.PathValue("code")) })
}

// StartHelp handles POST /api/v1/help-campaigns/{code}/requests.
func (h *Handler) StartHelp(w http.ResponseWriter, r *http.Request) error {
	return web.Decoded(w, r, http.StatusCreated, func(in MemberRef) (HelpRequest, error) {
		return h.S.StartHelp(r.Context(), r.PathValue("code"), in)
	})
}

// GetHelpRequest handles GET /api/v1/help-requests/{id}.
func (h *Handler) GetHelpRequest(w http.ResponseWriter, r *http.Request) error {
	return web.ByID(w, r, http.StatusOK, func(id int64) (HelpRequest, error) { return h.S.GetHelpRequest(r.Context(), id) })
}

// Help handles POST /api/v1/help-requests/{id}/helps.
func (h *Handler) Help(w http.ResponseWriter, r *http.Request) error {
	return web.DecodedByID(w, r, http.StatusCreated, func(id int64, in MemberRef) (HelpRequest, error) { return h.S.Help(r.Context(), id, in) })
}
