package crm_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/crm"
)

// fuzzOptions varies what the fuzzer controls besides the bytes.
func fuzzOptions(flags uint8) crm.Options {
	o := opts()
	if flags&1 != 0 {
		o.Delimiter = ';'
	}
	o.SkipInvalid = flags&2 != 0
	if flags&4 != 0 {
		o.MaxRows = 2
	}
	if flags&8 != 0 {
		o.Statuses = func(s string) (crmlink.StatusType, bool) {
			if s == "new" {
				return crmlink.StatusInProgress, true
			}
			return "", false
		}
	}
	return o
}

// checkError fails unless err is what a reader may return: a
// ValidationError whose every row error has a line, or a user error.
func checkError(t *testing.T, err error) {
	t.Helper()
	var v *crmlink.ValidationError
	if errors.As(err, &v) {
		if len(v.Errors) == 0 || v.Total < len(v.Errors) {
			t.Fatalf("validation error without errors: %+v", v)
		}
		for _, e := range v.Errors {
			if e.Line < 1 || e.Reason == "" {
				t.Fatalf("row error without a line or a reason: %+v", e)
			}
		}
		return
	}
	var e *crmlink.Error
	if !errors.As(err, &e) || (e.Kind != crmlink.KindInvalid && e.Kind != crmlink.KindTooLarge) || e.Message == "" {
		t.Fatalf("error %T %v: want a ValidationError or an invalid or too large Error", err, err)
	}
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func checkIDs(t *testing.T, line int, ids *crmlink.CustomerIDs) {
	t.Helper()
	for _, h := range append(append([]string{}, ids.EmailMD5...), ids.PhoneMD5...) {
		if !isHex(h, 32) {
			t.Fatalf("line %d: MD5 %q", line, h)
		}
	}
	for _, h := range append(append([]string{}, ids.EmailSHA256...), ids.PhoneSHA256...) {
		if !isHex(h, 64) {
			t.Fatalf("line %d: SHA-256 %q", line, h)
		}
	}
	for _, e := range ids.Emails {
		if n, ok := crm.NormalizeEmail(e); !ok || n != e {
			t.Fatalf("line %d: email %q is not normalised", line, e)
		}
	}
	for _, p := range ids.Phones {
		if n, ok := crm.NormalizePhone(p); !ok || n != p || !isDigits(p) {
			t.Fatalf("line %d: phone %q is not normalised", line, p)
		}
	}
	for _, c := range ids.ClientIDs {
		if c == 0 {
			t.Fatalf("line %d: ClientID 0", line)
		}
	}
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func addFile(f *testing.F, name string, flags uint8) {
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b, flags)
}

func FuzzContactCSV(f *testing.F) {
	addFile(f, "contacts.csv", 0)
	f.Add([]byte("uniq_id;emails;birth_date\nc1;\"a@b.ru,c@d.ru\";1950-01-01\n"), uint8(1))
	f.Add([]byte("uniq_id,x\n\"c1\n2\",\"\"\"\"\nc2,\"a\"b\n"), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, flags uint8) {
		r, err := crm.NewContactCSV(bytes.NewReader(data), fuzzOptions(flags))
		if err != nil {
			checkError(t, err)
			return
		}
		last := 1
		for {
			var c crmlink.Contact
			err := r.Next(&c)
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				checkError(t, err)
				return
			}
			if c.UniqID == "" || len(c.UniqID) > 256 || c.Line <= last {
				t.Fatalf("contact %+v after line %d", c, last)
			}
			last = c.Line
			checkIDs(t, c.Line, &c.IDs)
			if !c.BirthDate.IsZero() && (c.BirthDate.Year() < 1900 || c.BirthDate.After(now)) {
				t.Fatalf("birth date %v", c.BirthDate)
			}
		}
	})
}

func checkOrder(t *testing.T, o *crmlink.Order, simple bool) {
	t.Helper()
	if !simple && (o.ID == "" || o.UniqID == "") {
		t.Fatalf("full order without id or customer: %+v", o)
	}
	if simple && o.IDs.Empty() && o.UniqID == "" {
		t.Fatalf("simple order without a customer: %+v", o)
	}
	if o.Created.IsZero() || o.Created.After(now) || o.Created.Before(time.Unix(0, 0)) {
		t.Fatalf("created %v", o.Created)
	}
	if o.Revenue.IsNegative() || o.Cost.Decimal.IsNegative() || o.Revenue.Exponent() < -4 {
		t.Fatalf("revenue %v, cost %v", o.Revenue, o.Cost)
	}
	if _, ok := crmlink.ParseStatusType(string(o.StatusType)); !ok || o.Status == "" {
		t.Fatalf("status %q type %q", o.Status, o.StatusType)
	}
	for _, p := range o.Products {
		if p.Name == "" || !p.Qty.IsPositive() {
			t.Fatalf("product %+v", p)
		}
	}
	for _, g := range o.Goals {
		if g.Goal == "" || g.Price.Decimal.IsNegative() {
			t.Fatalf("goal %+v", g)
		}
	}
	if o.Currency != "" && !crmlink.IsCurrency(o.Currency) {
		t.Fatalf("currency %q", o.Currency)
	}
	checkIDs(t, o.Line, &o.IDs)
}

func fuzzOrders(t *testing.T, r *crm.OrderReader, err error, simple bool) {
	if err != nil {
		checkError(t, err)
		return
	}
	last := 0
	for {
		var o crmlink.Order
		err := r.Next(&o)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			checkError(t, err)
			return
		}
		if o.Line <= last {
			t.Fatalf("order on line %d after line %d", o.Line, last)
		}
		last = o.Line
		checkOrder(t, &o, simple)
	}
}

func FuzzOrderCSV(f *testing.F) {
	addFile(f, "orders.csv", 0)
	addFile(f, "simple_orders.csv", 16)
	f.Add([]byte("id;client_uniq_id;create_date_time;order_status;revenue;cost\n1;c;10.01.2024;new;1 234,5;1,5\n"), uint8(9))
	f.Fuzz(func(t *testing.T, data []byte, flags uint8) {
		simple := flags&16 != 0
		open := crm.NewOrderCSV
		if simple {
			open = crm.NewSimpleOrderCSV
		}
		r, err := open(bytes.NewReader(data), fuzzOptions(flags))
		fuzzOrders(t, r, err, simple)
	})
}

func FuzzOrderJSON(f *testing.F) {
	addFile(f, "orders.json", 0)
	f.Add([]byte(`[{"id":1,"client_uniq_id":"c","create_date_time":"2024-01-10","order_status":"PAID","goals":[{"id":"g","price":1}]},"x",{}]`), uint8(4))
	f.Add([]byte(`{"orders":[{"id":"1"},{"id":tru}]}`), uint8(2))
	f.Add([]byte("\xef\xbb\xbf{\"orders\":[{\"id\":\"1\\u0000\",\"x\":[\"a\\u0000\"]},{\"id\":\"\xd0\"}],\"orders\":[]}"), uint8(0))
	f.Add([]byte("[\x00{\x00]\x00"), uint8(0))
	f.Add([]byte(`[]`), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, flags uint8) {
		r, err := crm.NewOrderJSON(bytes.NewReader(data), fuzzOptions(flags))
		fuzzOrders(t, r, err, false)
	})
}
