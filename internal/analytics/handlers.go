package analytics

// HTTP handlers of /api/v1/analytics: upload a transaction file into the
// store, list the imports, and run the analyses over a stored import
// (/analytics/imports/{id}/…) or over Omni's live orders (/analytics/orders/…).

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/omni-retail/omni/internal/platform/errs"
	"github.com/omni-retail/omni/internal/platform/web"
)

// MaxUploadBytes is the largest transaction file the API accepts (as sent,
// so compressed size for gzip).
const MaxUploadBytes = 100 << 20

// Handler serves the analytics API over a Store.
type Handler struct{ S *Store }

// UploadBody is a transaction file (CSV, CDNOW text, optionally gzipped), for the API description.
type UploadBody string

// UploadParams are the query parameters of POST /api/v1/analytics/imports.
type UploadParams struct {
	Format   string `query:"format" required:"true" enum:"online-retail,cdnow,csv" description:"layout of the file"`
	Name     string `query:"name" description:"a name for the import (default: the format and the time)"`
	Currency string `query:"currency" description:"ISO 4217 code of the amounts (default: the format's own)"`
}

// ImportPath names a stored import.
type ImportPath struct {
	ID int64 `path:"id"`
}

// RFMQuery are the query parameters of the RFM analysis.
type RFMQuery struct {
	AsOf      string `query:"as_of" description:"YYYY-MM-DD (live orders: in Asia/Shanghai); default: the day after the last line"`
	Customers bool   `query:"customers" description:"include every customer's scores"`
}

// RFMParams are the parameters of the RFM analysis of an import.
type RFMParams struct {
	ID int64 `path:"id"`
	RFMQuery
}

// RFMAnswer is the RFM analysis of an import.
type RFMAnswer struct {
	Summary   RFMSummary    `json:"summary"`
	Customers []CustomerRFM `json:"customers,omitempty"` // only with customers=true
}

// CLVQuery are the query parameters of the CLV fit.
type CLVQuery struct {
	CalibrationEnd string  `query:"calibration_end" required:"true" description:"last day of the calibration period, YYYY-MM-DD"`
	ChurnThreshold float64 `query:"churn_threshold" minimum:"0" maximum:"1" default:"0.3" description:"warn about customers whose P(alive) is below this"`
	Top            int     `query:"top" minimum:"0" maximum:"1000" default:"10" description:"warn about the customers with the largest falls in P(alive) since the previous run, this many"`
	Save           bool    `query:"save" default:"true" description:"keep this run's P(alive) for the next run to compare (only when the fit converged; imports only: runs over live orders are never saved)"`
}

// CLVParams are the parameters of the CLV fit of an import.
type CLVParams struct {
	ID int64 `path:"id"`
	CLVQuery
}

// DefaultChurnThreshold is the churn_threshold of the CLV endpoint when absent.
const DefaultChurnThreshold = 0.3

// CLVChurn is the churn warning of a CLV run: customers whose P(alive) is
// below the threshold or fell fastest since the previous stored run.
type CLVChurn struct {
	Threshold float64 `json:"threshold"`
	Top       int     `json:"top"`
	// PreviousRunID is the stored run compared with; 0 when there is none.
	PreviousRunID int64 `json:"previous_run_id,omitempty"`
	// RunID is this run's id when it was saved, else 0.
	RunID    int64          `json:"run_id,omitempty"`
	Saved    bool           `json:"saved"`
	Warnings []ChurnWarning `json:"warnings"`
	// Note says why there are no warnings or nothing was saved, if so.
	Note string `json:"note,omitempty"`
}

// CLVAnswer is a CLV fit: both models, and whether they converged. A fit
// that did not converge is reported with converged false and the reason in
// warning, not refused.
type CLVAnswer struct {
	CalibrationEnd string `json:"calibration_end"`
	Converged      bool   `json:"converged"`
	Warning        string `json:"warning,omitempty"`
	CLVResult
	Churn CLVChurn `json:"churn"`
}

// KPIQuery are the query parameters of the KPI table.
type KPIQuery struct {
	Grain string `query:"grain" enum:"day,week,month" description:"default month"`
	By    string `query:"by" enum:"channel,region,store" description:"group by channel (for imports: store or channel), region, or store (live orders: the pickup or POS store, else the fulfilment location)"`
}

// KPIParams are the parameters of the KPI table of an import.
type KPIParams struct {
	ID int64 `path:"id"`
	KPIQuery
}

