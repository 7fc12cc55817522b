// Package errs defines the error values that cross module boundaries.
//
// A service returns an *Error (or wraps one) whenever the caller did something
// the service refuses: bad input, a missing record, a conflict with the current
// state. The HTTP layer turns an *Error into an RFC 9457 problem document with
// the stable Code; any other error is an internal failure (HTTP 500) whose text
// is logged, never shown to the client.
package errs

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies an error by what the caller can do about it.
type Kind int

// The kinds, each with one HTTP status.
const (
	Internal         Kind = iota // 500: not the caller's fault
	Malformed                    // 400: the request cannot be parsed
	Invalid                      // 422: parsed, but breaks a rule
	NotFound                     // 404
	Conflict                     // 409: clashes with the current state
	Unauthenticated              // 401
	Forbidden                    // 403
	TooLarge                     // 413
	MethodNotAllowed             // 405
	UnsupportedMedia             // 415
)

// Status is the HTTP status of a kind.
func (k Kind) Status() int {
	switch k {
	case Malformed:
		return 400
	case Invalid:
		return 422
	case NotFound:
		return 404
	case Conflict:
		return 409
	case Unauthenticated:
		return 401
	case Forbidden:
		return 403
	case TooLarge:
		return 413
	case MethodNotAllowed:
		return 405
	case UnsupportedMedia:
		return 415
	}
	return 500
}

// FieldError names one offending field and the rule it breaks.
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error is a refusal with a stable machine-readable code.
type Error struct {
	Kind    Kind
	Code    string         // stable, snake_case, part of the API contract
	Message string         // human-readable detail
	Fields  []FieldError   // offending fields for Invalid and Malformed
	Extra   map[string]any // extension members of the problem document
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Code)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if len(e.Fields) > 1 { // a single field is already the message
		for _, f := range e.Fields {
			fmt.Fprintf(&b, "; %s: %s", f.Field, f.Message)
		}
	}
	return b.String()
}

// Is reports whether target is an *Error with the same kind and code, so that
// a sentinel such as inventory.ErrInsufficientStock matches every instance
// produced from it with details added.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind && t.Code == e.Code
}

// With returns a copy of e carrying an extension member.
func (e *Error) With(key string, value any) *Error {
	c := *e
	c.Extra = make(map[string]any, len(e.Extra)+1)
	for k, v := range e.Extra {
		c.Extra[k] = v
	}
	c.Extra[key] = value
	return &c
}

// Withf returns a copy of e with its message replaced.
func (e *Error) Withf(format string, args ...any) *Error {
	c := *e
	c.Message = fmt.Sprintf(format, args...)
	return &c
}

// New returns an error of the given kind.
func New(k Kind, code, msg string) *Error { return &Error{Kind: k, Code: code, Message: msg} }

// E returns a conflict, not-found or other refusal with a formatted message.
func E(k Kind, code, format string, args ...any) *Error {
	return &Error{Kind: k, Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrNotFound is the generic not-found refusal; modules add the record kind
// in the message.
var ErrNotFound = New(NotFound, "not_found", "no such record")

// NotFoundf reports a missing record.
func NotFoundf(format string, args ...any) *Error { return E(NotFound, "not_found", format, args...) }

// As returns the *Error inside err, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Validator collects field errors; Err returns them as one Invalid error.
type Validator struct{ fields []FieldError }

// Check records a field error when ok is false, and reports ok.
func (v *Validator) Check(ok bool, field, code, msg string) bool {
	if !ok {
		v.fields = append(v.fields, FieldError{Field: field, Code: code, Message: msg})
	}
	return ok
}

// Add records a field error.
func (v *Validator) Add(field, code, msg string) {
	v.fields = append(v.fields, FieldError{Field: field, Code: code, Message: msg})
}

// Required checks that a string is not empty.
func (v *Validator) Required(s, field string) bool {
	return v.Check(strings.TrimSpace(s) != "", field, "required", "is required")
}

// Range checks lo ≤ n ≤ hi.
func (v *Validator) Range(n, lo, hi int64, field string) bool {
	return v.Check(n >= lo && n <= hi, field, "out_of_range", fmt.Sprintf("must be between %d and %d", lo, hi))
}

// OneOf checks that s is one of the allowed values.
func (v *Validator) OneOf(s, field string, allowed ...string) bool {
	for _, a := range allowed {
		if s == a {
			return true
		}
	}
	return v.Check(false, field, "one_of", "must be one of "+strings.Join(allowed, ", "))
}

// Err returns nil when no check failed, else an Invalid error listing every field.
func (v *Validator) Err() error {
	if len(v.fields) == 0 {
		return nil
	}
	msg := "the request breaks a rule"
	if len(v.fields) == 1 {
		msg = v.fields[0].Field + " " + v.fields[0].Message
	}
	return &Error{Kind: Invalid, Code: "validation_failed", Message: msg, Fields: v.fields}
}

// MaxCodeLen is the longest business code (SKU, style, location, channel).
const MaxCodeLen = 64

// ValidCode reports whether s is a valid business code: 1 to MaxCodeLen of
// A–Z, a–z, 0–9, '.', '_' and '-'. Codes appear in URLs and CSV files
// unescaped, so nothing else is allowed.
func ValidCode(s string) bool {
	if s == "" || len(s) > MaxCodeLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
