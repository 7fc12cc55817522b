package server

import (
	"reflect"
	"strings"
)

// pathStruct makes a struct type with one string path parameter per
// {name} of a route, for routes that declare no Params of their own.
func pathStruct(matches [][]string) any {
	fields := make([]reflect.StructField, 0, len(matches))
	for _, m := range matches {
		fields = append(fields, reflect.StructField{
			Name: "P" + strings.ReplaceAll(strings.ToUpper(m[1][:1])+m[1][1:], "_", ""),
			Type: reflect.TypeOf(""),
			Tag:  reflect.StructTag(`path:"` + m[1] + `" required:"true"`),
		})
	}
	return reflect.New(reflect.StructOf(fields)).Interface()
}
