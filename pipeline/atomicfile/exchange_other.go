//go:build !linux

package atomicfile

// exchange is not available here: Commit moves the old set aside instead.
func exchange(a, b string) error { return errNoExchange }
