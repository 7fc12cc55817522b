package server

import (
	"fmt"
	"net/http"
	"regexp"

	"github.com/swaggest/jsonschema-go"
	"github.com/swaggest/openapi-go"
	"github.com/swaggest/openapi-go/openapi31"

	"github.com/omni-retail/omni/internal/platform/auth"
	"github.com/omni-retail/omni/internal/platform/web"
)

// Route is one API operation: how it is served and how it is described.
type Route struct {
	Method     string
	Path       string // ServeMux pattern path, e.g. /api/v1/skus/{code}
	Tag        string
	Summary    string
	Perm       auth.Perm
	Idempotent bool // accepts Idempotency-Key
	In         any  // JSON request body type (nil: none)
	Params     any  // struct with `query:"..."`/`path:"..."` tags (nil: only the path's)
	Out        any  // success response body type (nil: none)
	Status     int  // success status (default 200)
	// ContentType of In, when not JSON (e.g. text/csv for imports).
	InType string
	// OutType of Out, when not JSON.
	OutType string
	Handler web.HandlerFunc
}

var pathParam = regexp.MustCompile(`\{([a-zA-Z_]+)\}`)

// OpenAPI builds the OpenAPI 3.1 document of the routes.
func OpenAPI(routes []Route, version string) ([]byte, error) {
	ref := openapi31.NewReflector()
	ref.DefaultOptions = append(ref.DefaultOptions, jsonschema.InterceptNullability(func(p jsonschema.InterceptNullabilityParams) {
		// Slices are always encoded as arrays, never null.
		if p.Type.Kind().String() == "slice" && p.Schema.HasType(jsonschema.Null) {
			p.Schema.Type = &jsonschema.Type{SimpleTypes: ptr(jsonschema.Array)}
		}
	}))
	s := ref.Spec
	s.Info.WithTitle("Omni API").WithVersion(version).WithDescription(apiDescription)
	s.SetHTTPBearerTokenSecurity("apiKey", "omni_xxxxxxxx_…", "API key: Authorization: Bearer <key>")
	for _, rt := range routes {
		oc, err := ref.NewOperationContext(rt.Method, rt.Path)
		if err != nil {
			return nil, fmt.Errorf("openapi: %s %s: %w", rt.Method, rt.Path, err)
		}
		oc.SetTags(rt.Tag)
		oc.SetSummary(rt.Summary)
		oc.SetID(operationID(rt))
		desc := "Requires the **" + rt.Perm.String() + "** permission."
		if rt.Idempotent {
			desc += " Accepts an `Idempotency-Key` header: a retry with the same key and body gets the first answer again; the same key with another body is a 409."
		}
		oc.SetDescription(desc)
		if rt.Params != nil {
			oc.AddReqStructure(rt.Params)
		} else if m := pathParam.FindAllStringSubmatch(rt.Path, -1); len(m) > 0 {
			oc.AddReqStructure(pathStruct(m))
		}
		if rt.In != nil {
			if rt.InType != "" {
				oc.AddReqStructure(rt.In, openapi.WithContentType(rt.InType))
			} else {
				oc.AddReqStructure(rt.In)
			}
		}
		status := rt.Status
		if status == 0 {
			status = http.StatusOK
		}
		opts := []openapi.ContentOption{openapi.WithHTTPStatus(status)}
		if rt.OutType != "" {
			opts = append(opts, openapi.WithContentType(rt.OutType))
		}
		oc.AddRespStructure(rt.Out, opts...)
		for _, code := range problemStatuses(rt) {
			oc.AddRespStructure(web.Problem{}, openapi.WithHTTPStatus(code), openapi.WithContentType("application/problem+json"))
		}
		if rt.Perm != auth.Public {
			oc.AddSecurity("apiKey")
		}
		if err := ref.AddOperation(oc); err != nil {
			return nil, fmt.Errorf("openapi: %s %s: %w", rt.Method, rt.Path, err)
		}
	}
	return s.MarshalJSON()
}

func problemStatuses(rt Route) []int {
	out := []int{}
	if rt.Perm != auth.Public {
		out = append(out, 401, 403)
	}
	if rt.In != nil || rt.Params != nil {
		out = append(out, 400, 422)
	}
	if pathParam.MatchString(rt.Path) {
		out = append(out, 404)
	}
	if rt.Method != http.MethodGet {
		out = append(out, 409)
	}
	return out
}

func operationID(rt Route) string {
	return rt.Method + pathParam.ReplaceAllString(rt.Path, "by_$1")
}

func ptr[T any](v T) *T { return &v }

const apiDescription = `Omni runs an omnichannel retailer's stock, orders, members and decisions.

Conventions: JSON bodies (unknown fields are refused); money in integer fen (分);
times in RFC 3339 UTC, business dates in Asia/Shanghai; lists are paged with
?limit= and ?cursor= (next_cursor in the answer). Errors are RFC 9457 problem
documents (application/problem+json) with a stable ` + "`code`" + ` and, for bad
input, ` + "`errors: [{field, code, message}]`" + `. Send Accept-Language: zh-CN
for Chinese titles.`
