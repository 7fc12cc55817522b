package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/omni-retail/omni/internal/analytics"
)

// AnalyticsOptions configure the analytics benchmark.
type AnalyticsOptions struct {
	Input  string // UCI Online Retail file (online_retail.csv.gz)
	Lines  int    // generated lines for the RFM + ABC run (0: skip)
	Seed   uint64
	Format analytics.Format
}

// AnalyticsResult is the benchmark's report. Times in seconds.
type AnalyticsResult struct {
	Input             string  `json:"input"`
	InputLines        int64   `json:"input_lines"`
	ImportS           float64 `json:"import_s"`
	RFMS              float64 `json:"rfm_s"`
	CLVS              float64 `json:"clv_s"`
	CLVConverged      bool    `json:"clv_converged"`
	PersonasS         float64 `json:"personas_s"`
	ABCS              float64 `json:"abc_s"`
	AnalyticsS        float64 `json:"analytics_s"` // RFM + CLV + personas + ABC
	TotalS            float64 `json:"total_s"`     // import + analytics
	GeneratedLines    int     `json:"generated_lines"`
	GenerateS         float64 `json:"generate_s"`
	GeneratedRFMABCS  float64 `json:"generated_rfm_abc_s"`
	GeneratedRFMS     float64 `json:"generated_rfm_s"`
	GeneratedABCS     float64 `json:"generated_abc_s"`
	PeakRSSMB         float64 `json:"peak_rss_mb"`
	GeneratedCustomer int     `json:"generated_customers"`
}

// Analytics runs the benchmark: import the file, then RFM, a CLV fit
// (calibration = the whole history), personas and ABC/XYZ, each timed; then
// RFM + ABC on a generated history of o.Lines lines, with the process's peak
// resident memory.
func Analytics(o AnalyticsOptions) (AnalyticsResult, error) {
	r := AnalyticsResult{Input: o.Input}
	if o.Input != "" {
		t0 := time.Now()
		d, sum, err := analytics.ImportFile(o.Input, analytics.ImportOptions{Format: o.Format})
		if err != nil {
			return r, err
		}
		r.ImportS = time.Since(t0).Seconds()
		r.InputLines = sum.LinesRead
		var last int64
		for _, at := range d.At {
			last = max(last, at)
		}
		day := time.Unix(last, 0).UTC().Truncate(24 * time.Hour)
		asOf := day.AddDate(0, 0, 1)

		t := time.Now()
		if _, _, err := analytics.RFM(d, asOf, analytics.RFMOptions{}); err != nil {
			return r, err
		}
		r.RFMS = time.Since(t).Seconds()

		t = time.Now()
		sums, err := analytics.Summarize(d, day, 7*24*time.Hour)
		if err != nil {
			return r, err
		}
		res, err := analytics.FitCLV(sums)
		r.CLVS = time.Since(t).Seconds()
		r.CLVConverged = err == nil && res.Converged()

		t = time.Now()
		if _, err := analytics.Personas(d, asOf, 5, 1); err != nil {
			return r, err
		}
		r.PersonasS = time.Since(t).Seconds()

		t = time.Now()
		analytics.ABCXYZ(d, analytics.ABCOptions{})
		r.ABCS = time.Since(t).Seconds()
		r.AnalyticsS = r.RFMS + r.CLVS + r.PersonasS + r.ABCS
		r.TotalS = r.ImportS + r.AnalyticsS
	}
	if o.Lines > 0 {
		t := time.Now()
		g := analytics.Generate(analytics.GenerateOptions{Lines: o.Lines, Seed: o.Seed})
		r.GenerateS = time.Since(t).Seconds()
		r.GeneratedLines, r.GeneratedCustomer = g.Len(), len(g.CustomerIDs)
		var last int64
		for _, at := range g.At {
			last = max(last, at)
		}
		asOf := time.Unix(last, 0).UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)
		t = time.Now()
		if _, _, err := analytics.RFM(g, asOf, analytics.RFMOptions{}); err != nil {
			return r, err
		}
		r.GeneratedRFMS = time.Since(t).Seconds()
		t = time.Now()
		analytics.ABCXYZ(g, analytics.ABCOptions{Location: analytics.Shanghai})
		r.GeneratedABCS = time.Since(t).Seconds()
		r.GeneratedRFMABCS = r.GeneratedRFMS + r.GeneratedABCS
	}
	r.PeakRSSMB = peakRSSMB()
	return r, nil
}

// peakRSSMB reads the process's peak resident set (VmHWM) on Linux; 0 elsewhere.
func peakRSSMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Bytes()
		if v, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
			kb, err := strconv.ParseFloat(string(bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(v), []byte("kB")))), 64)
			if err == nil {
				return kb / 1024
			}
		}
	}
	return 0
}

// PrintAnalytics writes the human summary.
func PrintAnalytics(w io.Writer, r AnalyticsResult) {
	if r.Input != "" {
		fmt.Fprintf(w, "%s: %d lines\n", r.Input, r.InputLines)
		fmt.Fprintf(w, "  import %.2f s; RFM %.3f s, CLV fit %.3f s (converged %t), personas %.3f s, ABC/XYZ %.3f s\n",
			r.ImportS, r.RFMS, r.CLVS, r.CLVConverged, r.PersonasS, r.ABCS)
		fmt.Fprintf(w, "  analytics %.3f s, with import %.2f s\n", r.AnalyticsS, r.TotalS)
	}
	if r.GeneratedLines > 0 {
		fmt.Fprintf(w, "generated history: %d lines, %d customers (built in %.1f s)\n", r.GeneratedLines, r.GeneratedCustomer, r.GenerateS)
		fmt.Fprintf(w, "  RFM %.2f s + ABC/XYZ %.2f s = %.2f s\n", r.GeneratedRFMS, r.GeneratedABCS, r.GeneratedRFMABCS)
	}
	fmt.Fprintf(w, "peak resident memory %.0f MiB\n", r.PeakRSSMB)
}
