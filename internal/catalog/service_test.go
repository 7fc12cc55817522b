package catalog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/omni-retail/omni/internal/platform/db"
	"github.com/omni-retail/omni/internal/platform/db/dbtest"
	"github.com/omni-retail/omni/internal/platform/errs"
)

func TestLifecycleDays(t *testing.T) {
	t.Parallel()
	for l, want := range map[Lifecycle]int{Fashion: 90, Seasonal: 180, Classic: 365, "": 0, "Fashion": 0} {
		if got := l.Days(); got != want {
			t.Errorf("%q.Days() = %d, want %d", l, got, want)
		}
	}
}

func TestBarcodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code string
		ok   bool
	}{
		{"4006381333931", true},  // EAN-13
		{"036000291452", true},   // UPC-A
		{"73513537", true},       // EAN-8
		{"00012345600012", true}, // GTIN-14
		{"4006381333932", false}, // wrong check digit
		{"036000291453", false},
		{"73513536", false},
		{"400638133393", false},  // 12 digits, wrong check digit
		{"1234567890", false},    // 10 digits is no GTIN
		{"400638133393A", false}, // not digits
		{"", false},
		{"+4006381333931", false},
	}
	for _, tc := range tests {
		if got := ValidBarcode(tc.code); got != tc.ok {
			t.Errorf("ValidBarcode(%q) = %v, want %v", tc.code, got, tc.ok)
		}
	}
	if got := ean13(42); !ValidBarcode(got) {
		t.Errorf("ean13 helper made an invalid barcode %s", got)
	}
}

func TestParsePrices(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		yuan bool
		want int64
		ok   bool
	}{
		{"19900", false, 19900, true},
		{"0", false, 0, true},
		{"199.00", false, 0, false},
		{"-1", false, 0, false},
		{"1e3", false, 0, false},
		{"199.00", true, 19900, true},
		{"199.5", true, 19950, true},
		{"199", true, 19900, true},
		{"0.01", true, 1, true},
		{"0.1", true, 10, true},
		{"1000000.00", true, 100_000_000, true},
		{"199.", true, 0, false},
		{".5", true, 0, false},
		{"1.234", true, 0, false},
		{"1,000", true, 0, false},
		{"-1.00", true, 0, false},
		{"１２", true, 0, false}, // full-width digits
	}
	for _, tc := range tests {
		ok := true
		got := parsePrice(tc.in, tc.yuan, "p", func(string, string, string) { ok = false })
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("parsePrice(%q, yuan=%v) = %d, ok %v; want %d, ok %v", tc.in, tc.yuan, got, ok, tc.want, tc.ok)
		}
	}
}

func TestCreateStyleValidation(t *testing.T) {
	t.Parallel()
	s := newService(dbtest.SQLite(t))
	base := func() NewStyle { return sampleStyle(1, []string{"white"}, []string{"M", "L"}) }
	tests := []struct {
		name  string
		edit  func(*NewStyle)
		field string
	}{
		{"empty code", func(n *NewStyle) { n.Code = "" }, "code"},
		{"code with space", func(n *NewStyle) { n.Code = "A B" }, "code"},
		{"code too long", func(n *NewStyle) { n.Code = strings.Repeat("x", 65) }, "code"},
		{"no name", func(n *NewStyle) { n.Name = "  " }, "name"},
		{"no category", func(n *NewStyle) { n.Category = "" }, "category"},
		{"bad lifecycle", func(n *NewStyle) { n.Lifecycle = "forever" }, "lifecycle"},
		{"no lifecycle", func(n *NewStyle) { n.Lifecycle = "" }, "lifecycle"},
		{"impossible date", func(n *NewStyle) { n.LaunchDate = "2025-02-30" }, "launch_date"},
		{"date format", func(n *NewStyle) { n.LaunchDate = "2025/02/03" }, "launch_date"},
		{"negative price", func(n *NewStyle) { n.SKUs[0].ListPrice = -1 }, "skus[0].list_price"},
		{"price too high", func(n *NewStyle) { n.SKUs[1].ListPrice = MaxPrice + 1 }, "skus[1].list_price"},
		{"negative cost", func(n *NewStyle) { n.SKUs[0].Cost = -5 }, "skus[0].cost"},
		{"no colour", func(n *NewStyle) { n.SKUs[0].Color = "" }, "skus[0].color"},
		{"no size", func(n *NewStyle) { n.SKUs[1].Size = "" }, "skus[1].size"},
		{"bad check digit", func(n *NewStyle) { n.SKUs[0].Barcode = "4006381333932" }, "skus[0].barcode"},
		{"barcode letters", func(n *NewStyle) { n.SKUs[0].Barcode = "ABCDEFGH" }, "skus[0].barcode"},
		{"barcode length", func(n *NewStyle) { n.SKUs[0].Barcode = "123456789" }, "skus[0].barcode"},
		{"no barcode", func(n *NewStyle) { n.SKUs[0].Barcode = "" }, "skus[0].barcode"},
		{"bad sku code", func(n *NewStyle) { n.SKUs[0].Code = "é" }, "skus[0].code"},
		{"repeated sku code", func(n *NewStyle) { n.SKUs[1].Code = n.SKUs[0].Code }, "skus[1].code"},
		{"repeated barcode", func(n *NewStyle) { n.SKUs[1].Barcode = n.SKUs[0].Barcode }, "skus[1].barcode"},
		{"repeated variant", func(n *NewStyle) { n.SKUs[1].Size = n.SKUs[0].Size }, "skus[1].size"},
		{"control character", func(n *NewStyle) { n.Name = "a\x00b" }, "name"},
		{"name too long", func(n *NewStyle) { n.Name = strings.Repeat("衫", MaxNameLen+1) }, "name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := base()
			tc.edit(&in)
			_, err := s.CreateStyle(context.Background(), in)
			e := wantErr(t, err, errs.Invalid, "validation_failed")
			if len(e.Fields) != 1 || e.Fields[0].Field != tc.field {
				t.Fatalf("fields %s; want exactly %s", fieldList(e), tc.field)
			}
		})
	}
	if c := counts(t, s.db); c != [3]int{} {
		t.Fatalf("refused creates wrote %v", c)
	}
}

