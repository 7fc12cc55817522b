// Package web holds Omni's HTTP conventions: handlers that return errors,
// RFC 9457 problem documents, strict JSON decoding, request ids, logging,
// metrics and idempotent retries. Routes themselves are listed in
// internal/server.
package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/omni-retail/omni/internal/platform/errs"
)

// HandlerFunc is an HTTP handler that returns its failure instead of
// writing it; Adapt renders the failure.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// MaxBody is the largest JSON request body accepted.
const MaxBody = 1 << 20

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type      string            `json:"type"`
	Title     string            `json:"title"`
	Status    int               `json:"status"`
	Detail    string            `json:"detail,omitempty"`
	Instance  string            `json:"instance,omitempty"`
	Code      string            `json:"code"`
	RequestID string            `json:"request_id,omitempty"`
	Errors    []errs.FieldError `json:"errors,omitempty"`
	Extra     map[string]any    `json:"-"`
}

// MarshalJSON flattens the extension members into the document.
func (p Problem) MarshalJSON() ([]byte, error) {
	type plain Problem
	b, err := json.Marshal(plain(p))
	if err != nil || len(p.Extra) == 0 {
		return b, err
	}
	extra := make(map[string]any, len(p.Extra))
	for k, v := range p.Extra {
		if !reserved[k] { // an extension never overrides a standard member
			extra[k] = v
		}
	}
	if len(extra) == 0 {
		return b, nil
	}
	ext, err := json.Marshal(extra)
	if err != nil {
		return nil, err
	}
	out := append(b[:len(b)-1], ',')
	return append(out, ext[1:]...), nil
}

var reserved = map[string]bool{"type": true, "title": true, "status": true, "detail": true, "instance": true,
	"code": true, "request_id": true, "errors": true}

var titles = map[int][2]string{ // status → {en, zh}
	400: {"Malformed request", "请求格式错误"},
	401: {"Not authenticated", "未认证"},
	403: {"Forbidden", "无权访问"},
	404: {"Not found", "未找到"},
	405: {"Method not allowed", "不支持的请求方法"},
	409: {"Conflict", "状态冲突"},
	413: {"Request too large", "请求过大"},
	415: {"Unsupported media type", "不支持的内容类型"},
	422: {"Invalid request", "请求不符合规则"},
	429: {"Too many requests", "请求过多"},
	500: {"Internal error", "内部错误"},
	503: {"Unavailable", "服务不可用"},
}

// Chinese reports whether the client prefers Chinese (zh, zh-CN, ...).
func Chinese(r *http.Request) bool {
	al := r.Header.Get("Accept-Language")
	for _, part := range strings.Split(al, ",") {
		tag := strings.ToLower(strings.TrimSpace(strings.SplitN(part, ";", 2)[0]))
		if strings.HasPrefix(tag, "zh") {
			return true
		}
		if tag != "" && tag != "*" {
			return false
		}
	}
	return false
}

// ProblemFor builds the problem document for err.
func ProblemFor(r *http.Request, err error) Problem {
	p := Problem{Status: 500, Code: "internal", Detail: "the server failed; the request id identifies the failure in its log"}
	if e, ok := errs.As(err); ok {
		p = Problem{Status: e.Kind.Status(), Code: e.Code, Detail: e.Message, Errors: e.Fields, Extra: e.Extra}
	} else if errors.Is(err, context.DeadlineExceeded) {
		p = Problem{Status: 503, Code: "timeout", Detail: "the request did not finish in time"}
	}
	p.Type = "urn:omni:problem:" + p.Code
	t := titles[p.Status]
	if t[0] == "" {
		t = [2]string{http.StatusText(p.Status), http.StatusText(p.Status)}
	}
	p.Title = t[0]
	if Chinese(r) {
		p.Title = t[1]
	}
	p.Instance = r.URL.Path
	p.RequestID = RequestID(r.Context())
	return p
}

