package bench_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/omni-retail/omni/internal/bench"
	"github.com/omni-retail/omni/internal/platform/config"
	"github.com/omni-retail/omni/internal/server"
)

// TestCrashDuringCheckout kills the server process (SIGKILL) in the middle
// of the checkout benchmark, restarts it, and checks that every order
// acknowledged to a client exists exactly once, paid, that holds match the
// stock levels and that the stock ledger is consistent.
func TestCrashDuringCheckout(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs a server process")
	}
	ctx := context.Background()
	dir := t.TempDir()
	bin := filepath.Join(dir, "omni")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/omni").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	dbURL := "sqlite:" + filepath.Join(dir, "crash.db")
	// The demo retailer, loaded in-process.
	cfg := config.Default()
	cfg.DB, cfg.Workers = dbURL, false
	app, err := server.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := bench.LoadDemo(ctx, app, 2026); err != nil {
		t.Fatal(err)
	}
	app.Close()

	const key = "omni_0123abcd_0123456789abcdef0123456789abcdef01234567"
	start := func() (*exec.Cmd, string) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		cmd := exec.Command(bin, "serve", "--db", dbURL, "--addr", addr, "--admin-key", key, "--log-level", "error")
		cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for i := 0; ; i++ {
			if res, err := http.Get("http://" + addr + "/readyz"); err == nil {
				res.Body.Close()
				if res.StatusCode == 200 {
					break
				}
			}
			if i > 200 {
				t.Fatal("server did not become ready")
			}
			time.Sleep(50 * time.Millisecond)
		}
		return cmd, "http://" + addr
	}
	cmd, base := start()

	// A reader of the same file for the shopper's stock snapshot.
	cfg.DB = dbURL
	reader, err := server.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var ackBuf bytes.Buffer
	var mu sync.Mutex
	ack := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return ackBuf.Write(p) })
	done := make(chan error, 1)
	go func() {
		_, _, err := bench.DriveRemote(ctx, bench.CheckoutOptions{Clients: 32, Duration: 4 * time.Second, Seed: 7, AckLog: ack}, base, key, reader.DB)
		done <- err
	}()
	time.Sleep(2 * time.Second)
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	reader.Close()

	mu.Lock()
	var acked []int64
	sc := bufio.NewScanner(bytes.NewReader(ackBuf.Bytes()))
	for sc.Scan() {
		id, err := strconv.ParseInt(sc.Text(), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		acked = append(acked, id)
	}
	mu.Unlock()
	if len(acked) < 10 {
		t.Fatalf("only %d orders acknowledged before the kill; the test proves nothing", len(acked))
	}

	// Restart: the server must come up on the same file.
	cmd, _ = start()
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	cfg.DB = dbURL
	after, err := server.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer after.Close()
	var r bench.CheckoutResult
	if err := bench.Verify(ctx, after, acked, &r); err != nil {
		t.Fatal(err)
	}
	t.Logf("acknowledged before SIGKILL: %d; lost %d, duplicated %d, oversold %d, ledger consistent %v", len(acked), r.Lost, r.Duplicated, r.Oversold, r.LedgerConsistent)
	if r.Lost != 0 || r.Duplicated != 0 || r.Oversold != 0 || !r.LedgerConsistent {
		t.Fatalf("after the crash: lost %d, duplicated %d, oversold %d, ledger consistent %v", r.Lost, r.Duplicated, r.Oversold, r.LedgerConsistent)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
