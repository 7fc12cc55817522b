package analytics

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Persona is one of the five customer types the requirement documents name.
type Persona string

// The documents' personas (先锋型, 理性型, 实用型, 分享型, 老客户).
const (
	PersonaPioneer   Persona = "pioneer"   // follows fashion, buys new styles first
	PersonaRational  Persona = "rational"  // value-for-money, responds to promotions
	PersonaPractical Persona = "practical" // buys what is needed, comfort over fashion
	PersonaSharer    Persona = "sharer"    // social shopper: shares, buys through social channels
	PersonaLoyal     Persona = "loyal"     // long-standing, buys often and spends much
)

// Names of the features Personas may use, as listed in PersonaResult.Features.
// Mix features are named "category:<name>" and "channel:<name>".
const (
	PersonaFeatureRecency   = "recency_days"
	PersonaFeatureFrequency = "log1p_frequency"
	PersonaFeatureMonetary  = "log1p_monetary"
	PersonaFeatureDiscount  = "discount_share"
	PersonaFeatureNewStyle  = "new_style_share"
)

// Tuning of Personas.
const (
	DefaultPersonaK       = 5
	personaMaxIter        = 100
	personaTopMix         = 5  // at most this many categories and channels become features
	personaNewStyleDays   = 30 // a SKU counts as new for this long after its first sale
	personaHigh           = 0.5
	personaDominant       = 1.0
	personaSeedStreamMask = 0x9e3779b97f4a7c15
)

// PersonaCluster is one k-means cluster.
type PersonaCluster struct {
	Cluster   int     `json:"cluster"` // 0 = largest
	Customers int     `json:"customers"`
	Share     float64 `json:"share"`
	// Centroid holds the cluster's mean z-scores, in PersonaResult.Features
	// order. For recency a negative z means more recent than average.
	Centroid []float64 `json:"centroid"`
	// Means holds the cluster's means in natural units, in Features order:
	// days, orders, spend in minor units, or shares.
	Means       []float64 `json:"means"`
	Persona     Persona   `json:"persona"`
	Description string    `json:"description"` // e.g. "recent, frequent, high spend: loyal"
}

// PersonaAssignment places one customer in a cluster.
type PersonaAssignment struct {
	Customer int32  `json:"-"` // index into Dataset.CustomerIDs
	ID       string `json:"customer"`
	Cluster  int    `json:"cluster"`
}

// PersonaResult is the outcome of Personas.
type PersonaResult struct {
	AsOf       time.Time           `json:"as_of"`
	K          int                 `json:"k"`
	Seed       uint64              `json:"seed"`
	Features   []string            `json:"features"` // the features used, in centroid order
	Iterations int                 `json:"iterations"`
	Converged  bool                `json:"converged"` // false: stopped at the iteration cap
	Inertia    float64             `json:"inertia"`   // within-cluster sum of squared z distances
	Clusters   []PersonaCluster    `json:"clusters"`  // by size, largest first
	Customers  []PersonaAssignment `json:"customers"` // in Dataset customer order
}

