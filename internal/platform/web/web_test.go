package web

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/omni-retail/omni/internal/platform/errs"
)

func TestDecodeRefusals(t *testing.T) {
	type in struct {
		Qty   int64  `json:"qty"`
		Name  string `json:"name"`
		Lines []int  `json:"lines"`
	}
	for _, c := range []struct {
		body, code, field string
		status            int
	}{
		{`{"qty": 1, "name": "x"}`, "", "", 0},
		{``, "empty_body", "", 400},
		{`{"qty": 1`, "malformed_json", "", 400},
		{`{"qty": "one"}`, "wrong_type", "qty", 400},
		{`{"colour": "red"}`, "unknown_field", "colour", 400},
		{`{"qty": 1} {"qty": 2}`, "trailing_data", "", 400},
		{`[1, 2]`, "wrong_type", "(body)", 400},
		{`{"lines": [1, "a"]}`, "wrong_type", "lines", 400},
	} {
		var v in
		err := DecodeBytes([]byte(c.body), &v)
		if c.code == "" {
			if err != nil {
				t.Errorf("%s: %v", c.body, err)
			}
			continue
		}
		e, ok := errs.As(err)
		if !ok || e.Code != c.code || e.Kind.Status() != c.status {
			t.Errorf("%s: err = %v; want %s (%d)", c.body, err, c.code, c.status)
			continue
		}
		if c.field != "" && (len(e.Fields) == 0 || !strings.HasPrefix(e.Fields[0].Field, c.field)) {
			t.Errorf("%s: fields = %+v; want %s", c.body, e.Fields, c.field)
		}
	}
}

func TestProblemDocument(t *testing.T) {
	r := httptest.NewRequest("POST", "/api/v1/x", nil)
	r.Header.Set("Accept-Language", "zh-CN,zh;q=0.9,en;q=0.8")
	err := errs.New(errs.Conflict, "insufficient_stock", "short").With("available", 3).With("status", "not me")
	b, _ := json.Marshal(ProblemFor(r, err))
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["status"] != float64(409) || m["code"] != "insufficient_stock" || m["available"] != float64(3) || m["title"] != "状态冲突" {
		t.Fatalf("problem = %s", b)
	}
	// Internal errors keep their text out of the answer.
	b, _ = json.Marshal(ProblemFor(httptest.NewRequest("GET", "/", nil), errString("pq: password authentication failed")))
	if strings.Contains(string(b), "password") || !strings.Contains(string(b), `"status":500`) {
		t.Fatalf("internal problem leaks or is wrong: %s", b)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestChinese(t *testing.T) {
	for al, want := range map[string]bool{"zh-CN": true, "zh": true, "en-US,zh;q=0.5": false, "": false, "*": false, "zh-TW,en": true} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Language", al)
		if Chinese(r) != want {
			t.Errorf("Chinese(%q) = %t", al, !want)
		}
	}
}
