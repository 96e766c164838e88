//go:build !windows

package config

// Preset returns the endpoint defaults preset by an installer. Only the
// Windows installer presets any (in the registry); elsewhere it is empty.
func Preset() Endpoints { return Endpoints{} }
