//go:build !unix

package model

import "os"

// mapFile reads path whole where memory mapping is not wired up.
func mapFile(path string) (data []byte, unmap func(), err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	return b, func() {}, nil
}
