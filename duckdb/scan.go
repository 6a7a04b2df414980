package duckdb

import (
	"encoding/json"
	"fmt"
	"unsafe"
)

// listScanner scans a DuckDB LIST into a Go slice; an empty list gives nil.
type listScanner[T any] struct{ dst *[]T }

func scanList[T any](dst *[]T) listScanner[T] { return listScanner[T]{dst} }

func (l listScanner[T]) Scan(v any) error {
	*l.dst = nil
	if v == nil {
		return nil
	}
	items, ok := v.([]any)
	if !ok {
		return fmt.Errorf("scan list: got %T", v)
	}
	for _, it := range items {
		x, ok := it.(T)
		if !ok {
			return fmt.Errorf("scan list: item %T", it)
		}
		*l.dst = append(*l.dst, x)
	}
	return nil
}

// jsonUnmarshal decodes a JSON object column; "{}" leaves dst nil.
func jsonUnmarshal(s string, dst *map[string]string) error {
	if s == "" || s == "{}" {
		*dst = nil
		return nil
	}
	return json.Unmarshal([]byte(s), dst)
}

// unsafeString views b as a string without copying; b must not change while
// the string is in use.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
