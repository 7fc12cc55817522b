//go:build race

package analytics

// impRaceEnabled says the race detector is on; the slowest cross-checks skip then.
const impRaceEnabled = true