// ABCQuery are the query parameters of the ABC/XYZ classification.
type ABCQuery struct {
	Period string `query:"period" enum:"week,month" description:"period of the demand series (default week)"`
}

// ABCParams are the parameters of the ABC/XYZ classification of an import.
type ABCParams struct {
	ID int64 `path:"id"`
	ABCQuery
}

// PersonaQuery are the query parameters of the persona clustering.
type PersonaQuery struct {
	AsOf      string `query:"as_of" description:"YYYY-MM-DD (live orders: in Asia/Shanghai); default: the day after the last line"`
	K         int    `query:"k" description:"number of clusters (default 5)"`
	Seed      uint64 `query:"seed" description:"random seed (default 1): same seed, same clusters"`
	Customers bool   `query:"customers" description:"include every customer's cluster"`
}

// PersonaParams are the parameters of the persona clustering of an import.
type PersonaParams struct {
	ID int64 `path:"id"`
	PersonaQuery
}

// Upload serves POST /api/v1/analytics/imports: the body is the file.
func (h *Handler) Upload(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f, err := ParseFormat(q.Get("format"))
	if err != nil {
		return apiImportError(err)
	}
	name := strings.TrimSpace(q.Get("name"))
	if name == "" {
		name = fmt.Sprintf("%s %s", f, h.S.now().UTC().Format("2006-01-02 15:04"))
	}
	body := http.MaxBytesReader(w, r.Body, MaxUploadBytes)
	d, sum, err := Import(body, ImportOptions{Format: f, Currency: q.Get("currency")})
	if err != nil {
		return apiImportError(err)
	}
	rec, err := h.S.SaveImport(r.Context(), name, d, sum)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusCreated, rec)
}

// apiImportError turns an import failure into a 422 import_failed problem
// whose errors[0].field says where, e.g. "line 12, column 6 (UnitPrice)".
func apiImportError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errs.E(errs.TooLarge, "import_too_large", "the file exceeds %d MB", MaxUploadBytes>>20)
	}
	var ie *ImportError
	if !errors.As(err, &ie) {
		return err
	}
	var where []string
	if ie.Line > 0 {
		where = append(where, fmt.Sprintf("line %d", ie.Line))
	}
	if ie.Column > 0 {
		where = append(where, fmt.Sprintf("column %d", ie.Column))
	}
	field := strings.Join(where, ", ")
	switch {
	case ie.Field != "" && field != "":
		field += " (" + ie.Field + ")"
	case ie.Field != "":
		field = ie.Field
	case field == "":
		field = "file"
	}
	msg := ie.Reason
	if ie.Value != "" {
		msg = strconv.Quote(ie.Value) + " " + msg
	}
	return &errs.Error{Kind: errs.Invalid, Code: "import_failed", Message: strings.TrimPrefix(ie.Error(), "import: "),
		Fields: []errs.FieldError{{Field: field, Code: "invalid_value", Message: msg}}}
}

// Imports serves GET /api/v1/analytics/imports, newest first.
func (h *Handler) Imports(w http.ResponseWriter, r *http.Request) error {
	list, err := h.S.ListImports(r.Context())
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, web.List[ImportRecord]{Items: list})
}

// Import serves GET /api/v1/analytics/imports/{id}.
func (h *Handler) Import(w http.ResponseWriter, r *http.Request) error {
	id, err := web.PathInt(r, "id")
	if err != nil {
		return err
	}
	rec, err := h.S.Import(r.Context(), id)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, rec)
}

// Orders serves GET /api/v1/analytics/orders: what the analyses over the
// live orders read (see LoadOrders).
func (h *Handler) Orders(w http.ResponseWriter, r *http.Request) error {
	_, sum, err := h.S.OrdersDataset(r.Context())
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, sum)
}

// apiData is what an analysis runs over: a stored import or the live orders.
type apiData struct {
	d   *Dataset
	rec *ImportRecord  // the import; nil for the live orders
	loc *time.Location // the business calendar: UTC for imports, Asia/Shanghai for orders
}

// apiLoad returns the dataset of the request: the import named by the {id}
// path parameter, or — on the /analytics/orders/… routes, which have no
// {id} — the live orders.
func (h *Handler) apiLoad(r *http.Request) (apiData, error) {
	if r.PathValue("id") == "" {
		d, _, err := h.S.OrdersDataset(r.Context())
		return apiData{d: d, loc: Shanghai}, err
	}
	id, err := web.PathInt(r, "id")
	if err != nil {
		return apiData{}, err
	}
	rec, d, err := h.S.Dataset(r.Context(), id)
	return apiData{d: d, rec: &rec, loc: time.UTC}, err
}