func TestCatalogContract(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newService(d)
		in := sampleStyle(1, []string{"white", "black"}, []string{"S", "M", "L"})
		in.Code = " ST-0001 " // trimmed
		st, err := s.CreateStyle(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if st.Code != "ST-0001" || len(st.SKUs) != 6 || !st.CreatedAt.Equal(testNow) || !st.SKUs[0].Active {
			t.Fatalf("created %+v", st)
		}

		got, err := s.GetStyle(ctx, "ST-0001")
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != in.Name || got.Lifecycle != Seasonal || got.LaunchDate != "2025-03-01" || len(got.SKUs) != 6 ||
			!got.CreatedAt.Equal(testNow) || got.SKUs[0].Code != "ST-0001-black-L" || got.SKUs[0].StyleCode != "ST-0001" {
			t.Fatalf("got %+v", got)
		}

		t.Run("duplicates", func(t *testing.T) {
			_, err := s.CreateStyle(ctx, sampleStyle(1, nil, nil))
			wantErr(t, err, errs.Conflict, "duplicate_code")
			other := sampleStyle(2, []string{"red"}, []string{"M"})
			other.SKUs[0].Code = "ST-0001-white-M"
			_, err = s.CreateStyle(ctx, other)
			if e := wantErr(t, err, errs.Conflict, "duplicate_code"); !hasField(e, "skus[0].code") {
				t.Errorf("fields %s", fieldList(e))
			}
			if _, err := s.GetStyle(ctx, "ST-0002"); !errors.Is(err, ErrStyleNotFound) {
				t.Fatalf("a refused create left its style behind: %v", err)
			}
			_, err = s.AddSKU(ctx, "ST-0001", NewSKU{Code: "X1", Color: "green", Size: "M", Barcode: ean13(100), ListPrice: 1})
			wantErr(t, err, errs.Conflict, "duplicate_barcode")
			_, err = s.AddSKU(ctx, "ST-0001", NewSKU{Code: "X1", Color: "white", Size: "M", Barcode: ean13(9999), ListPrice: 1})
			wantErr(t, err, errs.Conflict, "duplicate_variant")
			_, err = s.AddSKU(ctx, "ST-0001", NewSKU{Code: "ST-0001-white-M", Color: "green", Size: "M", Barcode: ean13(9999)})
			wantErr(t, err, errs.Conflict, "duplicate_code")
		})

		t.Run("not found", func(t *testing.T) {
			for name, err := range map[string]error{
				"GetStyle":        second(s.GetStyle(ctx, "NOPE")),
				"GetStyle bad":    second(s.GetStyle(ctx, "bad code/..")),
				"UpdateStyle":     second(s.UpdateStyle(ctx, "NOPE", StylePatch{Name: ptr("x")})),
				"AddSKU":          second(s.AddSKU(ctx, "NOPE", NewSKU{Code: "Y", Color: "c", Size: "s", Barcode: ean13(7)})),
				"StyleSKURefs":    second(s.StyleSKURefs(ctx, "NOPE")),
				"GetSKU":          second(s.GetSKU(ctx, "NOPE")),
				"UpdateSKU":       second(s.UpdateSKU(ctx, "NOPE", SKUPatch{Active: ptr(false)})),
				"SKURef":          second(s.SKURef(ctx, "NOPE")),
				"SKURefByID":      second(s.SKURefByID(ctx, 987654)),
				"GetSKUByBarcode": second(s.GetSKUByBarcode(ctx, ean13(5555))),
			} {
				e, ok := errs.As(err)
				if !ok || e.Kind != errs.NotFound {
					t.Errorf("%s: %v, want not found", name, err)
				}
			}
			_, err := s.SKURef(ctx, "NOPE-1")
			if !errors.Is(err, ErrSKUNotFound) || !strings.Contains(err.Error(), "NOPE-1") {
				t.Errorf("SKURef error %v should be ErrSKUNotFound naming the code", err)
			}
		})

		t.Run("update style", func(t *testing.T) {
			st, err := s.UpdateStyle(ctx, "ST-0001", StylePatch{Name: ptr("  Oxford shirt "), Lifecycle: ptr(Classic)})
			if err != nil {
				t.Fatal(err)
			}
			if st.Name != "Oxford shirt" || st.Lifecycle != Classic || st.Category != "shirts" || len(st.SKUs) != 6 {
				t.Fatalf("updated %+v", st)
			}
			_, err = s.UpdateStyle(ctx, "ST-0001", StylePatch{LaunchDate: ptr("2025-13-01"), Category: ptr("")})
			e := wantErr(t, err, errs.Invalid, "validation_failed")
			if !hasField(e, "launch_date") || !hasField(e, "category") {
				t.Errorf("fields %s", fieldList(e))
			}
			same, err := s.UpdateStyle(ctx, "ST-0001", StylePatch{})
			if err != nil || same.Name != "Oxford shirt" {
				t.Fatalf("empty patch: %+v %v", same, err)
			}
		})

		t.Run("update sku", func(t *testing.T) {
			k, err := s.UpdateSKU(ctx, "ST-0001-white-M", SKUPatch{ListPrice: ptr[int64](25900), Active: ptr(false)})
			if err != nil {
				t.Fatal(err)
			}
			if k.ListPrice != 25900 || k.Active || k.Cost != 6000 || k.StyleCode != "ST-0001" || k.Color != "white" {
				t.Fatalf("updated %+v", k)
			}
			_, err = s.UpdateSKU(ctx, "ST-0001-white-M", SKUPatch{Barcode: ptr(ean13(102))})
			if e := wantErr(t, err, errs.Conflict, "duplicate_barcode"); !hasField(e, "barcode") {
				t.Errorf("fields %s", fieldList(e))
			}
			nb := ean13(777)
			k, err = s.UpdateSKU(ctx, "ST-0001-white-M", SKUPatch{Barcode: ptr(nb)})
			if err != nil || k.Barcode != nb || k.ListPrice != 25900 {
				t.Fatalf("barcode change: %+v %v", k, err)
			}
			byBC, err := s.GetSKUByBarcode(ctx, nb)
			if err != nil || byBC.Code != "ST-0001-white-M" {
				t.Fatalf("by barcode: %+v %v", byBC, err)
			}
			_, err = s.UpdateSKU(ctx, "ST-0001-white-M", SKUPatch{Cost: ptr[int64](-1)})
			wantErr(t, err, errs.Invalid, "validation_failed")
		})

		t.Run("events", func(t *testing.T) {
			want := map[string]int{TopicStyleCreated: 1, TopicSKUCreated: 6, TopicStyleUpdated: 1, TopicSKUUpdated: 2}
			got := topics(t, d)
			for k, n := range want {
				if got[k] != n {
					t.Errorf("events %v, want %v", got, want)
					break
				}
			}
		})

		t.Run("sku refs", func(t *testing.T) {
			r, err := s.SKURef(ctx, "ST-0001-black-S")
			if err != nil {
				t.Fatal(err)
			}
			byID, err := s.SKURefByID(ctx, r.ID)
			if err != nil || byID != r || r.StyleCode != "ST-0001" || r.StyleID == 0 {
				t.Fatalf("ref %+v, by id %+v, %v", r, byID, err)
			}
			refs, err := s.StyleSKURefs(ctx, "ST-0001")
			if err != nil || len(refs) != 6 || refs[0].Code != "ST-0001-black-L" {
				t.Fatalf("style refs %+v %v", refs, err)
			}
			for _, x := range refs {
				if x.StyleID != r.StyleID {
					t.Fatalf("style refs %+v", refs)
				}
			}
			empty := must[Style](t)(s.CreateStyle(ctx, NewStyle{Code: "EMPTY", Name: "e", Category: "c", Lifecycle: Classic, LaunchDate: "2020-01-01"}))
			refs, err = s.StyleSKURefs(ctx, empty.Code)
			if err != nil || refs == nil || len(refs) != 0 {
				t.Fatalf("refs of a style without SKUs: %#v %v", refs, err)
			}
		})

		t.Run("list and search", func(t *testing.T) { testListing(t, d) })
	})
}

