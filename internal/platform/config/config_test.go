package config

import (
	"flag"
	"io"
	"testing"
	"time"
)

// Defaults < environment < flags.
func TestPrecedence(t *testing.T) {
	env := map[string]string{"OMNI_DB": "postgres://env/db", "OMNI_ADDR": ":9000", "OMNI_RESERVATION_TTL": "5m", "OMNI_WORKERS": "false"}
	c := Default()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.Register(fs, func(k string) string { return env[k] })
	if err := fs.Parse([]string{"--addr", "127.0.0.1:7000"}); err != nil {
		t.Fatal(err)
	}
	if c.DB != "postgres://env/db" || c.Addr != "127.0.0.1:7000" || c.ReservationTTL != 5*time.Minute || c.Workers || c.Synchronous != "FULL" {
		t.Fatalf("config = %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []func(*Config){
		func(c *Config) { c.DB = "mysql://x" },
		func(c *Config) { c.LogLevel = "loud" },
		func(c *Config) { c.LogFormat = "xml" },
		func(c *Config) { c.ReservationTTL = 0 },
	} {
		c := Default()
		bad(&c)
		if c.Validate() == nil {
			t.Errorf("Validate accepted %+v", c)
		}
	}
}