// WriteProblem writes err as a problem document.
func WriteProblem(w http.ResponseWriter, r *http.Request, err error) {
	p := ProblemFor(r, err)
	if p.Status == 401 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="omni"`)
	}
	b, _ := json.Marshal(p)
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(p.Status)
	_, _ = w.Write(b)
}

// Adapt turns a HandlerFunc into an http.Handler: errors become problem
// documents, and internal errors are logged with the request id.
func Adapt(log *slog.Logger, h HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		if _, ok := errs.As(err); !ok {
			log.ErrorContext(r.Context(), "request failed", "request_id", RequestID(r.Context()),
				"method", r.Method, "path", r.URL.Path, "err", err)
		}
		if rw, ok := w.(*recorder); ok && rw.wrote {
			return // too late: the body has started
		}
		WriteProblem(w, r, err)
	})
}

// JSON writes v with the status.
func JSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("web: encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

// Decode reads a JSON body into dst. It refuses bodies over MaxBody, unknown
// fields, trailing data and type mismatches, naming the field.
func Decode(r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return errs.E(errs.UnsupportedMedia, "unsupported_media_type", "the body must be application/json (send Content-Type: application/json), not %s", ct)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		return errs.E(errs.Malformed, "unreadable_body", "the body could not be read: %v", err)
	}
	if len(body) > MaxBody {
		return errs.E(errs.TooLarge, "body_too_large", "the body exceeds %d bytes", MaxBody)
	}
	return DecodeBytes(body, dst)
}

// DecodeBytes is Decode on a body already read.
func DecodeBytes(body []byte, dst any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return errs.New(errs.Malformed, "empty_body", "a JSON body is required")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if dec.More() {
		return errs.New(errs.Malformed, "trailing_data", "the body holds more than one JSON value")
	}
	return nil
}

func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return errs.E(errs.Malformed, "malformed_json", "malformed JSON at byte %d: %v", syn.Offset, err)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(body)"
		}
		return &errs.Error{Kind: errs.Malformed, Code: "wrong_type", Message: field + " must be " + jsonKind(typ.Type.Kind().String()),
			Fields: []errs.FieldError{{Field: field, Code: "wrong_type", Message: "must be " + jsonKind(typ.Type.Kind().String()) + ", not " + typ.Value}}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &errs.Error{Kind: errs.Malformed, Code: "unknown_field", Message: "unknown field " + f,
			Fields: []errs.FieldError{{Field: f, Code: "unknown_field", Message: "is not a field of this request"}}}
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return errs.New(errs.Malformed, "malformed_json", "the JSON body ends too early")
	}
	return errs.E(errs.Malformed, "malformed_json", "%v", err)
}

func jsonKind(goKind string) string {
	switch {
	case strings.HasPrefix(goKind, "int"), strings.HasPrefix(goKind, "uint"):
		return "an integer"
	case strings.HasPrefix(goKind, "float"):
		return "a number"
	case goKind == "string":
		return "a string"
	case goKind == "bool":
		return "a boolean"
	case goKind == "slice", goKind == "array":
		return "an array"
	}
	return "an object"
}

// PathInt reads an integer path value.
func PathInt(r *http.Request, name string) (int64, error) {
	v := r.PathValue(name)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, &errs.Error{Kind: errs.NotFound, Code: "not_found", Message: fmt.Sprintf("%s %q is not a valid id", name, v)}
	}
	return n, nil
}

// Page is the paging contract of list endpoints: ?limit= (1–500, default
// 50) and ?cursor= (opaque, from the previous page's next_cursor).
type Page struct {
	Limit  int
	Cursor string
}

// PageOf reads paging parameters.
func PageOf(r *http.Request) (Page, error) {
	p := Page{Limit: 50, Cursor: r.URL.Query().Get("cursor")}
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			return p, &errs.Error{Kind: errs.Invalid, Code: "validation_failed", Message: "limit must be an integer between 1 and 500",
				Fields: []errs.FieldError{{Field: "limit", Code: "out_of_range", Message: "must be between 1 and 500"}}}
		}
		p.Limit = n
	}
	return p, nil
}

// List is the envelope of a page of results.
type List[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}
