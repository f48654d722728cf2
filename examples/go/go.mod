module libquota.dev/examples

go 1.19

require libquota.dev/quota v0.0.0

// The bindings of this checkout; a program of your own points at its
// checkout of libquota the same way (see doc/bindings-go.md).
replace libquota.dev/quota => ../../bindings/go
