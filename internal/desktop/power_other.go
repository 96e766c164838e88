//go:build !linux && !windows && !(darwin && cgo)

package desktop

// newPowerProbe: no source of battery or idle state here (the BSDs, or a
// darwin build without cgo, which is no tray app either): never slow.
func newPowerProbe(PowerOptions) powerProbe { return nil }