func second[T any](_ T, err error) error { return err }

// testListing runs on a fresh service over d's catalog plus its own styles.
func testListing(t *testing.T, d *db.DB) {
	ctx := context.Background()
	s := newService(d)
	var batch []Style
	for i := 10; i < 35; i++ {
		n := sampleStyle(i, []string{"Red", "Blue"}, []string{"M"})
		st := Style{Code: n.Code, Name: n.Name, Category: "shirts", Brand: "Omni", Season: "2025SS", Lifecycle: Seasonal, LaunchDate: "2025-03-01"}
		if i%5 == 0 {
			st.Category, st.Name, st.Lifecycle = "trousers", fmt.Sprintf("Chino 100%%_%d", i), Fashion
		}
		for _, k := range n.SKUs {
			st.SKUs = append(st.SKUs, SKU{Code: k.Code, Color: k.Color, Size: k.Size, Barcode: k.Barcode, ListPrice: 9900, Cost: 100, Active: i%2 == 0})
		}
		batch = append(batch, st)
	}
	if _, err := s.BulkUpsert(ctx, batch); err != nil {
		t.Fatal(err)
	}

	// Paging through everything meets every style once, in code order.
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		items, next, err := s.ListStyles(ctx, StyleFilter{Limit: 7, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		if len(items) > 7 || pages > 10 {
			t.Fatalf("page of %d, %d pages", len(items), pages)
		}
		for _, st := range items {
			seen = append(seen, st.Code)
			if st.SKUs != nil {
				t.Fatalf("listed styles carry no SKUs")
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	var total int
	if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM styles`).Scan(&total); err != nil {
		t.Fatal(err)
	}
	if len(seen) != total {
		t.Fatalf("paged %d styles of %d", len(seen), total)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i-1] >= seen[i] {
			t.Fatalf("not in code order: %v", seen)
		}
	}

	tests := []struct {
		name string
		f    StyleFilter
		want int
	}{
		{"category", StyleFilter{Category: "trousers"}, 5},
		{"lifecycle", StyleFilter{Lifecycle: Fashion}, 5},
		{"q name case-insensitive", StyleFilter{Q: "CHINO"}, 5},
		{"q percent is literal", StyleFilter{Q: "%"}, 5},
		{"q underscore is literal", StyleFilter{Q: "_2"}, 2}, // 20, 25
		{"q code", StyleFilter{Q: "st-003"}, 5},              // 30–34
		{"q chinese", StyleFilter{Q: "亚麻"}, 20},
		{"combined", StyleFilter{Q: "chino", Category: "shirts"}, 0},
	}
	for _, tc := range tests {
		items, _, err := s.ListStyles(ctx, tc.f)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(items) != tc.want {
			t.Errorf("%s: %d styles, want %d", tc.name, len(items), tc.want)
		}
	}
	_, _, err := s.ListStyles(ctx, StyleFilter{Lifecycle: "forever"})
	wantErr(t, err, errs.Invalid, "validation_failed")
	_, _, err = s.ListStyles(ctx, StyleFilter{Cursor: "!!"})
	wantErr(t, err, errs.Invalid, "validation_failed")
	_, _, err = s.ListStyles(ctx, StyleFilter{Q: "\xff"})
	wantErr(t, err, errs.Invalid, "validation_failed")

	skuTests := []struct {
		name string
		f    SKUFilter
		want int
	}{
		{"style", SKUFilter{Style: "ST-0012"}, 2},
		{"barcode exact", SKUFilter{Barcode: batch[3].SKUs[1].Barcode}, 1},
		{"q barcode part", SKUFilter{Q: batch[3].SKUs[1].Barcode[5:]}, 1},
		{"q style name", SKUFilter{Q: "chino"}, 10},
		{"q sku code", SKUFilter{Q: "-red-"}, 25 * 1},
		{"active", SKUFilter{Active: ptr(false), Category: "trousers"}, 4}, // 15, 25
		{"lifecycle", SKUFilter{Lifecycle: Fashion, Limit: 500}, 10},
	}
	for _, tc := range skuTests {
		items, _, err := s.ListSKUs(ctx, tc.f)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(items) != tc.want {
			t.Errorf("%s: %d SKUs, want %d", tc.name, len(items), tc.want)
		}
	}
	var all []string
	cursor = ""
	for {
		items, next, err := s.ListSKUs(ctx, SKUFilter{Limit: 9, Cursor: cursor, Season: "2025SS"})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range items {
			all = append(all, k.Code)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	var nsku int
	if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM skus`).Scan(&nsku); err != nil {
		t.Fatal(err)
	}
	if len(all) != nsku {
		t.Fatalf("paged %d SKUs of %d", len(all), nsku)
	}
}

// TestConcurrentBarcode: many writers race for one barcode; exactly one wins.
func TestConcurrentBarcode(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newService(d)
		if _, err := s.CreateStyle(ctx, sampleStyle(1, nil, nil)); err != nil {
			t.Fatal(err)
		}
		const n = 24
		var wg sync.WaitGroup
		results := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, results[i] = s.AddSKU(ctx, "ST-0001", NewSKU{Code: fmt.Sprintf("R-%d", i), Color: "c", Size: fmt.Sprint(i),
					Barcode: ean13(424242), ListPrice: 100})
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range results {
			if err == nil {
				won++
			} else if !errors.Is(err, ErrDuplicateBarcode) {
				t.Errorf("unexpected error %v", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d writers won, want 1", won)
		}
		if c := counts(t, d); c[1] != 1 || c[2] != 2 {
			t.Fatalf("counts %v, want 1 SKU and 2 events", c)
		}

		// Existing SKUs racing to take one barcode by update: the unique
		// constraint refuses all but one, also inside shared batches.
		var skus []NewSKU
		for i := range n {
			skus = append(skus, NewSKU{Code: fmt.Sprintf("U-%d", i), Color: "u", Size: fmt.Sprint(i), Barcode: ean13(500000 + i)})
		}
		if _, err := s.CreateStyle(ctx, NewStyle{Code: "U", Name: "u", Category: "u", Lifecycle: Classic, LaunchDate: "2025-01-01", SKUs: skus}); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, results[i] = s.UpdateSKU(ctx, fmt.Sprintf("U-%d", i), SKUPatch{Barcode: ptr(ean13(600000)), ListPrice: ptr[int64](1)})
			}()
		}
		wg.Wait()
		won = 0
		for _, err := range results {
			if err == nil {
				won++
			} else if !errors.Is(err, ErrDuplicateBarcode) {
				t.Errorf("unexpected error %v", err)
			}
		}
		var priced int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM skus WHERE list_price = 1`).Scan(&priced); err != nil {
			t.Fatal(err)
		}
		if won != 1 || priced != 1 {
			t.Fatalf("%d updates won and %d SKUs repriced, want 1 and 1", won, priced)
		}
	})
}

// TestSKURefCached: identities once read are served without the store.
func TestSKURefCached(t *testing.T) {
	t.Parallel()
	d := dbtest.SQLite(t)
	ctx := context.Background()
	s := newService(d)
	must[Style](t)(s.CreateStyle(ctx, sampleStyle(1, []string{"a"}, []string{"1", "2"})))
	r1, err := s.SKURef(ctx, "ST-0001-a-1")
	if err != nil {
		t.Fatal(err)
	}
	refs, err := s.StyleSKURefs(ctx, "ST-0001")
	if err != nil || len(refs) != 2 {
		t.Fatal(refs, err)
	}
	d.Close()
	if r, err := s.SKURef(ctx, "ST-0001-a-1"); err != nil || r != r1 {
		t.Fatalf("cached ref: %+v %v", r, err)
	}
	if r, err := s.SKURefByID(ctx, refs[1].ID); err != nil || r != refs[1] {
		t.Fatalf("cached ref by id: %+v %v", r, err)
	}
	if _, err := s.SKURef(ctx, "ST-0001-a-3"); err == nil {
		t.Fatal("an unknown code was answered without the store")
	}
}