// Personas clusters the customers who bought by asOf into k groups (k ≤ 0
// means 5) with k-means on standardised behavioural features, and names
// each group in plain words and with one of the documents' personas.
//
// Features, each standardised to a z-score (population standard deviation)
// and used only when it varies across customers:
//   - recency_days, log1p_frequency (distinct orders), log1p_monetary
//     (spend in minor units), as in RFM; frequency and spend are
//     heavy-tailed, hence the log;
//   - discount_share: the customer's discounts over the list value of
//     their purchases, Σ Discount ÷ Σ (Amount + Discount) over the lines
//     counted, when the Dataset has a Discount column (Omni's orders;
//     imported files have none, and the feature is then not a candidate);
//   - new_style_share: the share of the customer's lines bought within 30
//     days of the SKU's first sale in the data (a proxy for a launch date;
//     lines in the data's first 30 days are not judged, and a customer with
//     no judged line gets the average);
//   - category:<name>: share of the customer's lines in each of the top
//     five categories, when Dataset.SKUCategory is filled in;
//   - channel:<name>: share of the customer's lines in each of the top five
//     channels, when lines carry a channel.
//
// Clustering is k-means++ seeding from a PCG generator seeded with seed,
// then Lloyd iterations until no customer changes cluster (at most 100);
// an emptied cluster takes the point farthest from its centroid. The same
// data, asOf, k and seed always give the same result. Clusters are
// numbered by size, largest first.
//
// Naming is a heuristic on the centroid z-scores (h = 0.5); the first rule
// that holds wins:
//
//	loyal      z(frequency) ≥ h and z(monetary) ≥ h
//	sharer     z(share of a social channel) ≥ h — a channel whose name looks
//	           social (wechat, mini program, live, douyin, community, group…);
//	           never chosen without channel data
//	pioneer    z(new_style_share) ≥ h; without that feature: recent
//	           (z(recency) ≤ −h) and z(monetary) − z(frequency) ≥ h (big baskets)
//	rational   z(discount_share) ≥ h; without that feature:
//	           z(monetary) − z(frequency) ≤ −h (small baskets for how often they buy)
//	practical  everything else
//
// The plain words use the same h: recent / lapsed, frequent / infrequent,
// high / low spend (else moderately recent, occasional, mid spend), plus
// "buys new styles early", "discount-driven", and "mostly <channel>" or
// "leans to <category>" for a share with z ≥ 1.
//
// Only "loyal" rests on the features the documents name directly; the
// other four are proxies for motives (fashion, price, comfort, sociability)
// that transaction data can only hint at. Several clusters may share a
// persona, and a persona may have no cluster.
//
// Errors: an invalid asOf (see RFM), fewer customers than k, or features
// that do not vary at all.
func Personas(d *Dataset, asOf time.Time, k int, seed uint64) (PersonaResult, error) {
	if k <= 0 {
		k = DefaultPersonaK
	}
	rows, _, err := RFM(d, asOf, RFMOptions{})
	if err != nil {
		return PersonaResult{}, err
	}
	n := len(rows)
	if n == 0 {
		return PersonaResult{}, fmt.Errorf("analytics: personas: no customer bought by %s", asOf.UTC().Format(time.RFC3339))
	}
	if n < k {
		return PersonaResult{}, fmt.Errorf("analytics: personas: %d customers are fewer than k = %d", n, k)
	}
	feats := personaFeatures(d, asOf, rows)

	// Standardise, keeping only features that vary.
	var used []personaFeature
	for _, f := range feats {
		var mu float64
		for _, v := range f.val {
			mu += v
		}
		mu /= float64(n)
		var ss float64
		for _, v := range f.val {
			ss += (v - mu) * (v - mu)
		}
		sd := math.Sqrt(ss / float64(n))
		if !(sd > 1e-9*(1+math.Abs(mu))) {
			continue
		}
		f.mu, f.sd = mu, sd
		used = append(used, f)
	}
	if len(used) == 0 {
		return PersonaResult{}, errors.New("analytics: personas: no feature varies across customers")
	}
	dim := len(used)
	x := make([]float64, n*dim)
	for j, f := range used {
		for i, v := range f.val {
			x[i*dim+j] = (v - f.mu) / f.sd
		}
	}

	km := personaKMeans(x, n, dim, k, seed, personaMaxIter, 0)

	// Number clusters by size, largest first (ties: k-means order).
	size := make([]int, k)
	for _, l := range km.labels {
		size[l]++
	}
	perm := make([]int, k) // perm[new] = old
	for i := range perm {
		perm[i] = i
	}
	slices.SortStableFunc(perm, func(a, b int) int { return cmp.Compare(size[b], size[a]) })
	newOf := make([]int, k)
	for nw, old := range perm {
		newOf[old] = nw
	}

	res := PersonaResult{
		AsOf: asOf.UTC(), K: k, Seed: seed,
		Iterations: km.iters, Converged: km.converged, Inertia: km.inertia,
		Clusters:  make([]PersonaCluster, k),
		Customers: make([]PersonaAssignment, n),
	}
	for _, f := range used {
		res.Features = append(res.Features, f.name)
	}
	for i, r := range rows {
		res.Customers[i] = PersonaAssignment{Customer: r.Customer, ID: r.ID, Cluster: newOf[km.labels[i]]}
	}
	for nw, old := range perm {
		pc := PersonaCluster{
			Cluster:   nw,
			Customers: size[old],
			Share:     float64(size[old]) / float64(n),
			Centroid:  slices.Clone(km.centers[old*dim : (old+1)*dim]),
			Means:     make([]float64, dim),
		}
		res.Clusters[nw] = pc
	}
	for i := range rows {
		c := &res.Clusters[res.Customers[i].Cluster]
		for j, f := range used {
			c.Means[j] += f.raw[i]
		}
	}
	for ci := range res.Clusters {
		c := &res.Clusters[ci]
		for j := range c.Means {
			if c.Customers > 0 {
				c.Means[j] /= float64(c.Customers)
			}
		}
		c.Persona, c.Description = personaName(used, c.Centroid)
	}
	return res, nil
}