// apiDate parses an optional YYYY-MM-DD query parameter as midnight in loc;
// def is used when absent.
func apiDate(v *errs.Validator, r *http.Request, name string, def time.Time, loc *time.Location) time.Time {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def
	}
	t, err := time.ParseInLocation("2006-01-02", s, loc)
	v.Check(err == nil, name, "invalid_date", "must be a date YYYY-MM-DD")
	return t
}

// DefaultAsOf is midnight in loc (nil: UTC) after the dataset's last line:
// the as-of date that puts every line in the past.
func DefaultAsOf(d *Dataset, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	var last int64
	for _, at := range d.At {
		last = max(last, at)
	}
	t := time.Unix(last, 0).In(loc)
	return time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc)
}

// apiAnalysisError makes a refusal from an analysis error that is not
// already an *errs.Error: the data do not allow the analysis.
func apiAnalysisError(err error) error {
	if _, ok := errs.As(err); ok {
		return err
	}
	return errs.E(errs.Invalid, "analysis_failed", "%s", strings.TrimPrefix(err.Error(), "analytics: "))
}

func apiBool(v *errs.Validator, r *http.Request, name string) bool {
	s := r.URL.Query().Get(name)
	if s == "" {
		return false
	}
	b, err := strconv.ParseBool(s)
	v.Check(err == nil, name, "wrong_type", "must be true or false")
	return b
}

// RFM serves GET /api/v1/analytics/imports/{id}/rfm and /analytics/orders/rfm.
func (h *Handler) RFM(w http.ResponseWriter, r *http.Request) error {
	src, err := h.apiLoad(r)
	if err != nil {
		return err
	}
	d := src.d
	var v errs.Validator
	asOf := apiDate(&v, r, "as_of", DefaultAsOf(d, src.loc), src.loc)
	withCustomers := apiBool(&v, r, "customers")
	if err := v.Err(); err != nil {
		return err
	}
	rows, sum, err := RFM(d, asOf, RFMOptions{})
	if err != nil {
		return apiAnalysisError(err)
	}
	out := RFMAnswer{Summary: sum}
	if withCustomers {
		out.Customers = rows
	}
	return web.JSON(w, http.StatusOK, out)
}

// CLV serves GET /api/v1/analytics/imports/{id}/clv and
// /analytics/orders/clv (summaries in weeks).
//
// With a converged fit it also warns about churn: customers whose P(alive) is
// below churn_threshold (default 0.3), and the top (default 10) whose
// P(alive) fell most since the previous stored run of any import; with save
// (default true) it stores this run's P(alive) for the next run. Stored runs
// belong to imports: over the live orders the warnings are by threshold
// only and the run is not saved.
func (h *Handler) CLV(w http.ResponseWriter, r *http.Request) error {
	src, err := h.apiLoad(r)
	if err != nil {
		return err
	}
	d := src.d
	var v errs.Validator
	var end time.Time
	if v.Required(r.URL.Query().Get("calibration_end"), "calibration_end") {
		end = apiDate(&v, r, "calibration_end", time.Time{}, time.UTC)
	}
	churn := CLVChurn{Threshold: DefaultChurnThreshold, Top: DefaultChurnTopDrops, Warnings: []ChurnWarning{}}
	q := r.URL.Query()
	if s := q.Get("churn_threshold"); s != "" {
		f, err := strconv.ParseFloat(s, 64)
		v.Check(err == nil && f >= 0 && f <= 1, "churn_threshold", "out_of_range", "must be a number from 0 to 1")
		churn.Threshold = f
	}
	if s := q.Get("top"); s != "" {
		n, err := strconv.Atoi(s)
		if v.Check(err == nil, "top", "wrong_type", "must be an integer") {
			v.Range(int64(n), 0, 1000, "top")
			churn.Top = n
		}
	}
	save := true
	if q.Get("save") != "" {
		save = apiBool(&v, r, "save")
	}
	if err := v.Err(); err != nil {
		return err
	}
	sums, err := Summarize(d, end, 7*24*time.Hour)
	if err != nil {
		return apiAnalysisError(err)
	}
	res, err := FitCLV(sums)
	out := CLVAnswer{CalibrationEnd: end.Format("2006-01-02"), CLVResult: res, Converged: res.Converged()}
	switch {
	case err != nil && errors.Is(err, ErrCLVNotConverged):
		out.Converged = false
		out.Warning = strings.ReplaceAll(err.Error(), "\n", "; ")
	case err != nil:
		return apiAnalysisError(err)
	}
	if !out.Converged {
		churn.Note = "the fit did not converge: no churn warnings, and the run was not saved"
		out.Churn = churn
		return web.JSON(w, http.StatusOK, out)
	}
	if src.rec == nil {
		churn.Warnings = ChurnWarningsTop(sums, res.BGNBD, churn.Threshold, nil, churn.Top)
		if churn.Warnings == nil {
			churn.Warnings = []ChurnWarning{}
		}
		churn.Note = "runs over the live orders are not saved: warnings are by threshold only"
		out.Churn = churn
		return web.JSON(w, http.StatusOK, out)
	}
	previous, prevID, err := h.S.LatestPAlive(r.Context(), 0)
	if err != nil {
		return err
	}
	churn.PreviousRunID = prevID
	churn.Warnings = ChurnWarningsTop(sums, res.BGNBD, churn.Threshold, previous, churn.Top)
	if churn.Warnings == nil {
		churn.Warnings = []ChurnWarning{}
	}
	if prevID == 0 {
		churn.Note = "no previous run to compare with: warnings are by threshold only"
	}
	if save {
		if churn.RunID, err = h.S.SaveCLVRun(r.Context(), src.rec.ID, end, res.BGNBD, PAliveByCustomer(sums, res.BGNBD)); err != nil {
			return err
		}
		churn.Saved = true
	}
	out.Churn = churn
	return web.JSON(w, http.StatusOK, out)
}

