package server

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/omni-retail/omni/internal/platform/auth"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/errs"
	"github.com/omni-retail/omni/internal/platform/web"
)

// Health is the answer of the health and readiness probes.
type Health struct {
	Status        string `json:"status"`
	Version       string `json:"version"`
	Engine        string `json:"engine"`
	SchemaVersion int    `json:"schema_version,omitempty"`
	Error         string `json:"error,omitempty"`
}

func (a *App) healthz(w http.ResponseWriter, r *http.Request) error {
	return web.JSON(w, 200, Health{Status: "ok", Version: Version, Engine: string(a.DB.Engine)})
}

// readyz answers 200 when the store answers and its schema is this binary's.
func (a *App) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	h := Health{Status: "ready", Version: Version, Engine: string(a.DB.Engine)}
	v, err := a.DB.SchemaVersion(ctx)
	h.SchemaVersion = v
	switch {
	case err != nil:
		h.Status, h.Error = "unavailable", "the store does not answer"
	case v != db.LatestVersion():
		h.Status, h.Error = "unavailable", "the store's schema is not this binary's"
	}
	if h.Status != "ready" {
		return web.JSON(w, http.StatusServiceUnavailable, h)
	}
	return web.JSON(w, 200, h)
}

func (a *App) metrics(w http.ResponseWriter, r *http.Request) error {
	promhttp.HandlerFor(a.Reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	return nil
}

func (a *App) openapiDoc(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(a.openapi)
	return err
}

// VersionInfo is the answer of GET /api/v1/version.
type VersionInfo struct {
	Version       string `json:"version"`
	SchemaVersion int    `json:"schema_version"`
}

func (a *App) version(w http.ResponseWriter, r *http.Request) error {
	return web.JSON(w, 200, VersionInfo{Version: Version, SchemaVersion: db.LatestVersion()})
}

func (a *App) createKey(w http.ResponseWriter, r *http.Request) error {
	var in auth.NewKey
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	k, secret, err := a.Auth.Create(r.Context(), in)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusCreated, CreatedKey{Key: k, Secret: secret})
}

// CreatedKey is a new key with its secret, shown only once.
type CreatedKey struct {
	auth.Key
	Secret string `json:"secret"`
}

func (a *App) listKeys(w http.ResponseWriter, r *http.Request) error {
	ks, err := a.Auth.List(r.Context())
	if err != nil {
		return err
	}
	return web.JSON(w, 200, web.List[auth.Key]{Items: ks})
}

func (a *App) revokeKey(w http.ResponseWriter, r *http.Request) error {
	id, err := web.PathInt(r, "id")
	if err != nil {
		return err
	}
	k, err := a.Auth.Revoke(r.Context(), id)
	if err != nil {
		return err
	}
	return web.JSON(w, 200, k)
}

// notFoundOrMethod answers requests no route matched: 405 with Allow when
// the path exists under another method, else 404.
func notFoundOrMethod(mux *http.ServeMux, r *http.Request) error {
	var allow []string
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, pattern := mux.Handler(r2); pattern != "/" && pattern != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		return &errs.Error{Kind: errs.MethodNotAllowed, Code: "method_not_allowed",
			Message: r.Method + " is not allowed here; allowed: " + strings.Join(allow, ", ")}
	}
	return errs.NotFoundf("no route for %s %s", r.Method, r.URL.Path)
}
