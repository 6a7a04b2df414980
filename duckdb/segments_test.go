package duckdb_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/duckdb"
	"github.com/crmlink/crmlink/report"
	"github.com/crmlink/crmlink/store/storetest"
)

// TestSegmentAudiencePages: an audience read a few members at a time
// gives every member once, in order, with their identifiers.
func TestSegmentAudiencePages(t *testing.T) {
	ctx := context.Background()
	st := openTemp(t, &crmlink.FixedClock{T: storetest.Epoch})
	c := storetest.MustCounter(t, st, "Shop", "UTC")
	var cs []crmlink.Contact
	for i := range 10 {
		cs = append(cs, crmlink.Contact{UniqID: fmt.Sprintf("c%02d", i), Fields: crmlink.FieldClientIDs | crmlink.FieldEmails,
			IDs: crmlink.CustomerIDs{ClientIDs: []uint64{uint64(100 + i)}, EmailSHA256: []string{fmt.Sprintf("%064d", i)}}})
	}
	if err := st.UploadContacts(ctx, &crmlink.Upload{CounterID: c.ID, MergeMode: crmlink.MergeSave}, &storetest.ContactSlice{Contacts: cs}); err != nil {
		t.Fatal(err)
	}
	p, err := report.ParseSegment("cdp:c:orders==0", report.SegmentRequest{Counter: c, Now: storetest.Epoch})
	if err != nil {
		t.Fatal(err)
	}
	for _, page := range []int{3, 5, 10, 50_000} {
		duckdb.SetAudiencePage(engine(st), page)
		var got []string
		err := st.SegmentAudience(ctx, p, func(m *crmlink.AudienceMember) error {
			got = append(got, fmt.Sprintf("%s%v %s", m.UniqID, m.ClientIDs, m.EmailSHA256[0][60:]))
			return nil
		})
		var want []string
		for i := range 10 {
			want = append(want, fmt.Sprintf("c%02d[%d] %04d", i, 100+i, i))
		}
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("pages of %d: %q, %v; want %q", page, got, err, want)
		}
	}
}
