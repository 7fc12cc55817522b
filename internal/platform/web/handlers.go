package web

import "net/http"

// The shapes most handlers take: read the path's {id} and/or decode the
// body, call the service, answer its result as JSON with status.

// Answer calls f and answers its result.
func Answer[Out any](w http.ResponseWriter, status int, f func() (Out, error)) error {
	out, err := f()
	if err != nil {
		return err
	}
	return JSON(w, status, out)
}

// Decoded decodes the body into an In, calls f with it and answers its
// result.
func Decoded[In, Out any](w http.ResponseWriter, r *http.Request, status int, f func(In) (Out, error)) error {
	var in In
	if err := Decode(r, &in); err != nil {
		return err
	}
	return Answer(w, status, func() (Out, error) { return f(in) })
}

// ByID reads the path's {id}, calls f with it and answers its result.
func ByID[Out any](w http.ResponseWriter, r *http.Request, status int, f func(int64) (Out, error)) error {
	id, err := PathInt(r, "id")
	if err != nil {
		return err
	}
	return Answer(w, status, func() (Out, error) { return f(id) })
}

// DecodedByID reads the path's {id}, decodes the body into an In, calls f
// with both and answers its result.
func DecodedByID[In, Out any](w http.ResponseWriter, r *http.Request, status int, f func(int64, In) (Out, error)) error {
	id, err := PathInt(r, "id")
	if err != nil {
		return err
	}
	return Decoded(w, r, status, func(in In) (Out, error) { return f(id, in) })
}
