package catalog

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/omni-retail/omni/internal/platform/errs"
)

// Lifecycle is a style's product lifecycle class (时尚款/季节款/经典款).
type Lifecycle string

// The lifecycle classes.
const (
	Fashion  Lifecycle = "fashion"  // 90 days
	Seasonal Lifecycle = "seasonal" // 180 days
	Classic  Lifecycle = "classic"  // 365 days
)

// Days is the planned selling life of the class in days (0 for an unknown
// class).
func (l Lifecycle) Days() int {
	switch l {
	case Fashion:
		return 90
	case Seasonal:
		return 180
	case Classic:
		return 365
	}
	return 0
}

// Valid reports whether l is one of the three classes.
func (l Lifecycle) Valid() bool { return l.Days() > 0 }

// Style is a product (款) with its SKUs.
type Style struct {
	Code      string    `json:"code"`
	Name      string    `json:"name"`
	Category  string    `json:"category"`
	Brand     string    `json:"brand"`
	Season    string    `json:"season"`
	Lifecycle Lifecycle `json:"lifecycle"`
	// LaunchDate is the business date (Asia/Shanghai) the style went on
	// sale, YYYY-MM-DD.
	LaunchDate string    `json:"launch_date"`
	SKUs       []SKU     `json:"skus,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// SKU is one colour × size of a style.
type SKU struct {
	Code      string `json:"code"`
	StyleCode string `json:"style_code"`
	Color     string `json:"color"`
	Size      string `json:"size"`
	Barcode   string `json:"barcode"`
	ListPrice int64  `json:"list_price"` // fen
	Cost      int64  `json:"cost"`       // fen
	Active    bool   `json:"active"`
}

// SKURef is a SKU's internal identity, for other modules' foreign keys.
// None of its fields ever changes.
type SKURef struct {
	ID        int64  `json:"id"`
	StyleID   int64  `json:"style_id"`
	Code      string `json:"code"`
	StyleCode string `json:"style_code"`
}

// NewStyle is the input of CreateStyle.
type NewStyle struct {
	Code       string    `json:"code" required:"true"`
	Name       string    `json:"name" required:"true"`
	Category   string    `json:"category" required:"true"`
	Brand      string    `json:"brand,omitempty"`
	Season     string    `json:"season,omitempty"`
	Lifecycle  Lifecycle `json:"lifecycle" required:"true" enum:"fashion,seasonal,classic"`
	LaunchDate string    `json:"launch_date" required:"true" description:"YYYY-MM-DD (Asia/Shanghai)"`
	SKUs       []NewSKU  `json:"skus,omitempty"`
}

// NewSKU is the input of AddSKU, and a SKU of NewStyle.
type NewSKU struct {
	Code      string `json:"code" required:"true"`
	Color     string `json:"color" required:"true"`
	Size      string `json:"size" required:"true"`
	Barcode   string `json:"barcode" required:"true" description:"EAN-8, UPC-A, EAN-13 or GTIN-14 with a valid check digit"`
	ListPrice int64  `json:"list_price" description:"fen"`
	Cost      int64  `json:"cost" description:"fen"`
	// Active defaults to true.
	Active *bool `json:"active,omitempty"`
}

// StylePatch is the input of UpdateStyle: nil fields are left unchanged.
type StylePatch struct {
	Name       *string    `json:"name,omitempty"`
	Category   *string    `json:"category,omitempty"`
	Brand      *string    `json:"brand,omitempty"`
	Season     *string    `json:"season,omitempty"`
	Lifecycle  *Lifecycle `json:"lifecycle,omitempty" enum:"fashion,seasonal,classic"`
	LaunchDate *string    `json:"launch_date,omitempty"`
}

// SKUPatch is the input of UpdateSKU: nil fields are left unchanged. A
// SKU's code, style, colour and size never change.
type SKUPatch struct {
	ListPrice *int64  `json:"list_price,omitempty"`
	Cost      *int64  `json:"cost,omitempty"`
	Barcode   *string `json:"barcode,omitempty"`
	Active    *bool   `json:"active,omitempty"`
}

// ImportResult counts what an import or bulk load changed. Rows equal to
// what is stored count as neither created nor updated.
type ImportResult struct {
	StylesCreated int `json:"styles_created"`
	StylesUpdated int `json:"styles_updated"`
	SKUsCreated   int `json:"skus_created"`
	SKUsUpdated   int `json:"skus_updated"`
	// Lines is the number of data lines read (CSV imports only).
	Lines int `json:"lines"`
}

// Limits of the fields.
const (
	MaxCodeLen  = errs.MaxCodeLen
	MaxNameLen  = 200 // characters
	MaxLabelLen = 64  // category, brand, season, colour, size (characters)
	MaxPrice    = 100_000_000
)

// Refusals.
var (
	ErrSKUNotFound      = errs.New(errs.NotFound, "sku_not_found", "no such SKU")
	ErrStyleNotFound    = errs.New(errs.NotFound, "style_not_found", "no such style")
	ErrDuplicateCode    = errs.New(errs.Conflict, "duplicate_code", "the code is taken")
	ErrDuplicateBarcode = errs.New(errs.Conflict, "duplicate_barcode", "the barcode belongs to another SKU")
	ErrDuplicateVariant = errs.New(errs.Conflict, "duplicate_variant", "the style already has a SKU of this colour and size")
)

// conflict returns a copy of a duplicate sentinel naming the field.
func conflict(base *errs.Error, field, format string, args ...any) *errs.Error {
	e := base.Withf(format, args...)
	e.Fields = []errs.FieldError{{Field: field, Code: base.Code, Message: e.Message}}
	return e
}

// addFunc records a problem with one field.
type addFunc func(field, code, msg string)

// checkCode checks a style or SKU code.
func checkCode(s, field string, add addFunc) {
	if s == "" {
		add(field, "required", "is required")
		return
	}
	if len(s) > MaxCodeLen {
		add(field, "too_long", fmt.Sprintf("must be at most %d characters", MaxCodeLen))
		return
	}
	if !validCode(s) {
		add(field, "invalid_code", "must use only letters A-Z a-z, digits, '.', '_' and '-'")
	}
}

func validCode(s string) bool { return errs.ValidCode(s) }

// checkText checks a free-text field: valid UTF-8 without control
// characters, at most max characters, and present when required.
func checkText(s, field string, required bool, max int, add addFunc) {
	switch {
	case !utf8.ValidString(s):
		add(field, "invalid_text", "must be valid UTF-8")
	case strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
		add(field, "invalid_text", "must not contain control characters")
	case required && s == "":
		add(field, "required", "is required")
	case utf8.RuneCountInString(s) > max:
		add(field, "too_long", fmt.Sprintf("must be at most %d characters", max))
	}
}

func checkLifecycle(l Lifecycle, field string, add addFunc) {
	if l == "" {
		add(field, "required", "is required")
	} else if !l.Valid() {
		add(field, "one_of", "must be one of fashion, seasonal, classic")
	}
}

// ValidDate reports whether s is a real calendar date written YYYY-MM-DD
// with a year from 1900 to 2199.
func ValidDate(s string) bool {
	if len(s) != 10 {
		return false
	}
	t, err := time.Parse(time.DateOnly, s)
	return err == nil && t.Year() >= 1900 && t.Year() < 2200
}

func checkDate(s, field string, add addFunc) {
	if s == "" {
		add(field, "required", "is required")
	} else if !ValidDate(s) {
		add(field, "invalid_date", "must be a real date written YYYY-MM-DD")
	}
}

func checkPrice(n int64, field string, add addFunc) {
	if n < 0 || n > MaxPrice {
		add(field, "out_of_range", fmt.Sprintf("must be between 0 and %d fen", MaxPrice))
	}
}

// ValidBarcode reports whether s is a GTIN: 8 (EAN-8), 12 (UPC-A), 13
// (EAN-13) or 14 (GTIN-14) digits whose last digit is the GS1 check digit.
func ValidBarcode(s string) bool {
	switch len(s) {
	case 8, 12, 13, 14:
	default:
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return int(s[len(s)-1]-'0') == CheckDigit(s[:len(s)-1])
}

// WithCheckDigit completes a GTIN's other digits with their check digit.
func WithCheckDigit(digits string) string { return digits + string(rune('0'+CheckDigit(digits))) }

// CheckDigit is the GS1 check digit of a GTIN's other digits: weights 3
// and 1 alternate from the rightmost digit, and the check digit brings the
// sum to a multiple of 10. Non-digits count as 0.
func CheckDigit(digits string) int {
	sum := 0
	for i := 0; i < len(digits); i++ {
		c := digits[len(digits)-1-i]
		d := 0
		if c >= '0' && c <= '9' {
			d = int(c - '0')
		}
		if i%2 == 0 {
			d *= 3
		}
		sum += d
	}
	return (10 - sum%10) % 10
}

func checkBarcode(s, field string, add addFunc) {
	if s == "" {
		add(field, "required", "is required")
		return
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			add(field, "invalid_barcode", "must be 8, 12, 13 or 14 digits (EAN-8, UPC-A, EAN-13, GTIN-14)")
			return
		}
	}
	switch len(s) {
	case 8, 12, 13, 14:
	default:
		add(field, "invalid_barcode", "must be 8, 12, 13 or 14 digits (EAN-8, UPC-A, EAN-13, GTIN-14)")
		return
	}
	if !ValidBarcode(s) {
		add(field, "invalid_check_digit", fmt.Sprintf("has a wrong check digit (expected %d)", CheckDigit(s[:len(s)-1])))
	}
}

// normStyle trims the white space around a style's fields.
func normStyle(st *Style) {
	st.Code = strings.TrimSpace(st.Code)
	st.Name = strings.TrimSpace(st.Name)
	st.Category = strings.TrimSpace(st.Category)
	st.Brand = strings.TrimSpace(st.Brand)
	st.Season = strings.TrimSpace(st.Season)
	st.Lifecycle = Lifecycle(strings.TrimSpace(string(st.Lifecycle)))
	st.LaunchDate = strings.TrimSpace(st.LaunchDate)
}

func normSKU(k *SKU) {
	k.Code = strings.TrimSpace(k.Code)
	k.StyleCode = strings.TrimSpace(k.StyleCode)
	k.Color = strings.TrimSpace(k.Color)
	k.Size = strings.TrimSpace(k.Size)
	k.Barcode = strings.TrimSpace(k.Barcode)
}

// checkStyle checks a style's own fields (not its SKUs). Field names are
// the JSON (and CSV column) names without the style_ prefix.
func checkStyle(st Style, add addFunc) {
	checkCode(st.Code, "code", add)
	checkText(st.Name, "name", true, MaxNameLen, add)
	checkText(st.Category, "category", true, MaxLabelLen, add)
	checkText(st.Brand, "brand", false, MaxLabelLen, add)
	checkText(st.Season, "season", false, MaxLabelLen, add)
	checkLifecycle(st.Lifecycle, "lifecycle", add)
	checkDate(st.LaunchDate, "launch_date", add)
}

// checkSKU checks a SKU's own fields.
func checkSKU(k SKU, add addFunc) {
	checkCode(k.Code, "code", add)
	checkText(k.Color, "color", true, MaxLabelLen, add)
	checkText(k.Size, "size", true, MaxLabelLen, add)
	checkBarcode(k.Barcode, "barcode", add)
	checkPrice(k.ListPrice, "list_price", add)
	checkPrice(k.Cost, "cost", add)
}

// variant identifies a SKU within its style.
type variant struct{ style, color, size string }

// prefixed returns an addFunc that records into v with a field prefix.
func prefixed(v *errs.Validator, prefix string) addFunc {
	return func(field, code, msg string) { v.Add(prefix+field, code, msg) }
}