// personaFeature is one candidate feature column.
type personaFeature struct {
	name   string
	raw    []float64 // natural units, for the cluster means
	val    []float64 // transformed, before standardising
	kind   string    // one of the PersonaFeature* constants, "category" or "channel"
	label  string    // category or channel name
	social bool      // a channel whose name looks social
	mu, sd float64
}

// personaFeatures computes every candidate feature for the RFM rows.
func personaFeatures(d *Dataset, asOf time.Time, rows []CustomerRFM) []personaFeature {
	n := len(rows)
	rec := make([]float64, n)
	freq := make([]float64, n)
	mon := make([]float64, n)
	lf := make([]float64, n)
	lm := make([]float64, n)
	for i, r := range rows {
		rec[i] = float64(r.RecencyDays)
		freq[i] = float64(r.Frequency)
		mon[i] = float64(r.Monetary)
		lf[i] = math.Log1p(freq[i])
		lm[i] = math.Log1p(mon[i])
	}
	feats := []personaFeature{
		{name: PersonaFeatureRecency, kind: PersonaFeatureRecency, raw: rec, val: rec},
		{name: PersonaFeatureFrequency, kind: PersonaFeatureFrequency, raw: freq, val: lf},
		{name: PersonaFeatureMonetary, kind: PersonaFeatureMonetary, raw: mon, val: lm},
	}
	asOfU := asOf.Unix()
	nl := d.Len()
	cust, sku, qty, price, at, chn := d.Customer[:nl], d.SKU[:nl], d.Qty[:nl], d.Price[:nl], d.At[:nl], d.Channel
	valid := func(i int) bool { return at[i] <= asOfU && qty[i] > 0 && price[i] > 0 }

	row := make([]int32, len(d.CustomerIDs))
	for i := range row {
		row[i] = -1
	}
	for i, r := range rows {
		row[r.Customer] = int32(i)
	}

	// Discount share, over the same lines as RFM's monetary.
	if len(d.Discount) == nl {
		discount, list := make([]float64, n), make([]float64, n)
		for i := range nl {
			if c := cust[i]; c >= 0 && row[c] >= 0 && valid(i) {
				r := row[c]
				discount[r] += float64(d.Discount[i])
				list[r] += float64(d.Amount(i) + d.Discount[i])
			}
		}
		share := make([]float64, n)
		for r := range n {
			if list[r] > 0 {
				share[r] = discount[r] / list[r]
			}
		}
		feats = append(feats, personaFeature{name: PersonaFeatureDiscount, kind: PersonaFeatureDiscount, raw: share, val: share})
	}

	// SKU first sale (all lines, with or without a customer) and data start.
	skuFirst := make([]int64, len(d.SKUIDs))
	for i := range skuFirst {
		skuFirst[i] = math.MaxInt64
	}
	start := int64(math.MaxInt64)
	for i := range nl {
		if valid(i) {
			s := sku[i]
			skuFirst[s] = min(skuFirst[s], at[i])
			start = min(start, at[i])
		}
	}

	// Categories: intern, then keep the top five by customer lines.
	var skuCat []int32
	var catNames []string
	if len(d.SKUCategory) == len(d.SKUIDs) {
		idx := map[string]int32{}
		skuCat = make([]int32, len(d.SKUIDs))
		for s, c := range d.SKUCategory {
			if c == "" {
				skuCat[s] = -1
				continue
			}
			id, ok := idx[c]
			if !ok {
				id = int32(len(catNames))
				idx[c] = id
				catNames = append(catNames, c)
			}
			skuCat[s] = id
		}
		if len(catNames) == 0 {
			skuCat = nil
		}
	}
	hasChan := len(chn) == nl && slices.ContainsFunc(chn, func(c int32) bool { return c >= 0 })

	catLines := make([]int, len(catNames))
	chanLines := make([]int, len(d.Channels))
	for i := range nl {
		if cust[i] < 0 || row[cust[i]] < 0 || !valid(i) {
			continue
		}
		if skuCat != nil && skuCat[sku[i]] >= 0 {
			catLines[skuCat[sku[i]]]++
		}
		if hasChan && chn[i] >= 0 {
			chanLines[chn[i]]++
		}
	}
	topCat := personaTop(catLines, catNames)
	topChan := personaTop(chanLines, d.Channels)
	catSlot := personaSlots(len(catNames), topCat)
	chanSlot := personaSlots(len(d.Channels), topChan)

	lines := make([]float64, n)
	judged := make([]float64, n)
	newc := make([]float64, n)
	catc := make([]float64, n*len(topCat))
	chanc := make([]float64, n*len(topChan))
	judgeFrom := start + personaNewStyleDays*86400
	for i := range nl {
		c := cust[i]
		if c < 0 || row[c] < 0 || !valid(i) {
			continue
		}
		r := int(row[c])
		s := sku[i]
		lines[r]++
		if at[i] >= judgeFrom {
			judged[r]++
			if at[i]-skuFirst[s] < personaNewStyleDays*86400 {
				newc[r]++
			}
		}
		if skuCat != nil && skuCat[s] >= 0 {
			if k := catSlot[skuCat[s]]; k >= 0 {
				catc[r*len(topCat)+k]++
			}
		}
		if hasChan && chn[i] >= 0 {
			if k := chanSlot[chn[i]]; k >= 0 {
				chanc[r*len(topChan)+k]++
			}
		}
	}

	// New-style share; customers with no judged line get the mean.
	ns := make([]float64, n)
	var tot, cnt float64
	for r := range n {
		if judged[r] > 0 {
			ns[r] = newc[r] / judged[r]
			tot += ns[r]
			cnt++
		}
	}
	if cnt > 0 {
		for r := range n {
			if judged[r] == 0 {
				ns[r] = tot / cnt
			}
		}
		feats = append(feats, personaFeature{name: PersonaFeatureNewStyle, kind: PersonaFeatureNewStyle, raw: ns, val: ns})
	}
	for k, id := range topCat {
		v := make([]float64, n)
		for r := range n {
			if lines[r] > 0 {
				v[r] = catc[r*len(topCat)+k] / lines[r]
			}
		}
		feats = append(feats, personaFeature{name: "category:" + catNames[id], kind: "category", label: catNames[id], raw: v, val: v})
	}
	for k, id := range topChan {
		v := make([]float64, n)
		for r := range n {
			if lines[r] > 0 {
				v[r] = chanc[r*len(topChan)+k] / lines[r]
			}
		}
		name := d.Channels[id]
		feats = append(feats, personaFeature{name: "channel:" + name, kind: "channel", label: name,
			social: personaSocial(name), raw: v, val: v})
	}
	return feats
}

