package catalog

import (
	"bufio"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/omni-retail/omni/internal/platform/errs"
	"github.com/omni-retail/omni/internal/platform/web"
)

// Handler serves the catalog's HTTP routes (listed in internal/server).
type Handler struct{ S *Service }

// NewHandler returns the catalog's HTTP handlers.
func NewHandler(s *Service) *Handler { return &Handler{S: s} }

// StyleListParams are the query parameters of GET /api/v1/styles.
type StyleListParams struct {
	Q         string    `query:"q" description:"Case-insensitive substring of the code or name"`
	Category  string    `query:"category"`
	Brand     string    `query:"brand"`
	Season    string    `query:"season"`
	Lifecycle Lifecycle `query:"lifecycle" enum:"fashion,seasonal,classic"`
	Limit     int       `query:"limit" minimum:"1" maximum:"500" default:"50"`
	Cursor    string    `query:"cursor" description:"next_cursor of the previous page"`
}

// SKUListParams are the query parameters of GET /api/v1/skus.
type SKUListParams struct {
	Q         string    `query:"q" description:"Case-insensitive substring of the SKU code, style name or barcode"`
	Barcode   string    `query:"barcode" description:"Exact barcode, as scanned at a till"`
	Style     string    `query:"style" description:"Style code"`
	Category  string    `query:"category"`
	Brand     string    `query:"brand"`
	Season    string    `query:"season"`
	Lifecycle Lifecycle `query:"lifecycle" enum:"fashion,seasonal,classic"`
	Active    *bool     `query:"active"`
	Limit     int       `query:"limit" minimum:"1" maximum:"500" default:"50"`
	Cursor    string    `query:"cursor" description:"next_cursor of the previous page"`
}

// ExportParams are the query parameters of GET /api/v1/catalog/export.
type ExportParams struct {
	BOM bool `query:"bom" description:"Start with a UTF-8 byte order mark (for spreadsheet programs)"`
}

// CSVBody is a catalog CSV file (see CSVHeader), for the API description.
type CSVBody string

// ListStyles serves GET /api/v1/styles.
func (h *Handler) ListStyles(w http.ResponseWriter, r *http.Request) error {
	p, err := web.PageOf(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	items, next, err := h.S.ListStyles(r.Context(), StyleFilter{Q: q.Get("q"), Category: q.Get("category"), Brand: q.Get("brand"),
		Season: q.Get("season"), Lifecycle: Lifecycle(q.Get("lifecycle")), Limit: p.Limit, Cursor: p.Cursor})
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, web.List[Style]{Items: items, NextCursor: next})
}

// CreateStyle serves POST /api/v1/styles.
func (h *Handler) CreateStyle(w http.ResponseWriter, r *http.Request) error {
	var in NewStyle
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	st, err := h.S.CreateStyle(r.Context(), in)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusCreated, st)
}

// GetStyle serves GET /api/v1/styles/{code}.
func (h *Handler) GetStyle(w http.ResponseWriter, r *http.Request) error {
	st, err := h.S.GetStyle(r.Context(), r.PathValue("code"))
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, st)
}

// UpdateStyle serves PATCH /api/v1/styles/{code}.
func (h *Handler) UpdateStyle(w http.ResponseWriter, r *http.Request) error {
	var in StylePatch
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	st, err := h.S.UpdateStyle(r.Context(), r.PathValue("code"), in)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, st)
}

// AddSKU serves POST /api/v1/styles/{code}/skus.
func (h *Handler) AddSKU(w http.ResponseWriter, r *http.Request) error {
	var in NewSKU
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	k, err := h.S.AddSKU(r.Context(), r.PathValue("code"), in)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusCreated, k)
}

// ListSKUs serves GET /api/v1/skus.
func (h *Handler) ListSKUs(w http.ResponseWriter, r *http.Request) error {
	p, err := web.PageOf(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := SKUFilter{Q: q.Get("q"), Barcode: q.Get("barcode"), Style: q.Get("style"), Category: q.Get("category"),
		Brand: q.Get("brand"), Season: q.Get("season"), Lifecycle: Lifecycle(q.Get("lifecycle")), Limit: p.Limit, Cursor: p.Cursor}
	if s := q.Get("active"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return &errs.Error{Kind: errs.Invalid, Code: "validation_failed", Message: "active must be true or false",
				Fields: []errs.FieldError{{Field: "active", Code: "wrong_type", Message: "must be true or false"}}}
		}
		f.Active = &b
	}
	items, next, err := h.S.ListSKUs(r.Context(), f)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, web.List[SKU]{Items: items, NextCursor: next})
}

// GetSKU serves GET /api/v1/skus/{code}.
func (h *Handler) GetSKU(w http.ResponseWriter, r *http.Request) error {
	k, err := h.S.GetSKU(r.Context(), r.PathValue("code"))
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, k)
}

// UpdateSKU serves PATCH /api/v1/skus/{code}.
func (h *Handler) UpdateSKU(w http.ResponseWriter, r *http.Request) error {
	var in SKUPatch
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	k, err := h.S.UpdateSKU(r.Context(), r.PathValue("code"), in)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, k)
}

// Import serves POST /api/v1/catalog/import: a CSV body (at most
// MaxImportBytes) answered with an ImportResult.
func (h *Handler) Import(w http.ResponseWriter, r *http.Request) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !csvType(ct) {
		return errs.E(errs.Malformed, "unsupported_media_type", "the body must be text/csv, not %s", ct)
	}
	// One byte over the service's own limit, so that the service reports it.
	body := http.MaxBytesReader(w, r.Body, MaxImportBytes+1)
	res, err := h.S.ImportCSV(r.Context(), body)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errTooLarge
	}
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, res)
}

func csvType(ct string) bool {
	mt := strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0]))
	switch mt {
	case "text/csv", "application/csv", "text/plain", "application/octet-stream", "application/vnd.ms-excel":
		return true
	}
	return false
}

// Export serves GET /api/v1/catalog/export as text/csv.
func (h *Handler) Export(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="catalog.csv"`)
	// Buffer the start: an error before the first 64 KiB still becomes a
	// problem document; a later one aborts the response, so that a
	// truncated file is never mistaken for a whole one.
	bw := &abortWriter{w: bufio.NewWriterSize(w, 64<<10)}
	if b, _ := strconv.ParseBool(r.URL.Query().Get("bom")); b {
		_, _ = bw.Write([]byte("\xEF\xBB\xBF"))
	}
	if err := h.S.ExportCSV(r.Context(), bw); err != nil {
		if bw.flushed {
			panic(http.ErrAbortHandler)
		}
		w.Header().Del("Content-Disposition")
		return err
	}
	return bw.w.Flush()
}

// abortWriter notes whether a buffered writer has sent anything yet.
type abortWriter struct {
	w       *bufio.Writer
	flushed bool
}

func (a *abortWriter) Write(p []byte) (int, error) {
	if len(p) > a.w.Available() {
		a.flushed = true
	}
	return a.w.Write(p)
}
