package normalize

import (
	"fmt"
	"testing"
)

// BenchmarkParsePhone parses distinct phone numbers in the four notations
// of the members mapping benchmark (engine/mapping): what libphonenumber
// costs per number seen for the first time.
//
//   - ParsePhone: this package's parser.
//   - plain: the same libphonenumber calls as typed input would get them
//     (referenceParsePhone: Parse, IsValidNumber, Format, no compacting).
func BenchmarkParsePhone(b *testing.B) {
	notations := []string{"0812-%04d-%04d", "+62 813 %04d %04d", "62857%04d%04d", "811-%04d-%04d"}
	phones := make([]string, 10000)
	for i := range phones {
		phones[i] = fmt.Sprintf(notations[i%len(notations)], 1000+i/10000%9000, i%10000)
	}
	for _, c := range []struct {
		name  string
		parse func(s, region string) (Phone, error)
	}{{"ParsePhone", ParsePhone}, {"plain", referenceParsePhone}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := c.parse(phones[i%len(phones)], "ID"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
