package crm_test

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/crm"
	"github.com/shopspring/decimal"
)

var (
	msk = mustLoad("Europe/Moscow")
	// now is the upload time of every test.
	now = time.Date(2024, 2, 1, 12, 0, 0, 0, msk)
)

func opts() crm.Options { return crm.Options{Location: msk, Now: now} }

// Hashes of the check values (SPEC.md §1) and of a few more.
const (
	md5Mail    = "3c56ff8fef0f6c65b36b2d25720fe276" // mail@yandex.ru
	sha256Mail = "bd93ea95f242f02313eccf0ab0bb7fe5121a052de42d2cb7bd332fb9f537cbfa"
	md5Phone   = "f09f2c3d48f31e2a802944ade2e5aec5" // 79995551111
	sha256Ph   = "22846ab8f79870871eb44f653419a4a5069301827d8ae75b6c2a88e4989a364e"
	sha256E164 = "86cc60992d2e0fde2e5511d462b755057f8f5c6b259a1ff7c2eee2ea284eb113" // +79995551111
	md5Anna    = "6b56db1f84a3997b902509d3fbf0a306"                                 // anna@example.com
	sha256Anna = "f7d54c22dda5b1780276601cd005909b70543fc4a6ba72d735b4cb9bbb611f01"
)

func readContacts(r *crm.ContactReader) ([]crmlink.Contact, error) {
	var out []crmlink.Contact
	for {
		var c crmlink.Contact
		err := r.Next(&c)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, c)
	}
}

func readOrders(r *crm.OrderReader) ([]crmlink.Order, error) {
	var out []crmlink.Order
	for {
		var o crmlink.Order
		err := r.Next(&o)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, o)
	}
}

func contactsCSV(t *testing.T, in string, o crm.Options) ([]crmlink.Contact, error) {
	t.Helper()
	r, err := crm.NewContactCSV(strings.NewReader(in), o)
	if err != nil {
		return nil, err
	}
	return readContacts(r)
}

func contactsJSON(t *testing.T, in string, o crm.Options) ([]crmlink.Contact, error) {
	t.Helper()
	r, err := crm.NewContactJSON(strings.NewReader(in), o)
	if err != nil {
		return nil, err
	}
	return readContacts(r)
}

type orderOpener func(io.Reader, crm.Options) (*crm.OrderReader, error)

func orders(t *testing.T, open orderOpener, in string, o crm.Options) ([]crmlink.Order, error) {
	t.Helper()
	r, err := open(strings.NewReader(in), o)
	if err != nil {
		return nil, err
	}
	return readOrders(r)
}

