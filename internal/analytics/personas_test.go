package analytics

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// Three well-separated blobs must come back as three clusters, whatever
// the seed, and the same seed must give the same answer.
func TestPersonaKMeansRecoversBlobs(t *testing.T) {
	t.Parallel()
	centres := [][2]float64{{0, 0}, {10, 10}, {-10, 10}}
	const per = 60
	rng := rand.New(rand.NewPCG(1, 2))
	n := per * len(centres)
	x := make([]float64, 0, 2*n)
	truth := make([]int, 0, n)
	for i := range n {
		c := centres[i%len(centres)] // interleaved, so input order does not reveal the blobs
		x = append(x, c[0]+rng.NormFloat64(), c[1]+rng.NormFloat64())
		truth = append(truth, i%len(centres))
	}
	for _, seed := range []uint64{1, 2, 3, 42, 1 << 40} {
		km := personaKMeans(x, n, 2, 3, seed, 100, 0)
		if !km.converged {
			t.Errorf("seed %d: not converged after %d iterations", seed, km.iters)
		}
		// Every blob maps to one label, and the three labels differ.
		label := map[int]int32{}
		for i, b := range truth {
			if l, ok := label[b]; !ok {
				label[b] = km.labels[i]
			} else if l != km.labels[i] {
				t.Fatalf("seed %d: blob %d split across clusters %d and %d", seed, b, l, km.labels[i])
			}
		}
		if label[0] == label[1] || label[1] == label[2] || label[0] == label[2] {
			t.Fatalf("seed %d: blobs merged: %v", seed, label)
		}
		// Each centre lies within 0.5 of its blob's true centre.
		for b, l := range label {
			cx, cy := km.centers[2*l], km.centers[2*l+1]
			if dx, dy := cx-centres[b][0], cy-centres[b][1]; dx*dx+dy*dy > 0.25 {
				t.Errorf("seed %d: blob %d centre (%.2f, %.2f)", seed, b, cx, cy)
			}
		}
		again := personaKMeans(x, n, 2, 3, seed, 100, 0)
		if !reflect.DeepEqual(km, again) {
			t.Errorf("seed %d: two runs differ", seed)
		}
	}
}

func TestPersonaKMeansEdgeCases(t *testing.T) {
	t.Parallel()
	// All points equal: k-means++ falls back to uniform picks, empty
	// clusters are refilled, nothing panics, the inertia is zero.
	x := make([]float64, 2*10)
	km := personaKMeans(x, 10, 2, 3, 9, 50, 0)
	if km.inertia != 0 || len(km.labels) != 10 {
		t.Errorf("%+v", km)
	}
	// k = n: every point its own cluster.
	y := []float64{0, 5, 9, 20}
	km = personaKMeans(y, 4, 1, 4, 3, 50, 0)
	if km.inertia != 0 {
		t.Errorf("k = n inertia %v", km.inertia)
	}
	seen := map[int32]bool{}
	for _, l := range km.labels {
		seen[l] = true
	}
	if len(seen) != 4 {
		t.Errorf("k = n labels %v", km.labels)
	}
}

// The parallel assignment step gives exactly the serial result.
func TestPersonaKMeansWorkers(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(8, 9))
	const n, dim = 20_000, 3
	x := make([]float64, n*dim)
	for i := range x {
		x[i] = rng.NormFloat64() + float64(i%7)
	}
	ref := personaKMeans(x, n, dim, 5, 77, 100, 1)
	for _, w := range []int{2, 3, 8} {
		if got := personaKMeans(x, n, dim, 5, 77, 100, w); !reflect.DeepEqual(ref, got) {
			t.Fatalf("%d workers differ from one", w)
		}
	}
	if ref.iters < 2 {
		t.Errorf("only %d iterations: the test exercises nothing", ref.iters)
	}
}

