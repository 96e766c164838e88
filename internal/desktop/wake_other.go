//go:build !linux

package desktop

import (
	"context"
	"errors"
	"log/slog"
)

// watchLogind: there is no logind here; the wall clock is watched instead.
func watchLogind(context.Context, *slog.Logger, func()) error {
	return errors.New("no logind on this system")
}
