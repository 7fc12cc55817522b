package campaigns

import (
	"net/http"

	"github.com/omni-retail/omni/internal/platform/web"
)

// Handler serves the campaigns API.
type Handler struct{ S *Service }

func decode[T any](r *http.Request) (T, error) {
	var in T
	err := web.Decode(r, &in)
	return in, err
}

func listParams(r *http.Request) (ListParams, error) {
	q := r.URL.Query()
	f := ListParams{Status: q.Get("status"), Cursor: q.Get("cursor")}
	p, err := web.PageOf(r)
	f.Limit = p.Limit
	return f, err
}

// CreateDeal handles POST /api/v1/group-deals.
func (h *Handler) CreateDeal(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[NewDeal](r)
	if err != nil {
		return err
	}
	d, err := h.S.CreateDeal(r.Context(), in)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusCreated, d)
}

// ListDeals handles GET /api/v1/group-deals.
func (h *Handler) ListDeals(w http.ResponseWriter, r *http.Request) error {
	f, err := listParams(r)
	if err != nil {
		return err
	}
	list, next, err := h.S.ListDeals(r.Context(), f)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, web.List[Deal]{Items: list, NextCursor: next})
}

// GetDeal handles GET /api/v1/group-deals/{code}.
func (h *Handler) GetDeal(w http.ResponseWriter, r *http.Request) error {
	d, err := h.S.GetDeal(r.Context(), r.PathValue("code"))
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, d)
}

// CloseDeal handles POST /api/v1/group-deals/{code}/close.
func (h *Handler) CloseDeal(w http.ResponseWriter, r *http.Request) error {
	d, err := h.S.CloseDeal(r.Context(), r.PathValue("code"))
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, d)
}

// OpenGroup handles POST /api/v1/group-deals/{code}/groups.
func (h *Handler) OpenGroup(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[JoinRequest](r)
	if err != nil {
		return err
	}
	out, err := h.S.OpenGroup(r.Context(), r.PathValue("code"), in)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusCreated, out)
}

// ListGroups handles GET /api/v1/group-deals/{code}/groups.
func (h *Handler) ListGroups(w http.ResponseWriter, r *http.Request) error {
	d, err := listParams(r)
	if err != nil {
		return err
	}
	list, next, err := h.S.ListGroups(r.Context(), GroupListParams{Code: r.PathValue("code"), Status: d.Status, Limit: d.Limit, Cursor: d.Cursor})
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, web.List[Group]{Items: list, NextCursor: next})
}

// GetGroup handles GET /api/v1/group-buys/{id}.
func (h *Handler) GetGroup(w http.ResponseWriter, r *http.Request) error {
	id, err := web.PathInt(r, "id")
	if err != nil {
		return err
	}
	g, err := h.S.GetGroup(r.Context(), id)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, g)
}

// JoinGroup handles POST /api/v1/group-buys/{id}/join.
func (h *Handler) JoinGroup(w http.ResponseWriter, r *http.Request) error {
	id, err := web.PathInt(r, "id")
	if err != nil {
		return err
	}
	in, err := decode[JoinRequest](r)
	if err != nil {
		return err
	}
	out, err := h.S.JoinGroup(r.Context(), id, in)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusCreated, out)
}

// CreateHelpCampaign handles POST /api/v1/help-campaigns.
func (h *Handler) CreateHelpCampaign(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[NewHelpCampaign](r)
	if err != nil {
		return err
	}
	c, err := h.S.CreateHelpCampaign(r.Context(), in)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusCreated, c)
}

// ListHelpCampaigns handles GET /api/v1/help-campaigns.
func (h *Handler) ListHelpCampaigns(w http.ResponseWriter, r *http.Request) error {
	f, err := listParams(r)
	if err != nil {
		return err
	}
	list, next, err := h.S.ListHelpCampaigns(r.Context(), f)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, web.List[HelpCampaign]{Items: list, NextCursor: next})
}

// GetHelpCampaign handles GET /api/v1/help-campaigns/{code}.
func (h *Handler) GetHelpCampaign(w http.ResponseWriter, r *http.Request) error {
	c, err := h.S.GetHelpCampaign(r.Context(), r.PathValue("code"))
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, c)
}

// CloseHelpCampaign handles POST /api/v1/help-campaigns/{code}/close.
func (h *Handler) CloseHelpCampaign(w http.ResponseWriter, r *http.Request) error {
	c, err := h.S.CloseHelpCampaign(r.Context(), r.PathValue("code"))
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, c)
}

// StartHelp handles POST /api/v1/help-campaigns/{code}/requests.
func (h *Handler) StartHelp(w http.ResponseWriter, r *http.Request) error {
	in, err := decode[MemberRef](r)
	if err != nil {
		return err
	}
	out, err := h.S.StartHelp(r.Context(), r.PathValue("code"), in)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusCreated, out)
}

// GetHelpRequest handles GET /api/v1/help-requests/{id}.
func (h *Handler) GetHelpRequest(w http.ResponseWriter, r *http.Request) error {
	id, err := web.PathInt(r, "id")
	if err != nil {
		return err
	}
	out, err := h.S.GetHelpRequest(r.Context(), id)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, out)
}

// Help handles POST /api/v1/help-requests/{id}/helps.
func (h *Handler) Help(w http.ResponseWriter, r *http.Request) error {
	id, err := web.PathInt(r, "id")
	if err != nil {
		return err
	}
	in, err := decode[MemberRef](r)
	if err != nil {
		return err
	}
	out, err := h.S.Help(r.Context(), id, in)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusCreated, out)
}