// Cohorts serves GET /api/v1/analytics/imports/{id}/cohorts (UTC months)
// and /analytics/orders/cohorts (Asia/Shanghai months).
func (h *Handler) Cohorts(w http.ResponseWriter, r *http.Request) error {
	src, err := h.apiLoad(r)
	if err != nil {
		return err
	}
	return web.JSON(w, http.StatusOK, Cohorts(src.d, src.loc))
}

// ABC serves GET /api/v1/analytics/imports/{id}/abc and /analytics/orders/abc.
func (h *Handler) ABC(w http.ResponseWriter, r *http.Request) error {
	src, err := h.apiLoad(r)
	if err != nil {
		return err
	}
	d := src.d
	opts := ABCOptions{Period: r.URL.Query().Get("period"), Location: src.loc}
	if err := opts.Validate(); err != nil {
		var v errs.Validator
		v.OneOf(opts.Period, "period", "week", "month")
		if verr := v.Err(); verr != nil {
			return verr
		}
		return apiAnalysisError(err)
	}
	_, sum := ABCXYZ(d, opts)
	return web.JSON(w, http.StatusOK, sum)
}

// KPIs serves GET /api/v1/analytics/imports/{id}/kpis (UTC calendar, the
// import's return rate) and /analytics/orders/kpis (Asia/Shanghai calendar,
// return rates from the return lines).
func (h *Handler) KPIs(w http.ResponseWriter, r *http.Request) error {
	src, err := h.apiLoad(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var sum *ImportSummary
	if src.rec != nil {
		sum = &src.rec.Summary
	}
	tab, err := KPIs(src.d, sum, KPIOptions{Grain: q.Get("grain"), By: q.Get("by"), Location: src.loc})
	if err != nil {
		return apiAnalysisError(err)
	}
	return web.JSON(w, http.StatusOK, tab)
}

// Personas serves GET /api/v1/analytics/imports/{id}/personas and
// /analytics/orders/personas.
func (h *Handler) Personas(w http.ResponseWriter, r *http.Request) error {
	src, err := h.apiLoad(r)
	if err != nil {
		return err
	}
	d := src.d
	var v errs.Validator
	asOf := apiDate(&v, r, "as_of", DefaultAsOf(d, src.loc), src.loc)
	withCustomers := apiBool(&v, r, "customers")
	k, seed := 5, uint64(1)
	if s := r.URL.Query().Get("k"); s != "" {
		n, err := strconv.Atoi(s)
		if v.Check(err == nil, "k", "wrong_type", "must be an integer") {
			v.Range(int64(n), 1, 50, "k")
			k = n
		}
	}
	if s := r.URL.Query().Get("seed"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		v.Check(err == nil, "seed", "wrong_type", "must be a non-negative integer")
		seed = n
	}
	if err := v.Err(); err != nil {
		return err
	}
	res, err := Personas(d, asOf, k, seed)
	if err != nil {
		return apiAnalysisError(err)
	}
	if !withCustomers {
		res.Customers = nil
	}
	return web.JSON(w, http.StatusOK, res)
}
