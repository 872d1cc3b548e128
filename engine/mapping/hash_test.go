package mapping

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"
)

// hashReference is Hash as first written: the JSON encoding of the
// canonical copy. Hash must give the same result without building the
// copy, so that links stored before keep their hashes.
func hashReference(m map[string]any) string {
	b, err := json.Marshal(Canonical(m))
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// randomValue returns a JSON-like value of the kinds connectors and
// mappings produce, nested up to depth.
func randomValue(r *rand.Rand, depth int) any {
	switch r.IntN(16) {
	case 0:
		return nil
	case 1:
		return r.IntN(2) == 0
	case 2:
		return float64(r.IntN(2000) - 1000)
	case 3:
		return r.Float64() * 1e6
	case 4:
		return r.IntN(100)
	case 5:
		return int64(r.IntN(1 << 40))
	case 6:
		return json.Number("12.50")
	case 7:
		return time.Date(2025, 1, 2, 3, 4, 5, r.IntN(1e9), time.FixedZone("WIB", 7*3600))
	case 8:
		return "2025-03-04T05:06:07+07:00"
	case 9:
		return []string{"SDG-01", "a<b"}
	case 10:
		return int32(7)
	case 11:
		if depth == 0 {
			return "leaf"
		}
		l := make([]any, r.IntN(4))
		for i := range l {
			l[i] = randomValue(r, depth-1)
		}
		return l
	case 12, 13:
		if depth == 0 {
			return map[string]any{}
		}
		m := map[string]any{}
		for range r.IntN(5) {
			m[randomKey(r)] = randomValue(r, depth-1)
		}
		return m
	default:
		return []string{"Budi Santoso", "Jl. \"Merdeka\" 1", "Ibu Siti & Co", "héllo", "", "tab\t"}[r.IntN(6)]
	}
}

func randomKey(r *rand.Rand) string {
	return []string{"name", "firstName", "emails", "primaryEmail", "city", "<x>", "Ümlaut", "a", "b", "z9"}[r.IntN(10)]
}

func TestHashMatchesCanonicalJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		m := map[string]any{}
		for range r.IntN(8) {
			m[randomKey(r)] = randomValue(r, 3)
		}
		if got, want := Hash(m), hashReference(m); got != want {
			b, _ := json.Marshal(Canonical(m))
			t.Fatalf("case %d: Hash(%#v) = %s, want %s (canonical JSON %s)", i, m, got, want, b)
		}
	}
	if Hash(nil) != hashReference(nil) || Hash(map[string]any{"a": nil}) != hashReference(nil) {
		t.Error("an empty map must hash as the canonical null")
	}
}

func BenchmarkHash(b *testing.B) {
	m := map[string]any{"name.firstName": "Budi", "name.lastName": "Santoso", "emails.primaryEmail": "budi@kelompok.id",
		"phones.primaryPhoneNumber": "81234567890", "city": "Kota Bandung", "jobTitle": "Ketua", "companyId": "3f2a9c0e-1b7d-4a8e-9c11-aa4f02e0c1d2",
		"address.addressStreet1": "Jl. Merdeka 1", "address.addressPostcode": "40111", "note": nil}
	b.ReportAllocs()
	for b.Loop() {
		Hash(m)
	}
}
