package analytics

import (
	"slices"
	"testing"
	"time"
)

func TestGenerateDeterministicAndValid(t *testing.T) {
	a := Generate(GenerateOptions{Lines: 50_000, Seed: 7})
	b := Generate(GenerateOptions{Lines: 50_000, Seed: 7})
	c := Generate(GenerateOptions{Lines: 50_000, Seed: 8})
	if a.Len() != 50_000 || !slices.Equal(a.At, b.At) || !slices.Equal(a.SKU, b.SKU) || !slices.Equal(a.Customer, b.Customer) {
		t.Fatal("same seed, different history")
	}
	if slices.Equal(a.At, c.At) {
		t.Fatal("different seeds, same history")
	}
	start := time.Date(2024, 11, 1, 0, 0, 0, 0, Shanghai).Unix()
	end := start + 731*86400
	for i := range a.Len() {
		if a.Qty[i] <= 0 || a.Price[i] <= 0 || a.At[i] < start || a.At[i] >= end ||
			int(a.Customer[i]) >= len(a.CustomerIDs) || int(a.SKU[i]) >= len(a.SKUIDs) || int(a.Order[i]) >= len(a.OrderIDs) {
			t.Fatalf("line %d breaks the dataset's invariants", i)
		}
		if i > 0 && a.Order[i] == a.Order[i-1] && (a.Customer[i] != a.Customer[i-1] || a.At[i] != a.At[i-1]) {
			t.Fatalf("line %d: one order with two customers or times", i)
		}
	}
}
