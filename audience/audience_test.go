package audience_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/audience"
)

// sha is the hex SHA-256 of s, computed here apart from package crm.
func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// The documented examples: Metrica's and Yandex Audience's email and
// phone (mail@yandex.ru, 79995551111), the phone in E.164 for Google
// (+79995551111), and a second customer.
var (
	anna = crmlink.AudienceMember{UniqID: "C1", ClientIDs: []uint64{111, 222},
		EmailSHA256: []string{sha("mail@yandex.ru"), sha("anna@example.com")}, EmailMD5: []string{"3c56ff8fef0f6c65b36b2d25720fe276"},
		PhoneSHA256: []string{sha("79995551111")}, PhoneE164SHA256: []string{sha("+79995551111")},
		Emails: []string{"mail@yandex.ru", "anna@example.com"}, Phones: []string{"79995551111"}}
	// Boris's phone came hashed, without its E.164 form.
	boris = crmlink.AudienceMember{UniqID: "crm id/2", ClientIDs: []uint64{333}, PhoneSHA256: []string{sha("79012345678")}}
	// Vera's email came only as MD5.
	vera = crmlink.AudienceMember{UniqID: "C3", EmailMD5: []string{"6b56db1f84a3997b902509d3fbf0a306"}}
	// Gleb has nothing.
	gleb    = crmlink.AudienceMember{UniqID: "C4", ClientIDs: []uint64{444}}
	visitor = crmlink.AudienceMember{ClientIDs: []uint64{555}}
	all     = []crmlink.AudienceMember{anna, boris, vera, gleb, visitor}
)

func write(t *testing.T, format string, plain bool) (string, *audience.Writer) {
	t.Helper()
	f := audience.Lookup(format)
	if f == nil {
		t.Fatalf("no format %s", format)
	}
	var b bytes.Buffer
	w := audience.NewWriter(&b, f, plain)
	for i := range all {
		m := all[i]
		if err := w.Write(&m); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String(), w
}

// TestFormats: each platform's file, byte for byte, with the hashes of
// the documented normal forms, and whom each leaves out and why.
func TestFormats(t *testing.T) {
	borisExt := sha("crm id/2") // not letters and digits: hashed
	for _, c := range []struct {
		format  string
		plain   bool
		want    string
		members int
		left    map[string]int
	}{
		{"yandex_crm", false, "email,phone,ext_id\n" +
			sha("mail@yandex.ru") + "," + sha("79995551111") + ",C1\n" +
			sha("anna@example.com") + ",,C1\n" +
			"," + sha("79012345678") + "," + borisExt + "\n",
			2, map[string]int{"md5_only": 1, "no_email_phone": 1, "visitor": 1}},
		{"yandex_crm", true, "email,phone,ext_id\nmail@yandex.ru,79995551111,C1\nanna@example.com,,C1\n",
			1, map[string]int{"hash_only": 1, "md5_only": 1, "no_email_phone": 1, "visitor": 1}},
		{"google", false, "Email,Phone\n" +
			sha("mail@yandex.ru") + "," + sha("+79995551111") + "\n" +
			sha("anna@example.com") + ",\n",
			1, map[string]int{"phone_not_e164": 1, "md5_only": 1, "no_email_phone": 1, "visitor": 1}},
		{"google", true, "Email,Phone\nmail@yandex.ru,+79995551111\nanna@example.com,\n",
			1, map[string]int{"hash_only": 1, "md5_only": 1, "no_email_phone": 1, "visitor": 1}},
		{"meta", false, "email,phone\n" +
			sha("mail@yandex.ru") + "," + sha("79995551111") + "\n" +
			sha("anna@example.com") + ",\n" +
			"," + sha("79012345678") + "\n",
			2, map[string]int{"md5_only": 1, "no_email_phone": 1, "visitor": 1}},
		// Meta takes hashes only: plain is not for it.
		{"meta", true, "email,phone\n" +
			sha("mail@yandex.ru") + "," + sha("79995551111") + "\n" +
			sha("anna@example.com") + ",\n" +
			"," + sha("79012345678") + "\n",
			2, map[string]int{"md5_only": 1, "no_email_phone": 1, "visitor": 1}},
		{"yandex_clientid", false, "111\n222\n333\n444\n555\n", 4, map[string]int{"no_client_id": 1}},
		{"vk_email", false, sha("mail@yandex.ru") + "\n" + sha("anna@example.com") + "\n",
			1, map[string]int{"no_email": 1, "md5_only": 1, "no_email_phone": 1, "visitor": 1}},
		{"vk_phone", false, sha("79995551111") + "\n" + sha("79012345678") + "\n",
			2, map[string]int{"md5_only": 1, "no_email_phone": 1, "visitor": 1}},
		{"vk_phone", true, "79995551111\n", 1, map[string]int{"hash_only": 1, "md5_only": 1, "no_email_phone": 1, "visitor": 1}},
	} {
		got, w := write(t, c.format, c.plain)
		if got != c.want {
			t.Errorf("%s (plain %v):\n got %q\nwant %q", c.format, c.plain, got, c.want)
		}
		if w.Rows != strings.Count(c.want, "\n")-boolInt(strings.Contains(c.want, ",")) || w.Members != c.members || !equal(w.LeftOut, c.left) {
			t.Errorf("%s (plain %v): %d rows, %d members, left out %v; want %d members, left out %v", c.format, c.plain, w.Rows, w.Members, w.LeftOut, c.members, c.left)
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func equal(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestCounts: the rows and members each format takes, from a segment's
// size, are what the writers write.
func TestCounts(t *testing.T) {
	size := crmlink.SegmentSize{Customers: 4, Visitors: 1, ClientIDs: 5, Emails: 2, Phones: 2,
		Identified: crmlink.IdentifiedCounts{WithEmail: 1, WithPhone: 2, WithPhoneE164: 1, EmailOrPhone: 2, EmailOrE164: 1, MD5Only: 1,
			RowsEmailPhone: 3, RowsEmailE164: 2, EmailValues: 2, PhoneValues: 2, ClientIDValues: 5, WithClientID: 4}}
	for _, c := range audience.Counts(size) {
		_, w := write(t, c.Format, false)
		left := 0
		for _, n := range w.LeftOut {
			left += n
		}
		if c.Rows != int64(w.Rows) || c.Members != int64(w.Members) || c.LeftOut != int64(left) {
			t.Errorf("%s: counted %+v; the writer wrote %d rows of %d members, left out %d", c.Format, c, w.Rows, w.Members, left)
		}
	}
}

func TestExternalID(t *testing.T) {
	for in, want := range map[string]string{"C1": "C1", "abc123XYZ": "abc123XYZ", "a b": sha("a b"), "id-5": sha("id-5"),
		strings.Repeat("a", 65): sha(strings.Repeat("a", 65)), "Иван": sha("Иван")} {
		if got := audience.ExternalID(in); got != want {
			t.Errorf("ExternalID(%q) = %q, want %q", in, got, want)
		}
	}
}
