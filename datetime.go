package crmlink

import (
	"errors"
	"time"
)

// ErrDateTime is the reason ParseDateTime gives for text that is none of the
// accepted forms.
var ErrDateTime = errors.New("not a date-time: want dd.MM.yyyy, dd.MM.yy or yyyy-MM-dd, optionally followed by HH:mm or HH:mm:ss")

// ErrBefore1970 is the reason for a date before 1970 (SPEC.md §1).
var ErrBefore1970 = errors.New("date is before 1970")

// ParseDateTime parses the date-time forms CRM files use (SPEC.md §1):
// dd.MM.yyyy, dd.MM.yy or yyyy-MM-dd, each optionally followed by a space (or
// "T") and HH:mm or HH:mm:ss, read in loc. A date without a time means
// 23:59:59 of that day. An ISO form with "T" may end in "Z" or a ±hh:mm
// offset, which then overrides loc. Two-digit years are 19yy from 70 up,
// 20yy below. Dates before 1970 are refused.
func ParseDateTime(s string, loc *time.Location) (time.Time, error) {
	// Trim spaces without allocating.
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	var y, mo, d int
	var ok bool
	var rest string
	switch {
	case len(s) >= 10 && s[4] == '-' && s[7] == '-':
		y, ok = digits(s[0:4])
		if ok {
			mo, ok = digits(s[5:7])
		}
		if ok {
			d, ok = digits(s[8:10])
		}
		rest = s[10:]
	case len(s) >= 10 && s[2] == '.' && s[5] == '.' && (len(s) == 10 || !isDigit(s[10])):
		d, ok = digits(s[0:2])
		if ok {
			mo, ok = digits(s[3:5])
		}
		if ok {
			y, ok = digits(s[6:10])
		}
		rest = s[10:]
	case len(s) >= 8 && s[2] == '.' && s[5] == '.':
		d, ok = digits(s[0:2])
		if ok {
			mo, ok = digits(s[3:5])
		}
		if ok {
			y, ok = digits(s[6:8])
			if y >= 70 {
				y += 1900
			} else {
				y += 2000
			}
		}
		rest = s[8:]
	}
	if !ok {
		return time.Time{}, ErrDateTime
	}
	h, mi, sec := 23, 59, 59
	iso := false
	if rest != "" {
		if rest[0] != ' ' && rest[0] != 'T' {
			return time.Time{}, ErrDateTime
		}
		iso = rest[0] == 'T'
		rest = rest[1:]
		if len(rest) < 5 || rest[2] != ':' {
			return time.Time{}, ErrDateTime
		}
		if h, ok = digits(rest[0:2]); !ok {
			return time.Time{}, ErrDateTime
		}
		if mi, ok = digits(rest[3:5]); !ok {
			return time.Time{}, ErrDateTime
		}
		sec = 0
		rest = rest[5:]
		if len(rest) >= 3 && rest[0] == ':' {
			if sec, ok = digits(rest[1:3]); !ok {
				return time.Time{}, ErrDateTime
			}
			rest = rest[3:]
			if iso && len(rest) > 1 && rest[0] == '.' { // fractional seconds, dropped
				i := 1
				for i < len(rest) && isDigit(rest[i]) {
					i++
				}
				rest = rest[i:]
			}
		}
		if iso && rest != "" {
			switch {
			case rest == "Z":
				loc = time.UTC
			case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
				oh, ok1 := digits(rest[1:3])
				om, ok2 := digits(rest[4:6])
				if !ok1 || !ok2 || oh > 14 || om > 59 {
					return time.Time{}, ErrDateTime
				}
				off := oh*3600 + om*60
				if rest[0] == '-' {
					off = -off
				}
				loc = time.FixedZone("", off)
			default:
				return time.Time{}, ErrDateTime
			}
			rest = ""
		}
		if rest != "" {
			return time.Time{}, ErrDateTime
		}
	}
	if mo < 1 || mo > 12 || d < 1 || d > daysIn(mo, y) || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, ErrDateTime
	}
	if y < 1970 {
		return time.Time{}, ErrBefore1970
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, 0, loc)
	if t.Unix() < 0 {
		return time.Time{}, ErrBefore1970
	}
	return t, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, len(s) > 0
}

func daysIn(m, y int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