// personaTop returns the indices of the (up to five) largest non-zero
// counts, largest first, ties by name.
func personaTop(counts []int, names []string) []int {
	var idx []int
	for i, c := range counts {
		if c > 0 {
			idx = append(idx, i)
		}
	}
	slices.SortFunc(idx, func(a, b int) int {
		if c := cmp.Compare(counts[b], counts[a]); c != 0 {
			return c
		}
		return cmp.Compare(names[a], names[b])
	})
	return idx[:min(len(idx), personaTopMix)]
}

// personaSlots maps an id to its position in top, or -1.
func personaSlots(n int, top []int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = -1
	}
	for k, id := range top {
		s[id] = k
	}
	return s
}

// personaSocialWords mark a channel as social (a heuristic on its name).
var personaSocialWords = []string{"social", "wechat", "weixin", "mini", "live", "douyin", "tiktok",
	"xiaohongshu", "community", "share", "group", "社交", "微信", "小程序", "直播", "社群", "拼团", "分享"}

func personaSocial(name string) bool {
	l := strings.ToLower(name)
	return slices.ContainsFunc(personaSocialWords, func(w string) bool { return strings.Contains(l, w) })
}

// personaName describes a centroid in plain words and picks its persona by
// the rules documented on Personas.
func personaName(feats []personaFeature, z []float64) (Persona, string) {
	get := func(kind string) (float64, bool) {
		for j, f := range feats {
			if f.kind == kind {
				return z[j], true
			}
		}
		return 0, false
	}
	zR, _ := get(PersonaFeatureRecency)
	zF, _ := get(PersonaFeatureFrequency)
	zM, _ := get(PersonaFeatureMonetary)
	zD, hasD := get(PersonaFeatureDiscount)
	zN, hasN := get(PersonaFeatureNewStyle)
	social := math.Inf(-1)
	for j, f := range feats {
		if f.social {
			social = max(social, z[j])
		}
	}

	var words []string
	words = append(words, personaLevel(-zR, "recent", "moderately recent", "lapsed"))
	words = append(words, personaLevel(zF, "frequent", "occasional", "infrequent"))
	words = append(words, personaLevel(zM, "high spend", "mid spend", "low spend"))
	if hasN && zN >= personaHigh {
		words = append(words, "buys new styles early")
	}
	if hasD && zD >= personaHigh {
		words = append(words, "discount-driven")
	}
	for _, kind := range []string{"channel", "category"} {
		best, bj := personaDominant, -1
		for j, f := range feats {
			if f.kind == kind && z[j] >= best {
				best, bj = z[j], j
			}
		}
		if bj >= 0 {
			if kind == "channel" {
				words = append(words, "mostly "+feats[bj].label)
			} else {
				words = append(words, "leans to "+feats[bj].label)
			}
		}
	}

	aov := zM - zF
	var p Persona
	switch {
	case zF >= personaHigh && zM >= personaHigh:
		p = PersonaLoyal
	case social >= personaHigh:
		p = PersonaSharer
	case hasN && zN >= personaHigh, !hasN && zR <= -personaHigh && aov >= personaHigh:
		p = PersonaPioneer
	case hasD && zD >= personaHigh, !hasD && aov <= -personaHigh:
		p = PersonaRational
	default:
		p = PersonaPractical
	}
	return p, strings.Join(words, ", ") + ": " + string(p)
}

