package network

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/omni-retail/omni/internal/platform/errs"
	"github.com/omni-retail/omni/internal/platform/web"
)

// Handler serves the network's HTTP API.
type Handler struct{ S *Service }

// LocationListParams are the query parameters of GET /api/v1/locations.
type LocationListParams struct {
	Kind       string  `query:"kind" enum:"central_warehouse,regional_warehouse,front_warehouse,store"`
	Region     string  `query:"region" description:"region code, e.g. east"`
	Province   string  `query:"province"`
	City       string  `query:"city"`
	Capability string  `query:"capability" enum:"pos,pickup,ship,instant" description:"only locations offering this service"`
	Q          string  `query:"q" description:"part of the code, name, city or address"`
	Active     bool    `query:"active"`
	Near       string  `query:"near" description:"lat,lng: only locations within within_m metres, nearest first, with distance_m" example:"31.2304,121.4737"`
	WithinM    float64 `query:"within_m" description:"radius of near, in metres (default 50000)"`
	Limit      int     `query:"limit" minimum:"1" maximum:"500" default:"50"`
	Cursor     string  `query:"cursor" description:"next_cursor of the previous page"`
}

// ChannelListParams are the query parameters of GET /api/v1/channels.
type ChannelListParams struct {
	Kind     string `query:"kind" enum:"online_shop,mini_program,app,live_stream,pos"`
	Active   bool   `query:"active"`
	Location string `query:"location" description:"only channels served by this location code"`
	Limit    int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
	Cursor   string `query:"cursor" description:"next_cursor of the previous page"`
}

func invalidParam(field, code, msg string) error {
	return &errs.Error{Kind: errs.Invalid, Code: "validation_failed", Message: field + " " + msg,
		Fields: []errs.FieldError{{Field: field, Code: code, Message: msg}}}
}

func boolParam(q url.Values, name string) (*bool, error) {
	s := q.Get(name)
	if s == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return nil, invalidParam(name, "wrong_type", "must be true or false")
	}
	return &b, nil
}

// ListLocations answers GET /api/v1/locations.
func (h *Handler) ListLocations(w http.ResponseWriter, r *http.Request) error {
	page, err := web.PageOf(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := LocationFilter{Kind: Kind(q.Get("kind")), Region: q.Get("region"), Province: q.Get("province"), City: q.Get("city"),
		Capability: q.Get("capability"), Q: q.Get("q"), Limit: page.Limit, Cursor: page.Cursor}
	if f.Active, err = boolParam(q, "active"); err != nil {
		return err
	}
	if s := q.Get("near"); s != "" {
		la, lo, ok := strings.Cut(s, ",")
		lat, err1 := strconv.ParseFloat(strings.TrimSpace(la), 64)
		lng, err2 := strconv.ParseFloat(strings.TrimSpace(lo), 64)
		if !ok || err1 != nil || err2 != nil {
			return invalidParam("near", "wrong_type", "must be lat,lng in degrees, e.g. 31.2304,121.4737")
		}
		f.Near = &Point{Lat: lat, Lng: lng}
	}
	if s := q.Get("within_m"); s != "" {
		if f.WithinM, err = strconv.ParseFloat(s, 64); err != nil {
			return invalidParam("within_m", "wrong_type", "must be a number of metres")
		}
	}
	items, next, err := h.S.ListLocations(r.Context(), f)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, web.List[ListedLocation]{Items: items, NextCursor: next})
}

// CreateLocation answers POST /api/v1/locations.
func (h *Handler) CreateLocation(w http.ResponseWriter, r *http.Request) error {
	var in NewLocation
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	l, err := h.S.CreateLocation(r.Context(), in)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusCreated, l)
}

// GetLocation answers GET /api/v1/locations/{code}.
func (h *Handler) GetLocation(w http.ResponseWriter, r *http.Request) error {
	l, err := h.S.GetLocation(r.Context(), r.PathValue("code"))
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, l)
}

// UpdateLocation answers PATCH /api/v1/locations/{code}.
func (h *Handler) UpdateLocation(w http.ResponseWriter, r *http.Request) error {
	var p LocationPatch
	if err := web.Decode(r, &p); err != nil {
		return err
	}
	l, err := h.S.UpdateLocation(r.Context(), r.PathValue("code"), p)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, l)
}

// ListChannels answers GET /api/v1/channels.
func (h *Handler) ListChannels(w http.ResponseWriter, r *http.Request) error {
	page, err := web.PageOf(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := ChannelFilter{Kind: ChannelKind(q.Get("kind")), Location: q.Get("location"), Limit: page.Limit, Cursor: page.Cursor}
	if f.Active, err = boolParam(q, "active"); err != nil {
		return err
	}
	items, next, err := h.S.ListChannels(r.Context(), f)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, web.List[Channel]{Items: items, NextCursor: next})
}

// CreateChannel answers POST /api/v1/channels.
func (h *Handler) CreateChannel(w http.ResponseWriter, r *http.Request) error {
	var in NewChannel
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	c, err := h.S.CreateChannel(r.Context(), in)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusCreated, c)
}

// GetChannel answers GET /api/v1/channels/{code}.
func (h *Handler) GetChannel(w http.ResponseWriter, r *http.Request) error {
	c, err := h.S.GetChannel(r.Context(), r.PathValue("code"))
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, c)
}

// UpdateChannel answers PATCH /api/v1/channels/{code}.
func (h *Handler) UpdateChannel(w http.ResponseWriter, r *http.Request) error {
	var p ChannelPatch
	if err := web.Decode(r, &p); err != nil {
		return err
	}
	c, err := h.S.UpdateChannel(r.Context(), r.PathValue("code"), p)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, c)
}

// SetChannelLocations answers PUT /api/v1/channels/{code}/locations.
func (h *Handler) SetChannelLocations(w http.ResponseWriter, r *http.Request) error {
	var in ChannelLocations
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	if in.Locations == nil {
		return invalidParam("locations", "required", "is required (an empty list removes every location)")
	}
	c, err := h.S.SetChannelLocations(r.Context(), r.PathValue("code"), in.Locations)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, c)
}
