package secrets

import (
	"bytes"
	"encoding/base64"
	"errors"
	"testing"
)

// FuzzBoxOpen checks the sealing of secrets at rest: what Seal produced opens to the plaintext with the same
// additional data; changing any one bit of the sealed value, or the additional data, makes Open fail with
// ErrOpen; and arbitrary bytes never open (nor panic).
func FuzzBoxOpen(f *testing.F) {
	box, err := NewBox(bytes.Repeat([]byte{7}, KeySize))
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), []byte("accesskey/AKIAIOSFODNN7EXAMPLE"), uint16(0), []byte(nil))
	f.Add([]byte{}, []byte{}, uint16(300), []byte("short"))
	f.Add([]byte("x"), []byte("ad"), uint16(9), make([]byte, 40))
	f.Fuzz(func(t *testing.T, plain, ad []byte, flip uint16, raw []byte) {
		if pt, err := box.Open(raw, ad); err == nil {
			t.Fatalf("arbitrary bytes %x opened to %q", raw, pt)
		} else if !errors.Is(err, ErrOpen) {
			t.Fatalf("Open error %v is not ErrOpen", err)
		}
		sealed := box.Seal(plain, ad)
		pt, err := box.Open(sealed, ad)
		if err != nil || !bytes.Equal(pt, plain) {
			t.Fatalf("Open(Seal(%q)) = %q, %v", plain, pt, err)
		}
		bit := int(flip) % (8 * len(sealed))
		sealed[bit/8] ^= 1 << (bit % 8)
		if pt, err := box.Open(sealed, ad); !errors.Is(err, ErrOpen) {
			t.Fatalf("sealed value with bit %d flipped opened: %q, %v", bit, pt, err)
		}
		sealed[bit/8] ^= 1 << (bit % 8)
		if pt, err := box.Open(sealed, append(append([]byte{}, ad...), 0)); !errors.Is(err, ErrOpen) {
			t.Fatalf("sealed value opened under other additional data: %q, %v", pt, err)
		}
	})
}

// FuzzDecodeKey checks the master key parser: it accepts exactly the standard base64 encodings of 32 bytes,
// returns those bytes, and its error never repeats the value (which may be most of a key).
func FuzzDecodeKey(f *testing.F) {
	f.Add(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, KeySize)))
	f.Add(base64.RawStdEncoding.EncodeToString(bytes.Repeat([]byte{1}, KeySize)))
	f.Add(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, KeySize+1)))
	f.Add("not base64!")
	f.Fuzz(func(t *testing.T, s string) {
		key, err := decodeKey(s, "test")
		want, werr := base64.StdEncoding.DecodeString(s)
		ok := werr == nil && len(want) == KeySize
		if (err == nil) != ok || (ok && !bytes.Equal(key, want)) {
			t.Fatalf("decodeKey(%q) = %x, %v; want ok=%v", s, key, err, ok)
		}
		if err != nil && len(s) >= 8 && bytes.Contains([]byte(err.Error()), []byte(s)) {
			t.Fatalf("decodeKey error %q repeats the value", err)
		}
	})
}
