package analytics

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"testing"
)

// Run with: go test -run '^$' -fuzz FuzzImportCSV ./internal/analytics/
// (the committed corpus is in testdata/fuzz/FuzzImportCSV).

// impFuzzCheck checks the contract of Import on any input: either an
// *ImportError with a place and a reason and nothing else, or a Dataset whose
// lines all keep the invariants.
func impFuzzCheck(t *testing.T, data []byte, f Format) {
	d, s, err := Import(bytes.NewReader(data), ImportOptions{Format: f})
	if err != nil {
		var ie *ImportError
		if !errors.As(err, &ie) {
			t.Fatalf("error %v is a %T, want *ImportError", err, err)
		}
		if d != nil || s.LinesRead != 0 || s.Rules != nil {
			t.Fatalf("error %v came with a dataset or a summary", err)
		}
		if ie.Reason == "" || ie.Line < 0 || ie.Column < 0 || (ie.Column > 0 && ie.Line == 0) {
			t.Fatalf("error without a reason or a place: %+v", ie)
		}
		return
	}
	impCheckInvariants(t, d, s, f == FormatCDNOW)
	if s.LinesRead == 0 {
		t.Fatalf("success without data lines: %+v", s)
	}
}

func FuzzImportCSV(f *testing.F) {
	const retailHeader = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
	for _, s := range []struct {
		in     string
		retail bool
	}{
		{retailHeader + "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n", true},
		{retailHeader + "536381,82567,\"AIRLINE LOUNGE,METAL SIGN\",2,2010-12-01 09:41:00,2.1,15311.0,United Kingdom\r\n" +
			"C536383,35004C,SET OF 3,-1,2010-12-01 09:49:00,4.65,15311.0,United Kingdom\r\n" +
			"536370,POST,POSTAGE,3,2010-12-01 08:45:00,18.0,12583.0,France\r\n", true},
		{"order_id,customer_id,sku,quantity,unit_price,timestamp,channel,region\n" +
			"SO1,M1,S1,2,12.50,2024-11-11 10:00:00,store,上海\nSO2,,S2,1,0.001,2024-11-11T10:00:00+08:00,app,\n", false},
		{"sku,quantity,unit_price,timestamp,order_id\n\"A\"\"1\",1,1.005,2024-01-01,\"multi\nline\"\n", false},
		{"order_id,sku,quantity,unit_price,timestamp\n1,2,x,4,2024-01-01\n", false},
		{"", false},
	} {
		f.Add([]byte(s.in), s.retail)
	}
	f.Fuzz(func(t *testing.T, data []byte, retail bool) {
		format := FormatCSV
		if retail {
			format = FormatOnlineRetail
		}
		impFuzzCheck(t, data, format)
		impFuzzSplitMatchesEncodingCSV(t, data)
	})
}

func FuzzImportCDNOW(f *testing.F) {
	for _, s := range []string{
		" customer_id  date number_of_cds  dollar_value\r\n 00001 19970101  1   11.77\r\n 00002 19970112  1   12.00\r\n",
		" 00004 0001 19970101  2  29.33\r\n 00004 0001 19970118  2  29.73\r\n 01101 0087 19970105  1   0.00\r\n",
		"1 19970101 0 1\n1 19970102 -1 -2.5\n1 19970103 1 -1\n",
		"1 19970230 1 1\n",
		"1\t19971231\t3\t10.005\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		impFuzzCheck(t, data, FormatCDNOW)
	})
}

// impFuzzSplitMatchesEncodingCSV reads data with the importer's CSV reader;
// when that succeeds, encoding/csv (lazy quotes) must find the same records.
func impFuzzSplitMatchesEncodingCSV(t *testing.T, data []byte) {
	if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
		return // gzip: the importer reads the decompressed text
	}
	src, err := impOpen(bytes.NewReader(data), nil, 0)
	if err != nil {
		return
	}
	defer src.close()
	rd := &impCSVReader{src: src, comma: ','}
	var mine [][]string
	for {
		_, fs, _, ok, err := rd.next()
		if err != nil {
			return // malformed for the importer; encoding/csv may be more lenient
		}
		if !ok {
			break
		}
		rec := make([]string, len(fs))
		for i, f := range fs {
			rec[i] = string(f)
		}
		mine = append(mine, rec)
	}
	cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff"))))
	cr.LazyQuotes = true
	cr.FieldsPerRecord = -1
	var theirs [][]string
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the importer reads %q, encoding/csv fails: %v", data, err)
		}
		theirs = append(theirs, rec)
	}
	if len(mine) != len(theirs) {
		t.Fatalf("%q: %d records, encoding/csv %d\nmine   %q\ntheirs %q", data, len(mine), len(theirs), mine, theirs)
	}
	for i := range mine {
		if len(mine[i]) != len(theirs[i]) {
			t.Fatalf("%q: record %d is %q, encoding/csv %q", data, i, mine[i], theirs[i])
		}
		for j := range mine[i] {
			if mine[i][j] != theirs[i][j] {
				t.Fatalf("%q: record %d is %q, encoding/csv %q", data, i, mine[i], theirs[i])
			}
		}
	}
}
