// Package server is Omni's composition root: configuration → store →
// services → routes → http.Server, plus the background workers. It is the
// only package that wires modules together.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/omni-retail/omni/internal/payments"
	"github.com/omni-retail/omni/internal/platform/auth"
	"github.com/omni-retail/omni/internal/platform/config"
	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/outbox"
	"github.com/omni-retail/omni/internal/platform/web"
)

// Version is the binary's version, set at build time with
// -ldflags "-X github.com/omni-retail/omni/internal/server.Version=v1.2.3".
var Version = "dev"

// App is a wired Omni instance.
type App struct {
	Cfg     config.Config
	DB      *db.DB
	Log     *slog.Logger
	Reg     *prometheus.Registry
	Now     func() time.Time
	Outbox  *outbox.Outbox
	Auth    *auth.Service
	Modules Modules
	// notifiers verify the configured payment providers' notifications.
	notifiers map[string]payments.Notifier

	Handler http.Handler
	Routes  []Route
	openapi []byte
}

// New opens the store, applies migrations and wires every module.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d, err := db.Open(ctx, cfg.DB, db.Options{Synchronous: cfg.Synchronous, Logger: log})
	if err != nil {
		return nil, err
	}
	applied, err := d.Migrate(ctx)
	if err != nil {
		d.Close()
		return nil, err
	}
	if len(applied) > 0 {
		log.Info("schema migrated", "applied", applied, "version", db.LatestVersion())
	}
	a, err := Wire(cfg, d, log, time.Now)
	if err != nil {
		d.Close()
		return nil, err
	}
	if cfg.AdminKey != "" {
		if _, err := a.Auth.Ensure(ctx, auth.NewKey{Name: "configured admin", Role: auth.Admin}, cfg.AdminKey); err != nil {
			d.Close()
			return nil, fmt.Errorf("admin key: %w", err)
		}
	}
	return a, nil
}

// Wire builds the services and routes over an open, migrated store.
func Wire(cfg config.Config, d *db.DB, log *slog.Logger, now func() time.Time) (*App, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "omni_db_commits_total", Help: "Write transactions committed or attempted by the committers."},
			func() float64 { b, _ := d.Stats().Snapshot(); return float64(b) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "omni_db_writes_total", Help: "Write closures run by the committers (several share a commit)."},
			func() float64 { _, j := d.Stats().Snapshot(); return float64(j) }))
	a := &App{Cfg: cfg, DB: d, Log: log, Reg: reg, Now: now, Outbox: outbox.New(now), Auth: auth.NewService(d, now)}
	var err error
	if a.notifiers, err = paymentNotifiers(cfg); err != nil {
		return nil, err
	}
	a.Modules = wireModules(a)
	a.Routes = routes(a)
	doc, err := OpenAPI(a.Routes, Version)
	if err != nil {
		return nil, err
	}
	a.openapi = doc
	a.Handler = a.mux(web.NewMetrics(reg))
	return a, nil
}

// mux registers every route with its permission and idempotency wrappers.
func (a *App) mux(m *web.Metrics) http.Handler {
	mux := http.NewServeMux()
	for _, rt := range a.Routes {
		h := rt.Handler
		if rt.Idempotent {
			h = web.Idempotent(a.DB, a.Now, h)
		}
		h = a.authorize(rt.Perm, h)
		mux.Handle(rt.Method+" "+rt.Path, web.Adapt(a.Log, h))
	}
	mux.Handle("/", web.Adapt(a.Log, func(w http.ResponseWriter, r *http.Request) error {
		return notFoundOrMethod(mux, r)
	}))
	return web.Observe(a.Log, m, mux)
}

// authorize checks the API key against the route's permission.
func (a *App) authorize(perm auth.Perm, next web.HandlerFunc) web.HandlerFunc {
	if perm == auth.Public {
		return next
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		key := auth.FromRequest(r)
		if key == "" {
			return auth.ErrNoKey
		}
		p, err := a.Auth.Verify(r.Context(), key)
		if err != nil {
			return err
		}
		if !p.Can(perm) {
			return auth.ErrPermission.Withf("the %s role may not do this (needs %s)", p.Role, perm)
		}
		return next(w, r.WithContext(auth.WithPrincipal(r.Context(), p)))
	}
}

// Run serves HTTP on the configured address and runs the background
// workers until ctx ends, then shuts down gracefully.
func (a *App) Run(ctx context.Context, ready func(addr string)) error {
	ln, err := net.Listen("tcp", a.Cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.Cfg.Addr, err)
	}
	return a.Serve(ctx, ln, ready)
}

// Serve is Run on an existing listener.
func (a *App) Serve(ctx context.Context, ln net.Listener, ready func(addr string)) error {
	srv := &http.Server{
		Handler:           a.Handler,
		ReadHeaderTimeout: a.Cfg.ReadHeaderTimeout,
		ReadTimeout:       a.Cfg.ReadTimeout,
		WriteTimeout:      a.Cfg.WriteTimeout,
		IdleTimeout:       a.Cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	wctx, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	if a.Cfg.Workers {
		for _, w := range a.workers() {
			wg.Go(func() {
				if err := w.run(wctx); err != nil && !errors.Is(err, context.Canceled) {
					a.Log.Error("worker stopped", "worker", w.name, "err", err)
				}
			})
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if ready != nil {
		ready(ln.Addr().String())
	}
	select {
	case err := <-errc:
		stopWorkers()
		wg.Wait()
		return err
	case <-ctx.Done():
	}
	a.Log.Info("shutting down", "grace", a.Cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), a.Cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	stopWorkers()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Close releases the store.
func (a *App) Close() error { return a.DB.Close() }

type worker struct {
	name string
	run  func(context.Context) error
}

// periodic runs f every interval until ctx ends, logging failures.
func (a *App) periodic(name string, every time.Duration, f func(context.Context) error) worker {
	return worker{name: name, run: func(ctx context.Context) error {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if err := f(ctx); err != nil && ctx.Err() == nil {
				a.Log.Warn("worker failed", "worker", name, "err", err)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
			}
		}
	}}
}