func personaLevel(z float64, high, mid, low string) string {
	switch {
	case z >= personaHigh:
		return high
	case z <= -personaHigh:
		return low
	}
	return mid
}

// personaChunk is the number of points per assignment chunk.
const personaChunk = 4096

// personaPart is one chunk's share of an assignment step.
type personaPart struct {
	sums    []float64 // k × dim
	counts  []int
	changed int
}

// personaKM is the outcome of k-means.
type personaKM struct {
	centers   []float64 // k × dim
	labels    []int32
	iters     int
	converged bool
	inertia   float64
}

// personaKMeans clusters n points of dim coordinates (row-major in x) into
// k clusters: k-means++ seeding from PCG(seed), then Lloyd iterations
// until no label changes or maxIter assignment passes. workers ≤ 0 picks
// the number of goroutines from the size; the result never depends on it.
func personaKMeans(x []float64, n, dim, k int, seed uint64, maxIter, workers int) personaKM {
	rng := rand.New(rand.NewPCG(seed, seed^personaSeedStreamMask))
	centers := make([]float64, k*dim)
	dist := make([]float64, n)
	sq := func(i int, c []float64) float64 {
		p := x[i*dim : (i+1)*dim]
		var s float64
		for j, v := range p {
			dv := v - c[j]
			s += dv * dv
		}
		return s
	}

	// k-means++: the first centre uniformly, then each next one with
	// probability proportional to the squared distance to the nearest centre.
	first := rng.IntN(n)
	copy(centers[:dim], x[first*dim:(first+1)*dim])
	for i := range n {
		dist[i] = sq(i, centers[:dim])
	}
	for c := 1; c < k; c++ {
		var total float64
		for _, v := range dist {
			total += v
		}
		pick := n - 1
		if total > 0 {
			r := rng.Float64() * total
			for i, v := range dist {
				r -= v
				if r < 0 {
					pick = i
					break
				}
			}
		} else {
			pick = rng.IntN(n)
		}
		cc := centers[c*dim : (c+1)*dim]
		copy(cc, x[pick*dim:(pick+1)*dim])
		for i := range n {
			dist[i] = min(dist[i], sq(i, cc))
		}
	}

	labels := make([]int32, n)
	for i := range labels {
		labels[i] = -1
	}
	sums := make([]float64, k*dim)
	counts := make([]int, k)
	km := personaKM{centers: centers, labels: labels}

	// The assignment step runs over fixed chunks of points, in parallel for
	// large inputs; each chunk keeps partial sums that are merged in chunk
	// order, so the arithmetic and the result do not depend on the number
	// of workers.
	nch := (n + personaChunk - 1) / personaChunk
	parts := make([]personaPart, nch)
	for i := range parts {
		parts[i] = personaPart{sums: make([]float64, k*dim), counts: make([]int, k)}
	}
	assign := func(ch int) {
		p := &parts[ch]
		clear(p.sums)
		clear(p.counts)
		p.changed = 0
		for i := ch * personaChunk; i < min(n, (ch+1)*personaChunk); i++ {
			xi := x[i*dim : (i+1)*dim]
			best, bd := int32(0), math.Inf(1)
			for c := range k {
				cc := centers[c*dim : (c+1)*dim]
				cc = cc[:len(xi)]
				var dd float64
				for j, v := range xi {
					dv := v - cc[j]
					dd += dv * dv
				}
				if dd < bd {
					best, bd = int32(c), dd
				}
			}
			dist[i] = bd
			if labels[i] != best {
				labels[i] = best
				p.changed++
			}
			p.counts[best]++
			ps := p.sums[int(best)*dim : (int(best)+1)*dim]
			ps = ps[:len(xi)]
			for j, v := range xi {
				ps[j] += v
			}
		}
	}
	if workers <= 0 {
		workers = 1
		if n*k*dim >= 1<<20 {
			workers = min(runtime.GOMAXPROCS(0), 8)
		}
	}
	workers = min(workers, nch)
	for km.iters < maxIter {
		km.iters++
		if workers == 1 {
			for ch := range nch {
				assign(ch)
			}
		} else {
			var next atomic.Int64
			var wg sync.WaitGroup
			for range workers {
				wg.Go(func() {
					for ch := int(next.Add(1)) - 1; ch < nch; ch = int(next.Add(1)) - 1 {
						assign(ch)
					}
				})
			}
			wg.Wait()
		}
		changed := 0
		clear(sums)
		clear(counts)
		for _, p := range parts {
			changed += p.changed
			for c := range k {
				counts[c] += p.counts[c]
			}
			for j, v := range p.sums {
				sums[j] += v
			}
		}
		if changed == 0 {
			km.converged = true
			break
		}
		// An empty cluster takes the point farthest from its centre among
		// clusters with more than one point.
		for c := range k {
			if counts[c] > 0 {
				continue
			}
			far, fd := -1, -1.0
			for i := range n {
				if counts[labels[i]] > 1 && dist[i] > fd {
					far, fd = i, dist[i]
				}
			}
			if far < 0 {
				break
			}
			old := int(labels[far])
			counts[old]--
			for j := range dim {
				sums[old*dim+j] -= x[far*dim+j]
				sums[c*dim+j] = x[far*dim+j]
			}
			counts[c] = 1
			labels[far] = int32(c)
			dist[far] = 0
		}
		for c := range k {
			if counts[c] == 0 {
				continue
			}
			for j := range dim {
				centers[c*dim+j] = sums[c*dim+j] / float64(counts[c])
			}
		}
	}
	for i := range n {
		km.inertia += sq(i, centers[int(labels[i])*dim:(int(labels[i])+1)*dim])
	}
	return km
}