// personaDataset builds customer groups with distinct behaviour. Days are
// counted back from asOf.
//
//	loyal   40 customers, 12 orders each over the last year, 3 lines × 400.00
//	big     40 customers, one recent order of 5 lines × 900.00, all of SKUs
//	        never sold before (new styles)
//	small   40 customers, 6 small orders (1 line × 5.00), recent
//	lapsed  40 customers, one order 300–400 days ago, 1 line × 50.00
//	social  40 customers like "small" but buying through the "wechat" channel
//
// Every group except social buys through "shop". An anonymous order 450
// days ago launches the 50 regular SKUs, so only the big group buys new
// styles.
func personaDataset(channels bool) (*Dataset, time.Time) {
	asOf := time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC)
	b := NewBuilder("CNY")
	rng := rand.New(rand.NewPCG(5, 6))
	ago := func(days int) time.Time { return asOf.Add(-time.Duration(days)*24*time.Hour - time.Hour) }
	ch := func(c string) string {
		if channels {
			return c
		}
		return ""
	}
	for s := range 50 {
		b.Add("launch", "", fmt.Sprintf("sku-%d", s), 1, 100, ago(450), ch("shop"), "")
	}
	add := func(group string, i, orders, lines int, price int64, day func(k int) int, channel string) {
		cid := fmt.Sprintf("%s-%02d", group, i)
		for k := range orders {
			oid := fmt.Sprintf("%s-o%d", cid, k)
			for l := range lines {
				sku := fmt.Sprintf("sku-%d", rng.IntN(50))
				if group == "big" {
					sku = fmt.Sprintf("new-%s-%d", cid, l)
				}
				b.Add(oid, cid, sku, 1, price, ago(day(k)), ch(channel), "")
			}
		}
	}
	for i := range 40 {
		add("loyal", i, 12, 3, 40_000, func(k int) int { return 1 + k*30 + rng.IntN(5) }, "shop")
		add("big", i, 1, 5, 90_000, func(int) int { return 1 + rng.IntN(10) }, "shop")
		add("small", i, 6, 1, 500, func(k int) int { return 1 + k*20 + rng.IntN(10) }, "shop")
		add("lapsed", i, 1, 1, 5_000, func(int) int { return 300 + rng.IntN(100) }, "shop")
		add("social", i, 6, 1, 500, func(k int) int { return 1 + k*20 + rng.IntN(10) }, "wechat")
	}
	return b.D, asOf
}

func TestPersonasDeterministicAndNamed(t *testing.T) {
	t.Parallel()
	d, asOf := personaDataset(true)
	res, err := Personas(d, asOf, 5, 2024)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Personas(d, asOf, 5, 2024)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res, again) {
		t.Fatal("the same seed gave different results")
	}
	for _, c := range res.Clusters {
		t.Logf("cluster %d: %3d customers, %s", c.Cluster, c.Customers, c.Description)
	}
	// Features: RFM, new styles and the two channels; no discount data; no categories.
	for _, f := range []string{PersonaFeatureRecency, PersonaFeatureFrequency, PersonaFeatureMonetary,
		PersonaFeatureNewStyle, "channel:shop", "channel:wechat"} {
		if !slices.Contains(res.Features, f) {
			t.Errorf("feature %s missing from %v", f, res.Features)
		}
	}
	if slices.Contains(res.Features, PersonaFeatureDiscount) || slices.ContainsFunc(res.Features, func(s string) bool { return strings.HasPrefix(s, "category:") }) {
		t.Errorf("features %v include a constant or absent feature", res.Features)
	}
	// Each group must land in a cluster of its own.
	groupOf := func(id string) string { g, _, _ := strings.Cut(id, "-"); return g }
	clusterOf := map[string]int{}
	for _, a := range res.Customers {
		g := groupOf(a.ID)
		if c, ok := clusterOf[g]; ok && c != a.Cluster {
			t.Fatalf("group %s split across clusters %d and %d", g, c, a.Cluster)
		}
		clusterOf[g] = a.Cluster
	}
	if len(clusterOf) != 5 {
		t.Fatalf("groups share clusters: %v", clusterOf)
	}
	want := map[string]Persona{"loyal": PersonaLoyal, "social": PersonaSharer, "big": PersonaPioneer, "small": PersonaRational, "lapsed": PersonaPractical}
	for g, p := range want {
		c := res.Clusters[clusterOf[g]]
		if c.Persona != p {
			t.Errorf("group %s → cluster %d named %s (%s), want %s", g, c.Cluster, c.Persona, c.Description, p)
		}
		if c.Customers != 40 {
			t.Errorf("group %s: cluster of %d", g, c.Customers)
		}
	}
	// The loyal cluster's means are in natural units: 12 orders, 12 × 3 × 40,000 = 1,440,000.
	lc := res.Clusters[clusterOf["loyal"]]
	fi := slices.Index(res.Features, PersonaFeatureFrequency)
	mi := slices.Index(res.Features, PersonaFeatureMonetary)
	if lc.Means[fi] != 12 || lc.Means[mi] != 1_440_000 {
		t.Errorf("loyal means %v", lc.Means)
	}
	if !strings.HasPrefix(lc.Description, "recent, frequent, high spend") {
		t.Errorf("loyal description %q", lc.Description)
	}
	for i := 1; i < len(res.Clusters); i++ {
		if res.Clusters[i].Customers > res.Clusters[i-1].Customers {
			t.Errorf("clusters not ordered by size")
		}
	}
}

func TestPersonasWithoutChannels(t *testing.T) {
	t.Parallel()
	d, asOf := personaDataset(false)
	res, err := Personas(d, asOf, 0, 7) // k = 0 → 5
	if err != nil {
		t.Fatal(err)
	}
	if res.K != 5 || len(res.Clusters) != 5 {
		t.Errorf("k %d, %d clusters", res.K, len(res.Clusters))
	}
	for _, f := range res.Features {
		if strings.HasPrefix(f, "channel:") {
			t.Errorf("channel feature %s without channel data", f)
		}
	}
	for _, c := range res.Clusters {
		if c.Persona == PersonaSharer {
			t.Errorf("sharer chosen without channel data: %s", c.Description)
		}
	}
}

