package crmlink_test

import (
	"errors"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
)

func TestParseDateTime(t *testing.T) {
	msk, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in   string
		want time.Time
		err  error
	}{
		{"10.01.2024 11:56", time.Date(2024, 1, 10, 11, 56, 0, 0, msk), nil},
		{"10.01.2024 11:56:07", time.Date(2024, 1, 10, 11, 56, 7, 0, msk), nil},
		{"10.01.2024", time.Date(2024, 1, 10, 23, 59, 59, 0, msk), nil},
		{"10.01.24", time.Date(2024, 1, 10, 23, 59, 59, 0, msk), nil},
		{"10.01.99 08:00", time.Date(1999, 1, 10, 8, 0, 0, 0, msk), nil},
		{"2024-01-10", time.Date(2024, 1, 10, 23, 59, 59, 0, msk), nil},
		{"2024-01-10 11:56:07", time.Date(2024, 1, 10, 11, 56, 7, 0, msk), nil},
		{" 2024-01-10 11:56 ", time.Date(2024, 1, 10, 11, 56, 0, 0, msk), nil},
		{"2024-01-10T11:56:07", time.Date(2024, 1, 10, 11, 56, 7, 0, msk), nil},
		{"2024-01-10T11:56:07Z", time.Date(2024, 1, 10, 11, 56, 7, 0, time.UTC), nil},
		{"2024-01-10T11:56:07.123+05:00", time.Date(2024, 1, 10, 6, 56, 7, 0, time.UTC), nil},
		{"2024-02-29", time.Date(2024, 2, 29, 23, 59, 59, 0, msk), nil},
		{"2023-02-29", time.Time{}, crmlink.ErrDateTime},
		{"1969-12-31 10:00", time.Time{}, crmlink.ErrBefore1970},
		{"31.12.1969", time.Time{}, crmlink.ErrBefore1970},
		{"", time.Time{}, crmlink.ErrDateTime},
		{"yesterday", time.Time{}, crmlink.ErrDateTime},
		{"2024-13-01", time.Time{}, crmlink.ErrDateTime},
		{"2024-01-10 24:00", time.Time{}, crmlink.ErrDateTime},
		{"2024-01-10 11:5", time.Time{}, crmlink.ErrDateTime},
		{"2024-01-10 11:56:07 junk", time.Time{}, crmlink.ErrDateTime},
		{"2024-01-10T11:56:07+25:00", time.Time{}, crmlink.ErrDateTime},
		{"10.01.2024x", time.Time{}, crmlink.ErrDateTime},
		{"1.1.2024", time.Time{}, crmlink.ErrDateTime},
		{"2024/01/10", time.Time{}, crmlink.ErrDateTime},
	} {
		got, err := crmlink.ParseDateTime(tc.in, msk)
		if !errors.Is(err, tc.err) || !got.Equal(tc.want) {
			t.Errorf("ParseDateTime(%q) = %v, %v; want %v, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func FuzzParseDateTime(f *testing.F) {
	for _, s := range []string{"10.01.2024 11:56", "2024-01-10T11:56:07.5+03:00", "10.01.24", "2024-02-29"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := crmlink.ParseDateTime(s, time.UTC)
		if err != nil {
			if !got.IsZero() {
				t.Errorf("error %v with a non-zero time %v", err, got)
			}
			return
		}
		if got.Year() < 1970 || got.Year() > 9999 {
			t.Errorf("ParseDateTime(%q) = %v: year out of range", s, got)
		}
	})
}

func BenchmarkParseDateTime(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, err := crmlink.ParseDateTime("2024-01-10 11:56:07", time.UTC); err != nil {
			b.Fatal(err)
		}
	}
}