// rowErrors returns the row errors of err, failing unless it is a
// *crmlink.ValidationError.
func rowErrors(t *testing.T, err error) []crmlink.RowError {
	t.Helper()
	var v *crmlink.ValidationError
	if !errors.As(err, &v) {
		t.Fatalf("error = %v, want a validation error", err)
	}
	return v.Errors
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func TestNormalizeEmail(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{" Mail@Yandex.RU ", "mail@yandex.ru", true},
		{"mail@yandex.ru", "mail@yandex.ru", true},
		{"Иван@Почта.РФ", "иван@почта.рф", true},
		{"a.b+tag@sub.example.co.uk", "a.b+tag@sub.example.co.uk", true},
		{"", "", false},
		{"mail", "", false},
		{"@yandex.ru", "", false},
		{"mail@yandex", "", false},
		{"mail@.ru", "", false},
		{"mail@yandex.", "", false},
		{"mail@@yandex.ru", "", false},
		{"ma il@yandex.ru", "", false},
		{"mail@yan\u00a0dex.ru", "", false},
		{"Anna <anna@example.com>", "", false},
		{"a@b.ru;c@d.ru", "", false},
	} {
		got, ok := crm.NormalizeEmail(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestNormalizePhone(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"+7 (999) 555-11-11", "79995551111", true},
		{"89995551111", "79995551111", true},
		{"79995551111", "79995551111", true},
		{" 8 (495) 123-45-67 ", "74951234567", true},
		{"+1 212 555 0100", "12125550100", true},
		{"+44 20 7946 0958", "442079460958", true},
		{"+49.30.1234567", "49301234567", true},
		{"9995551111", "9995551111", true},           // ten digits: taken as carrying a country code
		{"123456789012345", "123456789012345", true}, // fifteen: the most E.164 allows
		{"555-11-11", "", false},                     // no country code
		{"4951234567"[:9], "", false},                // nine digits
		{"1234567890123456", "", false},              // sixteen
		{"+7 999 555 11 11 ext. 2", "", false},       // letters
		{"7+9995551111", "", false},                  // + inside
		{"++79995551111", "", false},
		{"", "", false},
	} {
		got, ok := crm.NormalizePhone(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestHashes(t *testing.T) {
	for _, tc := range []struct{ in, md5, sha string }{
		{"mail@yandex.ru", md5Mail, sha256Mail},
		{"79995551111", md5Phone, sha256Ph},
	} {
		if got := crm.MD5Hex(tc.in); got != tc.md5 {
			t.Errorf("MD5Hex(%q) = %s, want %s", tc.in, got, tc.md5)
		}
		if got := crm.SHA256Hex(tc.in); got != tc.sha {
			t.Errorf("SHA256Hex(%q) = %s, want %s", tc.in, got, tc.sha)
		}
	}
}

func TestParseColumnsMapping(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want map[string]string
		err  string
	}{
		{``, nil, ""},
		{`"uniq_id":"ID","name":"Full name"`, map[string]string{"uniq_id": "ID", "name": "Full name"}, ""},
		{` {"UNIQ_ID": "ID"} `, map[string]string{"uniq_id": "ID"}, ""},
		{`"uniq_id":"ID",`, nil, "invalid columns_mapping"},
		{`uniq_id:ID`, nil, "invalid columns_mapping"},
		{`"uniq_id":1`, nil, `invalid columns_mapping: the header for "uniq_id" must be a string`},
		{`"uniq_id":"ID","uniq_id":"Other"`, nil, `invalid columns_mapping: "uniq_id" is mapped twice`},
		{`"uniq_id":"ID","name":"id"`, nil, `invalid columns_mapping: header "id" is mapped to both "uniq_id" and "name"`},
		{`"uniq_id":""`, nil, `invalid columns_mapping: an empty header for "uniq_id"`},
		{`{"uniq_id":"ID"} x`, nil, "invalid columns_mapping: unexpected text after the pairs"},
	} {
		got, err := crm.ParseColumnsMapping(tc.in)
		if tc.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tc.err) || crmlink.KindOf(err) != crmlink.KindInvalid {
				t.Errorf("ParseColumnsMapping(%q) error = %v, want %q (invalid)", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseColumnsMapping(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestContactCSV(t *testing.T) {
	// A BOM, every cell quoted, \r\n line ends, a cell over two lines.
	in := "\xef\xbb\xbf\"uniq_id\",\"Name\",\"create_date_time\",\"update_date_time\",\"client_ids\",\"emails\",\"phones\"," +
		"\"emails_md5\",\"phones_sha256\",\"user_ids\",\"birth_date\",\"City\",\"Loyalty card\"\r\n" +
		"\"c1\",\"Анна Петрова\",\"10.01.2024 11:56\",\"2024-01-15\",\"1700000000123456789, 42,1700000000123456789\"," +
		"\" Mail@Yandex.RU ,anna@example.com,mail@yandex.ru\",\"+7 (999) 555-11-11,89995551111\"," +
		"\"3C56FF8FEF0F6C65B36B2D25720FE276, 0123456789abcdef0123456789abcdef\",\"" + sha256Ph + "\",\"u1,u2,,u1\"," +
		"\"08.03.1965\",\"Moscow\",\"\"\r\n" +
		"\"c2\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"  \"\r\n" +
		"\"c3\",\"Two\r\nlines\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"2000-02-29\",\"\",\"gold\"\r\n" +
		"\"c4\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\"\r\n"
	got, err := contactsCSV(t, in, opts())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("got %d contacts, want 4", len(got))
	}
	want := crmlink.Contact{
		UniqID:    "c1",
		Name:      "Анна Петрова",
		Created:   time.Date(2024, 1, 10, 11, 56, 0, 0, msk),
		Updated:   time.Date(2024, 1, 15, 23, 59, 59, 0, msk),
		BirthDate: time.Date(1965, 3, 8, 0, 0, 0, 0, time.UTC),
		IDs: crmlink.CustomerIDs{
			ClientIDs:   []uint64{1700000000123456789, 42},
			UserIDs:     []string{"u1", "u2"},
			EmailMD5:    []string{md5Mail, md5Anna, "0123456789abcdef0123456789abcdef"},
			EmailSHA256: []string{sha256Mail, sha256Anna},
			PhoneMD5:    []string{md5Phone},
			PhoneSHA256: []string{sha256Ph}, PhoneE164SHA256: []string{sha256E164},
			Emails: []string{"mail@yandex.ru", "anna@example.com"},
			Phones: []string{"79995551111"},
		},
		Attrs: map[string]string{"City": "Moscow"},
		Fields: crmlink.FieldName | crmlink.FieldCreated | crmlink.FieldUpdated | crmlink.FieldBirthDate |
			crmlink.FieldClientIDs | crmlink.FieldUserIDs | crmlink.FieldEmails | crmlink.FieldPhones | crmlink.FieldAttrs,
		Line: 2,
	}
	if !reflect.DeepEqual(got[0], want) {
		t.Errorf("row 1 =\n%+v\nwant\n%+v", got[0], want)
	}
	if c := got[1]; c.UniqID != "c2" || c.Fields != 0 || len(c.Attrs) != 0 || !c.IDs.Empty() || c.Line != 3 {
		t.Errorf("row 2 = %+v, want c2 with no fields on line 3", c)
	}
	if c := got[2]; c.Name != "Two\nlines" || c.Line != 4 || !c.BirthDate.Equal(time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC)) ||
		c.Attrs["Loyalty card"] != "gold" || c.Fields != crmlink.FieldName|crmlink.FieldBirthDate|crmlink.FieldAttrs {
		t.Errorf("row 3 = %+v", c)
	}
	if got[3].Line != 6 {
		t.Errorf("row 4 on line %d, want 6 (row 3 spans two lines)", got[3].Line)
	}
}

func TestContactErrors(t *testing.T) {
	long := strings.Repeat("x", 257)
	for _, tc := range []struct {
		name string
		in   string
		want []crmlink.RowError
	}{
		{"empty file", "", []crmlink.RowError{{Line: 1, Reason: "the file is empty: want a header row"}}},
		{"no uniq_id column", "name,emails\nAnna,a@b.ru\n",
			[]crmlink.RowError{{Line: 1, Column: "uniq_id", Reason: "required column is missing from the header"}}},
		{"duplicate header", "uniq_id,Emails,emails\n",
			[]crmlink.RowError{{Line: 1, Column: "emails", Reason: "column appears twice in the header (also column 2)"}}},
		{"bad cells", "uniq_id,emails,phones,emails_md5,phones_sha256,client_ids,create_date_time,birth_date\n" +
			"c1,mail@yandex.ru,79995551111,,,1,2024-01-01,1990-01-01\n" +
			",\"mail@,x@y.ru\",555-11-11,abc,123,\"0,-1,x\",31.02.2024,01.01.1850\n" +
			long + ",,,,,,1969-12-31 10:00,2030-01-01\n" +
			"c4\n",
			[]crmlink.RowError{
				{Line: 3, Column: "uniq_id", Reason: "required value is empty"},
				{Line: 3, Column: "create_date_time", Value: "31.02.2024", Reason: crmlink.ErrDateTime.Error()},
				{Line: 3, Column: "birth_date", Value: "01.01.1850", Reason: "a birth date before 1900"},
				{Line: 3, Column: "client_ids", Value: "0", Reason: "not a ClientID: want a positive integer below 2^64"},
				{Line: 3, Column: "client_ids", Value: "-1", Reason: "not a ClientID: want a positive integer below 2^64"},
				{Line: 3, Column: "client_ids", Value: "x", Reason: "not a ClientID: want a positive integer below 2^64"},
				{Line: 3, Column: "emails", Value: "mail@", Reason: "not an email address"},
				{Line: 3, Column: "phones", Value: "555-11-11", Reason: "not a phone number with a country code: want 10 to 15 digits, like +7 999 555-11-11"},
				{Line: 3, Column: "emails_md5", Value: "abc", Reason: "not an MD5 hash: want 32 hex digits"},
				{Line: 3, Column: "phones_sha256", Value: "123", Reason: "not a SHA-256 hash: want 64 hex digits"},
				{Line: 4, Column: "uniq_id", Value: long, Reason: "longer than 256 bytes"},
				{Line: 4, Column: "create_date_time", Value: "1969-12-31 10:00", Reason: crmlink.ErrBefore1970.Error()},
				{Line: 4, Column: "birth_date", Value: "2030-01-01", Reason: "a birth date in the future"},
				{Line: 5, Reason: "the row has 1 fields, the header has 8"},
			}},
		{"md5 of 31 digits", "uniq_id,emails_md5\nc1,3c56ff8fef0f6c65b36b2d25720fe27\nc2,3c56ff8fef0f6c65b36b2d25720fe27g\n",
			[]crmlink.RowError{
				{Line: 2, Column: "emails_md5", Value: "3c56ff8fef0f6c65b36b2d25720fe27", Reason: "not an MD5 hash: want 32 hex digits"},
				{Line: 3, Column: "emails_md5", Value: "3c56ff8fef0f6c65b36b2d25720fe27g", Reason: "not an MD5 hash: want 32 hex digits"},
			}},
		{"not UTF-8", "uniq_id,name,tier\nc1,Анна,золото\nc2,\xcf\xe5\xf2\xf0,gold\n\"c3\",\"Ivan\nIv\xe0nov\",\"x\"\nc4,Анна,\xe7\xee\xeb\n",
			[]crmlink.RowError{
				{Line: 3, Column: "name", Value: "\xcf\xe5\xf2\xf0", Reason: "not valid UTF-8: save the file in UTF-8"},
				{Line: 4, Column: "name", Value: "Ivan\nIv\xe0nov", Reason: "not valid UTF-8: save the file in UTF-8"},
				{Line: 6, Column: "tier", Value: "\xe7\xee\xeb", Reason: "not valid UTF-8: save the file in UTF-8"},
			}},
		{"bare quote", "uniq_id,name\nc1,An\"na\nc2,x\n",
			[]crmlink.RowError{{Line: 2, Reason: "CSV syntax error at column 6: bare \" in non-quoted-field; reading stopped here"}}},
		{"unclosed quote", "uniq_id,name\nc1,\"Anna\nc2,x\n",
			[]crmlink.RowError{{Line: 3, Reason: "CSV syntax error at column 6: extraneous or missing \" in quoted-field; reading stopped here"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := contactsCSV(t, tc.in, opts())
			if errs := rowErrors(t, err); !reflect.DeepEqual(errs, tc.want) {
				t.Errorf("errors =\n%#v\nwant\n%#v\n(contacts %+v)", errs, tc.want, got)
			}
			for _, c := range got {
				if c.Line >= tc.want[0].Line {
					t.Errorf("a failed file yielded the contact of line %d, after its first bad row", c.Line)
				}
			}
		})
	}
}

func TestColumnsMapping(t *testing.T) {
	o := opts()
	var err error
	o.ColumnsMapping, err = crm.ParseColumnsMapping(`"uniq_id":"ID","name":"Full name","emails":"E-mail","tier":"Level"`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := contactsCSV(t, "ID,Full name,e-mail,Level,Phone\nc1,Анна,Mail@Yandex.ru,gold,123\n", o)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"tier": "gold", "Phone": "123"}
	if len(got) != 1 || got[0].UniqID != "c1" || got[0].Name != "Анна" || !reflect.DeepEqual(got[0].IDs.EmailMD5, []string{md5Mail}) ||
		!reflect.DeepEqual(got[0].Attrs, want) {
		t.Errorf("got %+v", got)
	}

	// A mapped header that is not in the file, and a mapped column that
	// collides with one named like our field.
	o.ColumnsMapping = map[string]string{"uniq_id": "ID", "name": "Full name"}
	_, err = contactsCSV(t, "ID,uniq_id,Name\nc1,c2,x\n", o)
	wantErrs := []crmlink.RowError{
		{Line: 1, Column: "Full name", Reason: "columns_mapping maps name to this column, which is not in the header"},
		{Line: 1, Column: "uniq_id", Reason: "column 1 (ID) is uniq_id too"},
	}
	if errs := rowErrors(t, err); !reflect.DeepEqual(errs, wantErrs) {
		t.Errorf("errors =\n%#v\nwant\n%#v", errs, wantErrs)
	}
}

func TestOrderCSV(t *testing.T) {
	statuses := map[string]crmlink.StatusType{"new": crmlink.StatusInProgress, "Оплачен": crmlink.StatusPaid, "PAID": crmlink.StatusCancelled}
	o := opts()
	o.Statuses = func(s string) (crmlink.StatusType, bool) { t, ok := statuses[s]; return t, ok }
	in := "id,client_uniq_id,client_type,create_date_time,update_date_time,finish_date_time,order_status,revenue,cost,products,goals,currency,Manager\n" +
		`1,c1,CONTACT,10.01.2024 11:56,10.01.2024 12:00,11.01.24,Оплачен,"1234,50",1000.1234,"{""Диван"": 1, ""Подушка"": ""2,5""}","pay_cash:200,branch_1,pay_cash:300",rub,Ivan` + "\n" +
		`2,c1,contact,2024-01-10,,,new,0,,"Диван:1,Стол 1.5 м:2.5,Чехол",,,` + "\n" +
		`3,c2,,2024-01-10T08:00:00Z,,,cancelled,100,,,,USD,` + "\n" +
		`4,c2,,2024-01-10 08:00,,,PAID,100,,,,,` + "\n"
	got, err := orders(t, crm.NewOrderCSV, in, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("got %d orders", len(got))
	}
	a := got[0]
	if a.ID != "1" || a.UniqID != "c1" || a.Status != "Оплачен" || a.StatusType != crmlink.StatusPaid || a.Currency != "RUB" ||
		!a.Created.Equal(time.Date(2024, 1, 10, 11, 56, 0, 0, msk)) || !a.Updated.Equal(time.Date(2024, 1, 10, 12, 0, 0, 0, msk)) ||
		!a.Finished.Equal(time.Date(2024, 1, 11, 23, 59, 59, 0, msk)) || a.Line != 2 {
		t.Errorf("order 1 = %+v", a)
	}
	if a.Revenue.String() != "1234.5" || !a.Cost.Valid || a.Cost.Decimal.String() != "1000.1234" || a.Profit().String() != "234.3766" {
		t.Errorf("order 1 money: revenue %s cost %v profit %s", a.Revenue, a.Cost, a.Profit())
	}
	wantProducts := []crmlink.Product{{Name: "Диван", Qty: dec("1")}, {Name: "Подушка", Qty: dec("2.5")}}
	if !productsEqual(a.Products, wantProducts) {
		t.Errorf("order 1 products = %v, want %v", a.Products, wantProducts)
	}
	wantGoals := []crmlink.OrderGoal{{Goal: "pay_cash", Price: decimal.NewNullDecimal(dec("200"))}, {Goal: "branch_1"}}
	if !goalsEqual(a.Goals, wantGoals) {
		t.Errorf("order 1 goals = %v, want %v", a.Goals, wantGoals)
	}
	wantFields := crmlink.FieldCustomer | crmlink.FieldCreated | crmlink.FieldUpdated | crmlink.FieldFinished | crmlink.FieldStatus |
		crmlink.FieldRevenue | crmlink.FieldCost | crmlink.FieldProducts | crmlink.FieldGoals | crmlink.FieldCurrency | crmlink.FieldAttrs
	if a.Fields != wantFields || !reflect.DeepEqual(a.Attrs, map[string]string{"Manager": "Ivan"}) {
		t.Errorf("order 1 fields = %b, attrs %v; want %b", a.Fields, a.Attrs, wantFields)
	}

	b := got[1]
	wantProducts = []crmlink.Product{{Name: "Диван", Qty: dec("1")}, {Name: "Стол 1.5 м", Qty: dec("2.5")}, {Name: "Чехол", Qty: dec("1")}}
	if b.StatusType != crmlink.StatusInProgress || !productsEqual(b.Products, wantProducts) || !b.Revenue.IsZero() || b.Cost.Valid ||
		!b.Updated.IsZero() || b.Fields.Has(crmlink.FieldUpdated) || b.Fields.Has(crmlink.FieldCost) || !b.Fields.Has(crmlink.FieldRevenue) {
		t.Errorf("order 2 = %+v", b)
	}
	// A date without a time is 23:59:59; today's would be after the upload, so it is the upload time.
	if !b.Created.Equal(time.Date(2024, 1, 10, 23, 59, 59, 0, msk)) {
		t.Errorf("order 2 created %v", b.Created)
	}
	// Type names are accepted as themselves in any case, after the mapping.
	if c := got[2]; c.StatusType != crmlink.StatusCancelled || c.Status != "cancelled" || c.Currency != "USD" ||
		!c.Created.Equal(time.Date(2024, 1, 10, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("order 3 = %+v", c)
	}
	if d := got[3]; d.StatusType != crmlink.StatusCancelled {
		t.Errorf("order 4: the mapping of PAID should win over the type name, got %s", d.StatusType)
	}
}

func productsEqual(a, b []crmlink.Product) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || !a[i].Qty.Equal(b[i].Qty) {
			return false
		}
	}
	return true
}

func goalsEqual(a, b []crmlink.OrderGoal) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Goal != b[i].Goal || a[i].Price.Valid != b[i].Price.Valid || !a[i].Price.Decimal.Equal(b[i].Price.Decimal) {
			return false
		}
	}
	return true
}

func TestSemicolonFile(t *testing.T) {
	o := opts()
	o.Delimiter = ';'
	in := "id;client_uniq_id;create_date_time;order_status;revenue;cost;products\r\n" +
		"1;c1;10.01.2024 11:56;PAID;1 234,50;99,9;Диван:1,Стол:2\r\n" +
		"2;c1;10.01.2024 11:56;paid;\"1234.5\";;\r\n"
	got, err := orders(t, crm.NewOrderCSV, in, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Revenue.String() != "1234.5" || got[0].Cost.Decimal.String() != "99.9" || len(got[0].Products) != 2 ||
		got[1].Revenue.String() != "1234.5" || got[1].StatusType != crmlink.StatusPaid {
		t.Errorf("got %+v", got)
	}
}

func TestOrderErrors(t *testing.T) {
	header := "id,client_uniq_id,client_type,create_date_time,order_status,revenue,cost,products,goals,currency\n"
	for _, tc := range []struct {
		name string
		in   string
		want []crmlink.RowError
	}{
		{"missing columns", "id,create_date_time\n", []crmlink.RowError{
			{Line: 1, Column: "client_uniq_id", Reason: "required column is missing from the header"},
			{Line: 1, Column: "order_status", Reason: "required column is missing from the header"},
		}},
		{"dates", header +
			"1,c1,,01.02.2024 12:00:01,PAID,,,,,\n" + // a second after the upload
			"2,c1,,02.02.2024,PAID,,,,,\n" + // tomorrow
			"3,c1,,31.12.1969 23:00,PAID,,,,,\n" +
			"4,c1,,01.02.2024 12:00,PAID,,,,,\n", // the upload time itself is fine
			[]crmlink.RowError{
				{Line: 2, Column: "create_date_time", Value: "01.02.2024 12:00:01", Reason: "the date is in the future (after the upload time 2024-02-01 12:00:00; wrong time zone or date format?)"},
				{Line: 3, Column: "create_date_time", Value: "02.02.2024", Reason: "the date is in the future (after the upload time 2024-02-01 12:00:00; wrong time zone or date format?)"},
				{Line: 4, Column: "create_date_time", Value: "31.12.1969 23:00", Reason: crmlink.ErrBefore1970.Error()},
			}},
		{"required empty", header + ",,,,,,,,,\n", []crmlink.RowError{
			{Line: 2, Column: "id", Reason: "required value is empty"},
			{Line: 2, Column: "client_uniq_id", Reason: "required value is empty"},
			{Line: 2, Column: "create_date_time", Reason: "required value is empty"},
			{Line: 2, Column: "order_status", Reason: "required value is empty"},
		}},
		{"values", header +
			"1,c1,LEAD,10.01.2024,shipped,-5,-0.01,,,XYZ\n" +
			"2,c1,,10.01.2024,PAID,1.23456,\"1,5.0\",\"a:0,:1,b:-1,c:x\",\"g:-1,:5,h:1,5\",\n" +
			"3,c1,,10.01.2024,PAID,\"1,234\",123456789012345,\"{\"\"a\"\": [1]}\",,\n" +
			"4,c1,,10.01.2024,PAID,1e3,.5,{bad,,\n",
			[]crmlink.RowError{
				{Line: 2, Column: "client_type", Value: "LEAD", Reason: "unknown client_type: want CONTACT"},
				{Line: 2, Column: "order_status", Value: "shipped", Reason: "unknown status: map it with schema/order_statuses, or send one of IN_PROGRESS, PAID, CANCELLED, SPAM, OTHER"},
				{Line: 2, Column: "revenue", Value: "-5", Reason: "must not be negative"},
				{Line: 2, Column: "cost", Value: "-0.01", Reason: "must not be negative"},
				{Line: 2, Column: "currency", Value: "XYZ", Reason: "not an ISO 4217 currency code, like RUB or USD"},
				{Line: 3, Column: "revenue", Value: "1.23456", Reason: "more than 4 decimal places"},
				{Line: 3, Column: "cost", Value: "1,5.0", Reason: "both a comma and a dot: write the number without thousands separators, like 1234.50"},
				{Line: 3, Column: "products", Value: "a:0", Reason: "product quantity: must be positive"},
				{Line: 3, Column: "products", Value: ":1", Reason: "a product without a name"},
				{Line: 3, Column: "products", Value: "b:-1", Reason: "product quantity: must not be negative"},
				{Line: 3, Column: "products", Value: "c:x", Reason: "product quantity: not a number: want digits with an optional decimal point, like 1234.50"},
				{Line: 3, Column: "goals", Value: "g:-1", Reason: "goal price: must not be negative"},
				{Line: 3, Column: "goals", Value: ":5", Reason: "a goal without a name"},
				{Line: 4, Column: "revenue", Value: "1,234", Reason: "ambiguous: is the comma a decimal point or a thousands separator? Write 1234 or 1.234"},
				{Line: 4, Column: "cost", Value: "123456789012345", Reason: "too large: at most 14 digits before the decimal point"},
				{Line: 4, Column: "products", Value: `{"a": [1]}`, Reason: `want {"name": quantity, ...}`},
				{Line: 5, Column: "revenue", Value: "1e3", Reason: "not a number: want digits with an optional decimal point, like 1234.50"},
				{Line: 5, Column: "cost", Value: ".5", Reason: "not a number: want digits with an optional decimal point, like 1234.50"},
				{Line: 5, Column: "products", Value: "{bad", Reason: `want {"name": quantity, ...}`},
			}},
		{"wrong field count", header + "1,c1\n1,c1,,10.01.2024,PAID,,,,,,\n", []crmlink.RowError{
			{Line: 2, Reason: "the row has 2 fields, the header has 10"},
			{Line: 3, Reason: "the row has 11 fields, the header has 10"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want // in "values", "h:1,5" is two good items: h at price 1, and a goal named 5
			got, err := orders(t, crm.NewOrderCSV, tc.in, opts())
			if errs := rowErrors(t, err); !reflect.DeepEqual(errs, want) {
				t.Errorf("errors =\n%#v\nwant\n%#v\n(orders %+v)", errs, want, got)
			}
		})
	}
}

func TestSimpleOrders(t *testing.T) {
	in := "id,create_date_time,order_status,revenue,cost,client_ids,emails,phones,emails_md5,goals,client_uniq_id\n" +
		"S1,10.01.2024 11:56,,100.00,,42,,,,\"pay_cash:200,branch_1\",\n" +
		",10.01.2024 11:57,IN_PROGRESS,,,,Mail@Yandex.ru,,,,\n" +
		",10.01.2024 11:58,,,,,,+7 999 555-11-11,,,\n" +
		",10.01.2024 11:59,,,,,,,6B56DB1F84A3997B902509D3FBF0A306,,\n" +
		",10.01.2024 12:00,,,,,,,,,c9\n"
	got, err := orders(t, crm.NewSimpleOrderCSV, in, opts())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 {
		t.Fatalf("got %d orders", len(got))
	}
	a := got[0]
	if a.ID != "S1" || a.Status != "PAID" || a.StatusType != crmlink.StatusPaid || !a.Fields.Has(crmlink.FieldStatus) ||
		!reflect.DeepEqual(a.IDs.ClientIDs, []uint64{42}) || a.Revenue.String() != "100" ||
		!goalsEqual(a.Goals, []crmlink.OrderGoal{{Goal: "pay_cash", Price: decimal.NewNullDecimal(dec("200"))}, {Goal: "branch_1"}}) {
		t.Errorf("order 1 = %+v", a)
	}
	if b := got[1]; b.ID != "" || b.StatusType != crmlink.StatusInProgress || !reflect.DeepEqual(b.IDs.EmailMD5, []string{md5Mail}) ||
		!reflect.DeepEqual(b.IDs.EmailSHA256, []string{sha256Mail}) || b.Fields.Has(crmlink.FieldCustomer) {
		t.Errorf("order 2 = %+v", b)
	}
	if c := got[2]; !reflect.DeepEqual(c.IDs.PhoneMD5, []string{md5Phone}) || !reflect.DeepEqual(c.IDs.Phones, []string{"79995551111"}) {
		t.Errorf("order 3 = %+v", c)
	}
	if d := got[3]; !reflect.DeepEqual(d.IDs.EmailMD5, []string{md5Anna}) || len(d.IDs.EmailSHA256) != 0 {
		t.Errorf("order 4 = %+v", d)
	}
	if e := got[4]; e.UniqID != "c9" || !e.IDs.Empty() || !e.Fields.Has(crmlink.FieldCustomer) {
		t.Errorf("order 5 = %+v", e)
	}

	// No identifier at all; a bad one is reported once, as itself.
	_, err = orders(t, crm.NewSimpleOrderCSV, "create_date_time,emails,phones\n10.01.2024,,\n10.01.2024,nobody,\n", opts())
	want := []crmlink.RowError{
		{Line: 2, Reason: "the row names no customer: want client_ids, emails, phones, their hashes, user_ids or client_uniq_id"},
		{Line: 3, Column: "emails", Value: "nobody", Reason: "not an email address"},
	}
	if errs := rowErrors(t, err); !reflect.DeepEqual(errs, want) {
		t.Errorf("errors =\n%#v\nwant\n%#v", errs, want)
	}
	_, err = orders(t, crm.NewSimpleOrderCSV, "id,emails\n1,a@b.ru\n", opts())
	want = []crmlink.RowError{{Line: 1, Column: "create_date_time", Reason: "required column is missing from the header"}}
	if errs := rowErrors(t, err); !reflect.DeepEqual(errs, want) {
		t.Errorf("errors =\n%#v\nwant\n%#v", errs, want)
	}
}

// TestPartialOrders: under Options.Partial (UPDATE, APPEND) a full order's
// row needs only its id; the fields it leaves out are not in its Fields,
// and a simple order with an id needs no customer or date. Without
// Partial the same files are refused.
func TestPartialOrders(t *testing.T) {
	partial := opts()
	partial.Partial = true
	got, err := orders(t, crm.NewOrderCSV, "id,order_status\nO1,PAID\nO2,\n", partial)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "O1" || got[0].StatusType != crmlink.StatusPaid ||
		got[0].Fields != crmlink.FieldStatus || got[1].ID != "O2" || got[1].Fields != 0 {
		t.Errorf("orders = %+v", got)
	}
	got, err = orders(t, crm.NewOrderCSV, "id,revenue,client_uniq_id\nO1,12.50,c1\n", partial)
	if err != nil || len(got) != 1 || got[0].Fields != crmlink.FieldRevenue|crmlink.FieldCustomer || got[0].UniqID != "c1" {
		t.Errorf("orders = %+v, %v", got, err)
	}
	_, err = orders(t, crm.NewOrderCSV, "order_status\nPAID\n", partial)
	want := []crmlink.RowError{{Line: 1, Column: "id", Reason: "required column is missing from the header"}}
	if errs := rowErrors(t, err); !reflect.DeepEqual(errs, want) {
		t.Errorf("errors =\n%#v\nwant\n%#v", errs, want)
	}
	_, err = orders(t, crm.NewOrderCSV, "id,order_status\n,PAID\nO2,shipped\n", partial)
	want = []crmlink.RowError{
		{Line: 2, Column: "id", Reason: "required value is empty"},
		{Line: 3, Column: "order_status", Value: "shipped", Reason: "unknown status: map it with schema/order_statuses, or send one of IN_PROGRESS, PAID, CANCELLED, SPAM, OTHER"},
	}
	if errs := rowErrors(t, err); !reflect.DeepEqual(errs, want) {
		t.Errorf("errors =\n%#v\nwant\n%#v", errs, want)
	}
	// A simple order's row with an id may carry just its status; one
	// without an id still needs a date and a customer.
	got, err = orders(t, crm.NewSimpleOrderCSV, "id,order_status,create_date_time,emails\nS1,CANCELLED,,\n,,10.01.2024,\n", partial)
	if errs := rowErrors(t, err); len(errs) != 1 || errs[0].Line != 3 || !strings.Contains(errs[0].Reason, "names no customer") {
		t.Errorf("errors = %#v (orders %+v)", errs, got)
	}
	if _, err := orders(t, crm.NewOrderCSV, "id,order_status\nO1,PAID\n", opts()); err == nil {
		t.Error("SAVE took a row without client_uniq_id and create_date_time")
	}
}

func TestDateForms(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"10.01.2024 11:56", time.Date(2024, 1, 10, 11, 56, 0, 0, msk)},
		{"10.01.2024 11:56:07", time.Date(2024, 1, 10, 11, 56, 7, 0, msk)},
		{"10.01.2024", time.Date(2024, 1, 10, 23, 59, 59, 0, msk)},
		{"10.01.24 11:56", time.Date(2024, 1, 10, 11, 56, 0, 0, msk)},
		{"2024-01-10 11:56", time.Date(2024, 1, 10, 11, 56, 0, 0, msk)},
		{"2024-01-10T11:56:07+03:00", time.Date(2024, 1, 10, 11, 56, 7, 0, msk)},
		{"01.02.2024", now}, // today: 23:59:59 would be after the upload
		{"01.02.2024 11:59", time.Date(2024, 2, 1, 11, 59, 0, 0, msk)},
	} {
		got, err := orders(t, crm.NewOrderCSV, "id,client_uniq_id,create_date_time,order_status\n1,c1,\""+tc.in+"\",PAID\n", opts())
		if err != nil || len(got) != 1 || !got[0].Created.Equal(tc.want) {
			t.Errorf("%q: %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestSkipInvalid(t *testing.T) {
	o := opts()
	o.SkipInvalid = true
	in := "id,client_uniq_id,create_date_time,order_status,revenue\n" +
		"1,c1,10.01.2024,PAID,10\n" +
		"2,c1,10.01.2024,PAID,-10\n" +
		"3,c1,10.01.2024,PAID,30\n" +
		"4,c1,10.01.2024,nope,40\n" +
		"5,c1,10.01.2024,PAID,50\n"
	r, err := crm.NewOrderCSV(strings.NewReader(in), o)
	if err != nil {
		t.Fatal(err)
	}
	got, err := readOrders(r)
	if err != nil {
		t.Fatalf("SkipInvalid: Next returned %v, want io.EOF", err)
	}
	var ids []string
	for _, o := range got {
		ids = append(ids, o.ID)
	}
	if !reflect.DeepEqual(ids, []string{"1", "3", "5"}) {
		t.Errorf("ids = %v, want the good rows 1, 3, 5", ids)
	}
	v := r.Errors()
	if v == nil || v.Total != 2 || v.BadRows != 2 || v.Errors[0].Line != 3 || v.Errors[1].Line != 5 || r.Rows() != 5 {
		t.Errorf("Errors() = %+v, Rows() = %d", v, r.Rows())
	}
	if err := r.Next(&crmlink.Order{}); err != io.EOF {
		t.Errorf("Next after the end = %v", err)
	}

	// Without it, the good rows are yielded all the same, for the store to
	// check their customers; Failing says they are only to be checked, and
	// the end is a ValidationError.
	o.SkipInvalid = false
	r, _ = crm.NewOrderCSV(strings.NewReader(in), o)
	var failing []bool
	got = got[:0]
	for {
		var o crmlink.Order
		if err = r.Next(&o); err != nil {
			break
		}
		got = append(got, o)
		failing = append(failing, r.Failing())
	}
	if len(got) != 3 || len(rowErrors(t, err)) != 2 || r.Rows() != 5 || !reflect.DeepEqual(failing, []bool{false, true, true}) {
		t.Errorf("got %d orders (failing %v), %v, %d rows", len(got), failing, err, r.Rows())
	}
	if err2 := r.Next(&crmlink.Order{}); err2 != err {
		t.Errorf("Next after the end = %v, want the same error", err2)
	}

	// A syntax error fails the upload even with SkipInvalid.
	o.SkipInvalid = true
	r, _ = crm.NewOrderCSV(strings.NewReader(in+"6,\"c1,x\n"), o)
	got, err = readOrders(r)
	if errs := rowErrors(t, err); len(got) != 3 || len(errs) != 3 || !strings.HasPrefix(errs[2].Reason, "CSV syntax error") {
		t.Errorf("got %d orders, %v", len(got), err)
	}
}

func TestReuse(t *testing.T) {
	// The same struct for every row: nothing of one row leaks into the next.
	in := "uniq_id,emails,client_ids,note\nc1,a@b.ru,1,x\nc2,,,\n"
	r, err := crm.NewContactCSV(strings.NewReader(in), opts())
	if err != nil {
		t.Fatal(err)
	}
	c := crmlink.Contact{CounterID: 7}
	if err := r.Next(&c); err != nil || len(c.IDs.Emails) != 1 || c.Attrs["note"] != "x" {
		t.Fatalf("row 1: %+v, %v", c, err)
	}
	if err := r.Next(&c); err != nil {
		t.Fatal(err)
	}
	if c.UniqID != "c2" || c.CounterID != 7 || !c.IDs.Empty() || len(c.IDs.Emails) != 0 || len(c.Attrs) != 0 || c.Fields != 0 {
		t.Errorf("row 2 = %+v", c)
	}
}

func TestContactJSON(t *testing.T) {
	in := `{"meta": {"x": [1, {"y": null}]}, "contacts": [
		{"uniq_id": "c1", "name": " Анна ", "client_ids": [1700000000123456789, "42"], "emails": "Mail@Yandex.ru",
		 "phones": ["+7 999 555-11-11", null], "emails_md5": null, "birth_date": "1980-05-01", "vip": true, "tags": ["a", "b"],
		 "score": 12.50, "note": null},
		{"uniq_id": 123, "name": "", "emails": []},
		{"name": "no id"},
		"not an object",
		{"uniq_id": "c5", "client_ids": [{"a": 1}], "create_date_time": "10.01.2024 11:56"}
	], "trailer": true}`
	r, err := crm.NewContactJSON(strings.NewReader(in), opts())
	if err != nil {
		t.Fatal(err)
	}
	var got []crmlink.Contact
	for {
		var c crmlink.Contact
		if err = r.Next(&c); err != nil {
			break
		}
		got = append(got, c)
	}
	want := []crmlink.RowError{
		{Line: 3, Column: "uniq_id", Reason: "required field is missing or null"},
		{Line: 4, Reason: "element 4 is not a JSON object"},
		{Line: 5, Column: "client_ids", Value: `[{"a": 1}]`, Reason: "want a list of strings or numbers"},
	}
	if errs := rowErrors(t, err); !reflect.DeepEqual(errs, want) {
		t.Errorf("errors =\n%#v\nwant\n%#v", errs, want)
	}
	if len(got) != 2 {
		t.Fatalf("got %d contacts before the first bad element, want 2", len(got))
	}
	a := got[0]
	if a.UniqID != "c1" || a.Name != "Анна" || !reflect.DeepEqual(a.IDs.ClientIDs, []uint64{1700000000123456789, 42}) ||
		!reflect.DeepEqual(a.IDs.EmailMD5, []string{md5Mail}) || !reflect.DeepEqual(a.IDs.Phones, []string{"79995551111"}) ||
		!a.BirthDate.Equal(time.Date(1980, 5, 1, 0, 0, 0, 0, time.UTC)) || a.Line != 1 ||
		!reflect.DeepEqual(a.Attrs, map[string]string{"vip": "true", "tags": `["a", "b"]`, "score": "12.50"}) {
		t.Errorf("element 1 = %+v", a)
	}
	wantFields := crmlink.FieldName | crmlink.FieldClientIDs | crmlink.FieldEmails | crmlink.FieldPhones | crmlink.FieldBirthDate | crmlink.FieldAttrs
	if a.Fields != wantFields {
		t.Errorf("element 1 fields = %b, want %b (null fields are absent)", a.Fields, wantFields)
	}
	// "" and [] are present: they clear the field in UPDATE.
	if b := got[1]; b.UniqID != "123" || b.Fields != crmlink.FieldName|crmlink.FieldEmails || b.Line != 2 {
		t.Errorf("element 2 = %+v", b)
	}
}

func TestOrderJSON(t *testing.T) {
	in := `{"orders": [{"id": 1, "client_uniq_id": "c1", "client_type": "CONTACT", "create_date_time": "2024-01-10 11:56:00",
		"order_status": "paid", "revenue": 1234.5, "cost": "1000,25", "products": {"Диван": 1, "Подушка": "2"},
		"goals": ["pay_cash:200", {"goal": "gift", "price": "150.5"}, {"id": "branch_1"}], "currency": "RUB",
		"update_date_time": null, "client_ids": ["42"]}]}`
	got, err := orders(t, crm.NewOrderJSON, in, opts())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("got %d orders", len(got))
	}
	a := got[0]
	if a.ID != "1" || a.StatusType != crmlink.StatusPaid || a.Revenue.String() != "1234.5" || a.Cost.Decimal.String() != "1000.25" ||
		!productsEqual(a.Products, []crmlink.Product{{Name: "Диван", Qty: dec("1")}, {Name: "Подушка", Qty: dec("2")}}) ||
		!goalsEqual(a.Goals, []crmlink.OrderGoal{{Goal: "pay_cash", Price: decimal.NewNullDecimal(dec("200"))},
			{Goal: "gift", Price: decimal.NewNullDecimal(dec("150.5"))}, {Goal: "branch_1"}}) ||
		a.Fields.Has(crmlink.FieldUpdated) || !reflect.DeepEqual(a.IDs.ClientIDs, []uint64{42}) || a.Line != 1 {
		t.Errorf("order = %+v", a)
	}

	// A bare array is accepted too.
	if got, err := orders(t, crm.NewOrderJSON, `[{"id":"1","client_uniq_id":"c","create_date_time":"2024-01-10","order_status":"PAID"}]`, opts()); err != nil || len(got) != 1 {
		t.Errorf("bare array: %v, %v", got, err)
	}
}

func TestJSONErrors(t *testing.T) {
	const good = `{"id":"1","client_uniq_id":"c","create_date_time":"2024-01-10","order_status":"PAID"}`
	for _, tc := range []struct {
		name   string
		in     string
		max    int
		kind   crmlink.ErrorKind
		reason string // of the first row error, for validation errors
		rows   int
	}{
		{"empty", ``, 0, crmlink.KindInvalid, "", 0},
		{"no orders key", `{"contacts": []}`, 0, crmlink.KindInvalid, "", 0},
		{"not an object", `"orders"`, 0, crmlink.KindInvalid, "", 0},
		{"orders not an array", `{"orders": {}}`, 0, crmlink.KindInvalid, "", 0},
		{"garbage", `{"orders": [` + good + `,`, 0, crmlink.KindInvalid, "malformed JSON in element 2", 1},
		{"bad token", `{"orders": [` + good + `, {"id": tru}]}`, 0, crmlink.KindInvalid, "malformed JSON in element 2, which starts after byte offset 97: invalid character '}' in literal true (expecting 'e')", 1},
		{"unclosed", `{"orders": [` + good, 0, crmlink.KindInvalid, "malformed JSON at byte offset 97: the JSON ends too early", 1},
		{"trailing", `{"orders": [` + good + `]} x`, 0, crmlink.KindInvalid, "malformed JSON at byte offset 100: invalid character 'x' looking for beginning of value", 1},
		{"second value", `{"orders": [` + good + `]} {}`, 0, crmlink.KindInvalid, "malformed JSON at byte offset 101: unexpected data after the end of the JSON value", 1},
		{"before the array", `{"x": tru, "orders": []}`, 0, crmlink.KindInvalid, "malformed JSON at byte offset 6: invalid character ',' in literal true (expecting 'e')", 0},
		{"max rows", `{"orders": [` + good + `,` + good + `,` + good + `]}`, 2, crmlink.KindTooLarge, "", 2},
		{"max rows exactly", `{"orders": [` + good + `,` + good + `]}`, 2, 0, "", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := opts()
			o.MaxRows = tc.max
			got, err := orders(t, crm.NewOrderJSON, tc.in, o)
			if tc.kind == 0 {
				if err != nil || len(got) != tc.rows {
					t.Fatalf("got %d orders, %v", len(got), err)
				}
				return
			}
			if err == nil || crmlink.KindOf(err) != tc.kind {
				t.Fatalf("error = %v (%v), want kind %v", err, crmlink.KindOf(err), tc.kind)
			}
			if tc.reason != "" {
				errs := rowErrors(t, err)
				if len(errs) != 1 || errs[0].Line < 1 || !strings.HasPrefix(errs[0].Reason, tc.reason) {
					t.Errorf("errors = %+v, want one starting %q", errs, tc.reason)
				}
			}
			if len(got) != tc.rows {
				t.Errorf("got %d orders before the error, want %d", len(got), tc.rows)
			}
		})
	}
}

// rowStream is an endless simple orders file made on the fly, so that the
// test holds no file in memory.
type rowStream struct {
	n, max int
	buf    []byte
}

func (s *rowStream) Read(p []byte) (int, error) {
	for len(s.buf) < len(p) && s.n <= s.max {
		if s.n == 0 {
			s.buf = append(s.buf, "id,create_date_time,revenue,emails,phones,goals,note\n"...)
		} else {
			s.buf = fmt.Appendf(s.buf, "S%d,10.01.2024 11:%02d,%d.50,user%d@example.com,+7 999 %07d,\"pay_cash:200,branch_%d\",n%d\n",
				s.n, s.n%60, s.n%10000, s.n, s.n, s.n%7, s.n)
		}
		s.n++
	}
	if len(s.buf) == 0 {
		return 0, io.EOF
	}
	k := copy(p, s.buf)
	s.buf = s.buf[:copy(s.buf, s.buf[k:])]
	return k, nil
}

func TestMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 300k rows")
	}
	const rows = 300_000
	r, err := crm.NewSimpleOrderCSV(&rowStream{max: rows}, opts())
	if err != nil {
		t.Fatal(err)
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	var o crmlink.Order
	var early uint64
	for n := 1; ; n++ {
		err := r.Next(&o)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if n == 10_000 {
			early = heap()
		}
	}
	if r.Rows() != rows {
		t.Fatalf("read %d rows, want %d", r.Rows(), rows)
	}
	late := heap()
	t.Logf("heap after 10k rows %d, after %d rows %d", early, rows, late)
	if late > early+4<<20 {
		t.Errorf("heap grew from %d to %d bytes over %d rows: memory must not grow with the file", early, late, rows)
	}
}

func utf16LE(s string) []byte {
	b := []byte{0xff, 0xfe}
	for _, r := range s {
		b = append(b, byte(r), byte(r>>8))
	}
	return b
}

// TestNoSilentAcceptance: files that were once read as something else (no
// rows, a missing column) are read right or refused naming the problem.
func TestNoSilentAcceptance(t *testing.T) {
	for _, tc := range []struct {
		name string
		json bool
		in   string
		rows []string // the uniq_ids read, when the file is good
		kind crmlink.ErrorKind
		msg  string           // the message starts so (a *crmlink.Error), or contains it (a validation error)
		at   crmlink.RowError // the first row error's line and column
	}{
		{name: "CR line ends", in: "uniq_id,name,birth_date\rC1,Anna,\rC2,\"Bo\rris\",\rC3,Vera,1990-01-01\r",
			rows: []string{"C1", "C2", "C3"}},
		{name: "CR line ends: a row error names its line", in: "uniq_id,name,birth_date\rC1,Anna,\rC2,\"Bo\rris\",\rC3,Vera,soon\r",
			kind: crmlink.KindInvalid, msg: "not a date", at: crmlink.RowError{Line: 5, Column: "birth_date"}},
		{name: "CR line ends with a BOM and no last line end", in: "\xef\xbb\xbfuniq_id\rC1\rC2", rows: []string{"C1", "C2"}},
		{name: "CRLF line ends keep a lone CR in a cell", in: "uniq_id,name\r\nC1,\"a\rb\"\r\n", rows: []string{"C1"}},
		{name: "UTF-16 with a BOM", in: string(utf16LE("uniq_id,name\r\nC1,Анна\r\n")),
			kind: crmlink.KindInvalid, msg: "the file is UTF-16: save it as UTF-8", at: crmlink.RowError{Line: 1}},
		{name: "UTF-16 without a BOM", in: string(utf16LE("uniq_id,name\r\nC1,Anna\r\n")[2:]),
			kind: crmlink.KindInvalid, msg: "the file is UTF-16: save it as UTF-8", at: crmlink.RowError{Line: 1}},
		{name: "a header and no rows", in: "uniq_id,name\n", kind: crmlink.KindInvalid, msg: "the file has no rows"},
		{name: "a header and blank lines", in: "uniq_id,name\r\n\r\n\r\n", kind: crmlink.KindInvalid, msg: "the file has no rows"},
		{name: "a NUL in a cell", in: "uniq_id,name\nC1,An\x00na\nC2,Boris\n",
			kind: crmlink.KindInvalid, msg: "contains a NUL byte", at: crmlink.RowError{Line: 2, Column: "name"}},
		{name: "a NUL in an attribute", in: "uniq_id,note\nC1,x\nC2,\"a\x00\"\n",
			kind: crmlink.KindInvalid, msg: "contains a NUL byte", at: crmlink.RowError{Line: 3, Column: "note"}},
		{name: "a NUL in the header", in: "uniq_id,na\x00me\nC1,x\n",
			kind: crmlink.KindInvalid, msg: "column 2 of the header: contains a NUL byte", at: crmlink.RowError{Line: 1}},
		{name: "a header not in UTF-8", in: "uniq_id,\xcd\xe0\xe7\xe2\xe0\xed\xe8\xe5\nC1,x\n",
			kind: crmlink.KindInvalid, msg: "column 2 of the header: not valid UTF-8", at: crmlink.RowError{Line: 1}},

		{name: "JSON: a bare array", json: true, in: `[{"uniq_id":"C1"},{"uniq_id":"C2"}]`, rows: []string{"C1", "C2"}},
		{name: "JSON: a UTF-8 BOM", json: true, in: "\xef\xbb\xbf{\"contacts\":[{\"uniq_id\":\"C1\"}]}", rows: []string{"C1"}},
		{name: "JSON: an empty bare array", json: true, in: " [ ] ", kind: crmlink.KindInvalid,
			msg: `the file has no rows: the JSON is an empty array; want {"contacts":[...]}`},
		{name: "JSON: an empty array", json: true, in: `{"contacts":[]}`, kind: crmlink.KindInvalid,
			msg: `the file has no rows: the "contacts" array is empty`},
		{name: "JSON: the key twice", json: true, in: `{"contacts":[{"uniq_id":"C1"}],"x":1,"contacts":[{"uniq_id":"C2"}]}`,
			kind: crmlink.KindInvalid, msg: `the JSON object has "contacts" twice: send one array`},
		{name: "JSON: not UTF-8", json: true, in: "{\"contacts\":[{\"uniq_id\":\"C1\",\"name\":\"\xcd\xe0\xe4\xff\"}]}",
			kind: crmlink.KindInvalid, msg: "the JSON is not valid UTF-8 at byte offset 37: save the file in UTF-8"},
		{name: "JSON: a NUL in a string", json: true, in: `{"contacts":[{"uniq_id":"C1"},{"uniq_id":"C2","name":"a\u0000b"}]}`,
			kind: crmlink.KindInvalid, msg: "contains a NUL byte", at: crmlink.RowError{Line: 2, Column: "name"}},
		{name: "JSON: a NUL in a list", json: true, in: `{"contacts":[{"uniq_id":"C1","emails":["a@b.ru","c\u0000@d.ru"]}]}`,
			kind: crmlink.KindInvalid, msg: "contains a NUL byte", at: crmlink.RowError{Line: 1, Column: "emails"}},
		{name: "JSON: a NUL in an attribute", json: true, in: `{"contacts":[{"uniq_id":"C1","tags":{"k":"\u0000"}}]}`,
			kind: crmlink.KindInvalid, msg: "contains a NUL byte", at: crmlink.RowError{Line: 1, Column: "tags"}},
		{name: "JSON: an escaped backslash before u0000 is no NUL", json: true, in: `{"contacts":[{"uniq_id":"C1","tags":["\\u0000"]}]}`,
			rows: []string{"C1"}},
		{name: "JSON: a raw NUL", json: true, in: "{\"contacts\":[{\"uniq_id\":\"C\x001\"}]}",
			kind: crmlink.KindInvalid, msg: "malformed JSON in element 1", at: crmlink.RowError{Line: 1}},
		{name: "JSON: UTF-16", json: true, in: string(utf16LE(`{"contacts":[]}`)), kind: crmlink.KindInvalid, msg: "the JSON is UTF-16: save the file as UTF-8"},
		{name: "JSON: UTF-16 without a BOM", json: true, in: string(utf16LE(`[{"uniq_id":"C1"}]`)[2:]), kind: crmlink.KindInvalid, msg: "the JSON is UTF-16"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			open := contactsCSV
			if tc.json {
				open = contactsJSON
			}
			got, err := open(t, tc.in, opts())
			if tc.kind == 0 {
				var ids []string
				for _, c := range got {
					ids = append(ids, c.UniqID)
				}
				if err != nil || !reflect.DeepEqual(ids, tc.rows) {
					t.Fatalf("read %q, %v; want %q", ids, err, tc.rows)
				}
				return
			}
			if crmlink.KindOf(err) != tc.kind {
				t.Fatalf("error %v (%v), want kind %v", err, crmlink.KindOf(err), tc.kind)
			}
			var v *crmlink.ValidationError
			if errors.As(err, &v) {
				e := v.Errors[0]
				if !strings.Contains(e.Reason, tc.msg) || e.Line != tc.at.Line || e.Column != tc.at.Column {
					t.Errorf("first error %+v, want line %d, column %q, %q", e, tc.at.Line, tc.at.Column, tc.msg)
				}
				return
			}
			if tc.at.Line != 0 || !strings.HasPrefix(crmlink.MessageOf(err), tc.msg) {
				t.Errorf("error %q, want %q (a row error at %+v)", err, tc.msg, tc.at)
			}
		})
	}
}

// TestOfflineFiles: offline conversion files are read as the other CSV
// uploads are: CR line ends, UTF-16, NUL bytes, no rows, and the good rows
// after a bad one yielded with Failing set.
func TestOfflineFiles(t *testing.T) {
	read := func(in string) ([]string, *crm.OfflineReader, error) {
		r, err := crm.NewOfflineCSV(strings.NewReader(in), opts())
		if err != nil {
			return nil, nil, err
		}
		var ids []string
		for {
			var c crmlink.OfflineConversion
			if err := r.Next(&c); err != nil {
				if err == io.EOF {
					err = nil
				}
				return ids, r, err
			}
			if r.Failing() {
				ids = append(ids, "failing:"+c.ID)
			} else {
				ids = append(ids, c.ID)
			}
		}
	}
	ids, _, err := read("ClientId,Target,DateTime\r11,call,1706700000\r12,call,1706700000\r")
	if err != nil || !reflect.DeepEqual(ids, []string{"11", "12"}) {
		t.Errorf("CR line ends: %v, %v", ids, err)
	}
	ids, r, err := read("ClientId,Target,DateTime\n11,call,1706700000\n12,ca\x00ll,1706700000\n13,call,1706700000\n")
	if errs := rowErrors(t, err); len(errs) != 1 || errs[0].Line != 3 || errs[0].Column != "Target" ||
		!strings.Contains(errs[0].Reason, "NUL") || !reflect.DeepEqual(ids, []string{"11", "failing:13"}) || r.Rows() != 3 {
		t.Errorf("a NUL: %v, %v", ids, err)
	}
	if _, _, err := read("ClientId,Target,DateTime\n\n"); crmlink.KindOf(err) != crmlink.KindInvalid || !strings.HasPrefix(err.Error(), "the file has no rows") {
		t.Errorf("no rows: %v", err)
	}
	if _, _, err := read(string(utf16LE("ClientId,Target,DateTime\n"))); err == nil || !strings.Contains(err.Error(), "UTF-16") {
		t.Errorf("UTF-16: %v", err)
	}
}