func TestPersonasErrors(t *testing.T) {
	t.Parallel()
	d, asOf := personaDataset(true)
	if _, err := Personas(d, asOf, 500, 1); err == nil {
		t.Error("k above the number of customers accepted")
	}
	if _, err := Personas(d, asOf.AddDate(-10, 0, 0), 5, 1); err == nil {
		t.Error("no customers accepted")
	}
	if _, err := Personas(d, time.Time{}, 5, 1); err == nil {
		t.Error("zero asOf accepted")
	}
	b := NewBuilder("CNY")
	for i := range 6 {
		b.Add(fmt.Sprint("o", i), fmt.Sprint("c", i), "s", 1, 100, asOf.Add(-time.Hour), "", "")
	}
	if _, err := Personas(b.D, asOf, 2, 1); err == nil {
		t.Error("identical customers accepted")
	}
}

func TestPersonaName(t *testing.T) {
	t.Parallel()
	f := func(kind string, social bool) personaFeature {
		return personaFeature{name: kind, kind: kind, social: social, label: kind}
	}
	rfm := []personaFeature{f(PersonaFeatureRecency, false), f(PersonaFeatureFrequency, false), f(PersonaFeatureMonetary, false)}
	withNew := append(slices.Clone(rfm), f(PersonaFeatureNewStyle, false))
	withChan := append(slices.Clone(rfm), f("channel", true))
	tests := []struct {
		name  string
		feats []personaFeature
		z     []float64
		want  Persona
		words string
	}{
		{"loyal", rfm, []float64{-1, 1, 1}, PersonaLoyal, "recent, frequent, high spend: loyal"},
		{"pioneer by basket", rfm, []float64{-1, -0.2, 0.6}, PersonaPioneer, "recent, occasional, high spend: pioneer"},
		{"rational by basket", rfm, []float64{0, 0.4, -0.4}, PersonaRational, "moderately recent, occasional, mid spend: rational"},
		{"practical", rfm, []float64{1, -1, -1}, PersonaPractical, "lapsed, infrequent, low spend: practical"},
		// With the new-style feature, big baskets alone no longer make a pioneer.
		{"no pioneer without new styles", withNew, []float64{-1, -0.2, 0.6, 0}, PersonaPractical, "recent, occasional, high spend: practical"},
		{"pioneer by new styles", withNew, []float64{0, 0, 0, 0.8}, PersonaPioneer, "moderately recent, occasional, mid spend, buys new styles early: pioneer"},
		{"sharer", withChan, []float64{0, 0, 0, 1.2}, PersonaSharer, "moderately recent, occasional, mid spend, mostly channel: sharer"},
		{"loyal beats sharer", withChan, []float64{0, 1, 1, 1.2}, PersonaLoyal, "moderately recent, frequent, high spend, mostly channel: loyal"},
	}
	for _, tc := range tests {
		p, words := personaName(tc.feats, tc.z)
		if p != tc.want || words != tc.words {
			t.Errorf("%s: %s %q, want %s %q", tc.name, p, words, tc.want, tc.words)
		}
	}
}

func TestPersonasOnlineRetail(t *testing.T) {
	t.Parallel()
	d := rfmLoadUCI(t)
	asOf := time.Date(2011, 12, 10, 0, 0, 0, 0, time.UTC)
	start := time.Now()
	res, err := Personas(d, asOf, 5, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("personas on %d customers: %v, %d iterations, converged %v, features %v",
		len(res.Customers), time.Since(start), res.Iterations, res.Converged, res.Features)
	total := 0
	for _, c := range res.Clusters {
		total += c.Customers
		t.Logf("cluster %d: %4d customers (%.1f %%), means %.1f: %s", c.Cluster, c.Customers, 100*c.Share, c.Means, c.Description)
	}
	if total != 4_338 || len(res.Customers) != 4_338 || !res.Converged {
		t.Errorf("%d customers in clusters, %d assigned, converged %v", total, len(res.Customers), res.Converged)
	}
	again, err := Personas(d, asOf, 5, 1)
	if err != nil || !reflect.DeepEqual(res, again) {
		t.Errorf("not deterministic (%v)", err)
	}
}

// BenchmarkPersonas10M: k = 5 personas of the ~500k customers in the ten
// million generated lines of BenchmarkRFMABC10M.
func BenchmarkPersonas10M(b *testing.B) {
	d := rfmBenchData()
	asOf := time.Unix(rfmMaxAt(d.At), 0).Add(24 * time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		res, err := Personas(d, asOf, 5, 1)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.Iterations), "iterations")
	}
}
