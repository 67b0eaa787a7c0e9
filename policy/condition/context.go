package condition

// MapContext is a Context backed by a map, with case-insensitive keys. Build
// it once per request with NewMapContext; lookups do not allocate for keys up
// to 128 bytes. It is safe for concurrent reads. The zero MapContext is an
// empty context.
//
// MapContext is pointer-shaped on purpose: converting it to the Context
// interface, which happens on every Evaluate, then does not allocate.
type MapContext struct {
	c *mapContext
}

type mapContext struct {
	m map[string][]string
	// keys and vals repeat m's entries for small contexts: comparing a
	// handful of strings (most differ in length) is cheaper than hashing
	// the key, and the hot path asks for the same few keys per statement.
	keys []string
	vals [][]string
}

// smallContext is the largest context searched linearly.
const smallContext = 16

// NewMapContext returns a MapContext holding m's entries under ASCII
// lower-cased keys. Keys that differ only in case are merged. m is not
// retained; the value slices are.
func NewMapContext(m map[string][]string) MapContext {
	c := &mapContext{m: make(map[string][]string, len(m))}
	for k, v := range m {
		lk := lowerASCII(k)
		if prev, ok := c.m[lk]; ok {
			v = append(append([]string(nil), prev...), v...)
		}
		c.m[lk] = v
	}
	if len(c.m) <= smallContext {
		for k, v := range c.m {
			c.keys = append(c.keys, k)
			c.vals = append(c.vals, v)
		}
	}
	return MapContext{c: c}
}

// Values returns the values stored under key, ignoring ASCII case.
func (mc MapContext) Values(key string) ([]string, bool) {
	c := mc.c
	if c == nil {
		return nil, false
	}
	if v, ok := c.lookup(key); ok {
		return v, true
	}
	// Condition always asks with a lower-case key, so the key was first
	// tried as given; only a key with upper case needs a second look.
	upper := false
	for i := 0; i < len(key); i++ {
		if 'A' <= key[i] && key[i] <= 'Z' {
			upper = true
			break
		}
	}
	if !upper {
		return nil, false
	}
	if len(key) <= 128 {
		var buf [128]byte
		n := copy(buf[:], key)
		for i := 0; i < n; i++ {
			if 'A' <= buf[i] && buf[i] <= 'Z' {
				buf[i] += 'a' - 'A'
			}
		}
		// The compiler does not allocate for a map index by string(bytes).
		v, ok := c.m[string(buf[:n])]
		return v, ok
	}
	return c.lookup(lowerASCII(key))
}

func (c *mapContext) lookup(key string) ([]string, bool) {
	if len(c.m) > smallContext {
		v, ok := c.m[key]
		return v, ok
	}
	for i, k := range c.keys {
		if k == key {
			return c.vals[i], true
		}
	}
	return nil, false
}

// Len returns the number of distinct keys.
func (mc MapContext) Len() int {
	if mc.c == nil {
		return 0
	}
	return len(mc.c.m)
}
