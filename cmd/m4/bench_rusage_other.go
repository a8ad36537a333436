//go:build !unix

package main

// cpuSeconds is not measured on this platform (0).
func cpuSeconds() float64 { return 0 }

// maxRSSMiB is not measured on this platform (0).
func maxRSSMiB() float64 { return 0 }
